#include <optional>

#include <fmt/format.h>

#include "cli/command.h"
#include "common/error.h"
#include "eval/metrics.h"
#include "eval/submission.h"

namespace emotune::cli {
namespace {

struct ScoreOptions {
  std::string gold;
  std::string emp;
  std::string emo;
  bool json = false;
};

void check_rows(const std::string& predictions, std::size_t predicted_rows, const std::string& gold,
                std::size_t gold_rows) {
  if (predicted_rows != gold_rows) {
    throw Error(
        fmt::format("{}: {} rows, but the gold standard {} has {} (same rows, same order "
                    "expected)",
                    predictions, predicted_rows, gold, gold_rows));
  }
}

void run_score(const ScoreOptions& options) {
  if (options.emp.empty() && options.emo.empty()) {
    throw Error("score: give --emp and/or --emo predictions to score");
  }
  const auto gold = eval::read_gold_standard(options.gold);
  std::optional<eval::Track1Scores> track1;
  std::optional<eval::ClassificationScores> track2;
  if (!options.emp.empty()) {
    const auto predicted = eval::read_emp_predictions(options.emp);
    check_rows(options.emp, predicted.size(), options.gold, gold.size());
    track1 =
        eval::track1_scores(gold.empathy, gold.distress, predicted.empathy, predicted.distress);
  }
  if (!options.emo.empty()) {
    const auto predicted = eval::read_emo_predictions(options.emo);
    check_rows(options.emo, predicted.size(), options.gold, gold.size());
    track2 = eval::classification_scores(gold.emotion, predicted);
  }
  const auto* t1 = track1 ? &*track1 : nullptr;
  const auto* t2 = track2 ? &*track2 : nullptr;
  fmt::print(
      "{}", options.json ? eval::format_scores_json(t1, t2) : eval::format_official_scores(t1, t2));
}

[[maybe_unused]] const bool registered = register_command(
    "score",
    "Score predictions against a gold standard exactly as the official WASSA 2021 evaluation "
    "script does (Pearson r for empathy/distress; P/R/F1 and accuracy for emotions)",
    [](CLI::App& command, const GlobalOptions&) {
      auto options = std::make_shared<ScoreOptions>();
      command
          .add_option("--gold", options->gold,
                      "Gold standard TSV without header: empathy, distress, emotion per line "
                      "(further columns, as in goldstandard_dev_2022.tsv, are ignored)")
          ->required();
      command.add_option("--emp", options->emp,
                         "predictions_EMP.tsv without header: empathy and distress per line, in "
                         "the gold standard's row order (Track I)");
      command.add_option("--emo", options->emo,
                         "predictions_EMO.tsv without header: one emotion label per line (anger, "
                         "disgust, fear, joy, neutral, sadness, surprise), in the gold "
                         "standard's row order (Track II)");
      command.add_flag("--json", options->json,
                       "Print JSON (the same scores plus per-class P/R/F1 and the confusion "
                       "matrix, rows = gold, columns = predicted) instead of the official text");
      command.footer(
          "At least one of --emp/--emo is required. The text output is the official scores.txt: "
          "the three Pearson lines when --emp is given, then the seven Track II lines when --emo "
          "is given.");
      command.callback([options] { run_score(*options); });
    });

}  // namespace
}  // namespace emotune::cli
