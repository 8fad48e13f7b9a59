#include <memory>
#include <string>

#include <fmt/format.h>

#include "baseline/baseline.h"
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
};

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
      command.callback([options, &globals] { run_baseline(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
