#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/predictor_flags.h"
#include "common/error.h"
#include "common/paths.h"
#include "data/wassa.h"
#include "io/run_files.h"
#include "predict/ensemble_predictor.h"
#include "predict/prediction_run.h"
#include "predict/run_predictor.h"

namespace emotune::cli {
namespace {

namespace fs = std::filesystem;

struct PredictOptions {
  std::vector<std::string> runs;
  std::string data;
  std::string split;
  std::string input;
  std::string out;
  std::size_t batch_size = 16;
  PredictorFlags predictor;
};

void run_predict(const PredictOptions& options, const GlobalOptions& globals) {
  if (options.runs.empty()) throw Error("predict: give at least one RUN_DIR");
  if (options.split.empty() == options.input.empty()) {
    throw Error("predict: give either --split dev|test (with --data) or --input FILE");
  }
  if (options.out.empty()) throw Error("predict: --out DIR is required");
  if (options.batch_size == 0) throw Error("predict: --batch-size must be at least 1");
  std::set<std::string> names;
  for (const auto& run : options.runs) {
    if (!names.insert(predict::member_name(run)).second && options.runs.size() > 1) {
      throw Error("predict: two runs share the folder name '" + predict::member_name(run) +
                  "'; their outputs would collide under --out");
    }
  }

  std::optional<data::WassaSplit> split;
  std::vector<predict::EssayRecord> essays;
  if (!options.split.empty()) {
    const auto parsed = data::parse_split(options.split);
    if (parsed == data::Split::train) throw Error("predict: --split must be dev or test");
    split = data::load_wassa(resolve_data_dir(options.data), parsed);
    essays = predict::wassa_essays(*split);
  } else {
    essays = predict::read_essays(options.input);
  }
  std::optional<eval::GoldStandard> gold;
  if (split && split->split == data::Split::dev) gold = predict::gold_standard(*split);

  const auto options_for_runs = predictor_options(options.predictor, globals, options.batch_size);
  for (const auto& run : options.runs) {
    const fs::path out = options.runs.size() == 1 ? fs::path(options.out)
                                                  : fs::path(options.out) / predict::member_name(run);
    // An `emotune ensemble` folder predicts new essays through its members, as in serve.
    const bool ensemble = fs::is_regular_file(fs::path(run) / "ensemble.json");
    const auto model_folder = ensemble ? fs::path(run) : io::resolve_model_folder(run);
    const auto predictor = predict::load_predictor(model_folder, options_for_runs);
    const auto predict_start = std::chrono::steady_clock::now();
    const auto predictions = predict::predict_essays(*predictor, essays);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - predict_start).count();
    spdlog::info("{}: {} essays predicted in {:.3f} s ({:.2f} essays/s)", model_folder.string(),
                 essays.size(), seconds,
                 seconds > 0 ? static_cast<double>(essays.size()) / seconds : 0.0);
    nlohmann::json metadata{{"model", fs::absolute(model_folder).lexically_normal().string()},
                            {"precision", options.predictor.precision},
                            {"kernels", options.predictor.kernels},
                            {"device", options.predictor.device}};
    metadata["source"] = split ? nlohmann::json("wassa") : nlohmann::json(options.input);
    predict::write_prediction_folder(out, predictions,
                                   split ? std::optional(split->split) : std::nullopt, metadata);
    fmt::print("{}: {} predictions -> {}\n", predict::member_name(run), predictions.size(),
               (out / "predictions.tsv").string());
    if (gold) fmt::print("{}", predict::official_scores(predictions, *gold));
  }
}

[[maybe_unused]] const bool registered = register_command(
    "predict",
    "Predict empathy/distress and emotions with trained runs, for a WASSA split (with the "
    "official submission files) or an input file",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<PredictOptions>();
      command
          .add_option("runs", options->runs,
                      "Run folders from `emotune train` (the best seed's best/ is used), a "
                      "best/ folder itself, or an `emotune ensemble` folder")
          ->required();
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ (default $EMOTUNE_DATA); with --split");
      command.add_option("--split", options->split,
                         "WASSA 2021 split to predict: dev or test. Writes predictions_EMP.tsv, "
                         "predictions_EMO.tsv and predictions.zip in the split's row order; "
                         "with dev, also prints the official scores against the dev gold");
      command.add_option("--input", options->input,
                         "Essays to predict instead of a split: .tsv or .csv with a header "
                         "holding an `essay` column (and optionally `id`), or .jsonl with one "
                         "{\"id\": ..., \"essay\": ...} object a line");
      command
          .add_option("--out", options->out,
                      "Output folder: predictions.tsv (id, empathy, distress, emotion, p_<label>) "
                      "and predictions.json; with several runs one sub-folder per run name")
          ->required();
      command.add_option("--batch-size", options->batch_size,
                         "Essays per forward pass, after sorting by length (default 16)");
      add_predictor_flags(command, options->predictor);
      command.footer(
          "Examples:\n  emotune predict runs/mt-electra --data /data --split dev --out "
          "preds/dev\n  emotune predict runs/a runs/b --input essays.jsonl --out preds/mine");
      command.callback([options, &globals] { run_predict(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
