#include <memory>
#include <string>

#include <fmt/format.h>

#include "baseline/baseline.h"
#include "baseline/linear_member.h"
#include "common/error.h"
#include "cli/command.h"
#include "common/paths.h"

namespace emotune::cli {
namespace {

struct BaselineCommandOptions {
  std::string data_dir;
  bool json = false;
  double alpha = 1.0;
  double c = 1.0;
  bool unbalanced = false;
  bool sklearn_defaults = false;
  std::string out;
  std::string tasks = "empathy,distress,emotion";
  std::string inputs = "words";
  std::size_t folds = 5;
  double person_scale = 1.0;
  std::string person_kernel = "linear";
  double rbf_gamma = 0;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end > start) items.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

// `emotune baseline --out RUN`: a linear member's run folder.
void run_linear_member(const BaselineCommandOptions& options, const baseline::BaselineOptions& base,
                       const std::filesystem::path& data_dir) {
  baseline::LinearMemberOptions member;
  member.tasks = split_list(options.tasks);
  member.words = member.characters = member.person = false;
  for (const auto& input : split_list(options.inputs)) {
    if (input == "words") {
      member.words = true;
    } else if (input == "chars") {
      member.characters = true;
    } else if (input == "person") {
      member.person = true;
    } else {
      throw Error(fmt::format("baseline: --inputs: unknown input '{}' (expected words, chars, "
                              "person, comma-separated)",
                              input));
    }
  }
  member.word_ngrams = base.tfidf;
  member.ridge_alpha = base.ridge_alpha;
  member.logistic = base.logistic;
  member.folds = options.folds;
  member.person_scale = options.person_scale;
  member.person_kernel = baseline::parse_person_kernel(options.person_kernel);
  member.rbf_gamma = options.rbf_gamma;
  const auto report = baseline::train_linear_run(data_dir, member, options.out);
  fmt::print("linear member ({} features, inputs {}, tasks {}) -> {}\n", report.features,
             options.inputs, options.tasks, options.out);
  for (const auto& [task, choice] : report.kernel_settings) {
    fmt::print("{}: RBF scale {}, gamma {}{}\n", task, choice.setting.scale, choice.setting.gamma,
               options.rbf_gamma > 0
                   ? " (given)"
                   : fmt::format(" (chosen by writer-grouped out-of-fold r on train: {:.4f})",
                                 choice.out_of_fold_r));
  }
  fmt::print("dev ({} essays):\n", report.dev.size());
  if (report.track1) {
    fmt::print("  Pearson empathy:  {:.4f}\n  Pearson distress: {:.4f}\n  Pearson average:  {:.4f}\n",
               report.track1->empathy, report.track1->distress, report.track1->average);
  }
  if (report.track2) {
    fmt::print("  emotion macro-F1: {:.4f}\n  emotion accuracy: {:.4f}\n", report.track2->macro_f1,
               report.track2->accuracy);
  }
}

void run_baseline(const BaselineCommandOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  const auto data_dir = resolve_data_dir(options.data_dir);
  baseline::BaselineOptions baseline_options;
  baseline_options.ridge_alpha = options.alpha;
  baseline_options.logistic.c = options.c;
  baseline_options.logistic.balanced = !options.unbalanced;
  if (options.sklearn_defaults) {
    // TfidfVectorizer() and LogisticRegression() as scikit-learn constructs them.
    baseline_options.tfidf.max_n = 1;
    baseline_options.tfidf.min_df = 1;
    baseline_options.tfidf.sublinear_tf = false;
    baseline_options.logistic.balanced = false;
  }
  if (!options.out.empty()) return run_linear_member(options, baseline_options, data_dir);
  const auto report = baseline::run_wassa_baseline(data_dir, baseline_options);
  fmt::print("{}", options.json ? baseline::format_baseline_json(report, baseline_options)
                                : baseline::format_baseline_text(report, baseline_options));
}

[[maybe_unused]] const bool registered = register_command(
    "baseline",
    "Classic baseline on WASSA 2021: TF-IDF word 1-2 grams fitted on train, ridge regression "
    "for empathy/distress and multinomial logistic regression for emotion; prints dev Pearson "
    "(empathy, distress, average) and emotion macro-F1/accuracy",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<BaselineCommandOptions>();
      command.add_option("--data", options->data_dir,
                         "Folder holding wassa2021/ (default: $EMOTUNE_DATA)");
      command.add_flag("--json", options->json, "Print the figures as one JSON object");
      command.add_option("--alpha", options->alpha, "Ridge L2 strength (fixed, not tuned on dev)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      command
          .add_option("--c", options->c,
                      "Logistic regression inverse L2 strength, as scikit-learn's C")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      command.add_flag("--unbalanced", options->unbalanced,
                       "Unweighted logistic loss (scikit-learn's default class_weight=None) "
                       "instead of class_weight=\"balanced\"");
      command.add_flag("--sklearn-defaults", options->sklearn_defaults,
                       "scikit-learn's default TfidfVectorizer (unigrams, min_df 1, raw tf) and "
                       "unweighted LogisticRegression, for comparison with published baselines");
      command.add_option("--out", options->out,
                         "Write a linear member's run folder (emotune.json, linear_model.*, "
                         "out-of-fold train predictions in oof/, summary.json) that predict, "
                         "ensemble (incl. --method stack), report and serve accept");
      command.add_option("--tasks", options->tasks,
                         "With --out: comma-separated tasks (empathy, distress, emotion)")
          ->capture_default_str();
      command.add_option("--inputs", options->inputs,
                         "With --out: comma-separated feature groups: words (TF-IDF word 1-2 "
                         "grams), chars (TF-IDF char_wb 2-5 grams), person (the writer's "
                         "demographics, Big Five and IRI, standardized with train statistics)")
          ->capture_default_str();
      command.add_option("--folds", options->folds,
                         "With --out: k of the out-of-fold train predictions for stacking "
                         "(0: none)")
          ->capture_default_str();
      command.add_option("--person-scale", options->person_scale,
                         "With --out: scale of the person block beside unit-length TF-IDF rows")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      command.add_option("--person-kernel", options->person_kernel,
                         "With --out and person input: linear (person columns as features) or "
                         "rbf (kernel ridge: linear on the text plus an RBF kernel on the person "
                         "vector, so person columns may interact; empathy/distress only)")
          ->capture_default_str()
          ->check(CLI::IsMember({"linear", "rbf"}));
      command.add_option("--rbf-gamma", options->rbf_gamma,
                         "With --person-kernel rbf: the RBF gamma, with --person-scale as the "
                         "kernel's weight; 0 chooses both per target from a 5 x 5 grid by "
                         "writer-grouped 5-fold out-of-fold r on train (no dev labels)")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      command.callback([options, &globals] { run_baseline(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
