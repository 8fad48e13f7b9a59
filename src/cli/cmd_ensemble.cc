#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/paths.h"
#include "data/wassa.h"
#include "predict/prediction_run.h"

namespace emotune::cli {
namespace {

namespace fs = std::filesystem;

struct EnsembleCliOptions {
  std::vector<std::string> members;
  std::string out;
  std::string weights;
  std::string method = "prob-sum";
  bool optimize_weights = false;
  std::string data;
  std::string split;
  std::size_t batch_size = 16;
};

std::vector<double> parse_weights(const std::string& text) {
  std::vector<double> weights;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) {
      throw Error("ensemble: --weights: '" + item + "' is not a number (expected w1,w2,...)");
    }
    weights.push_back(value);
  }
  return weights;
}

void run_ensemble(const EnsembleCliOptions& options, const GlobalOptions& globals) {
  if (options.members.size() < 2) throw Error("ensemble: give at least two RUN_DIRs");
  if (options.split.empty()) throw Error("ensemble: --split dev|test is required");
  const auto split_id = data::parse_split(options.split);
  if (split_id == data::Split::train) throw Error("ensemble: --split must be dev or test");
  predict::EnsembleRequest request;
  for (const auto& member : options.members) request.members.emplace_back(member);
  request.method = predict::parse_ensemble_method(options.method);
  if (!options.weights.empty()) {
    request.weights = parse_weights(options.weights);
    if (request.weights.size() != request.members.size()) {
      throw Error(fmt::format("ensemble: --weights has {} values for {} members",
                              request.weights.size(), request.members.size()));
    }
  }
  request.optimize_weights = options.optimize_weights;
  if (request.optimize_weights && !request.weights.empty()) {
    throw Error("ensemble: give either --weights or --optimize-weights, not both");
  }
  request.predictor.threads = globals.threads;
  request.predictor.forward_batch = options.batch_size;

  const auto data_dir = resolve_data_dir(options.data);
  const auto split = data::load_wassa(data_dir, split_id);
  std::optional<data::WassaSplit> dev;
  if (split_id == data::Split::dev) {
    dev = split;
  } else if (request.optimize_weights) {
    dev = data::load_wassa(data_dir, data::Split::dev);
  }
  std::optional<data::WassaSplit> train;
  if (request.method == predict::EnsembleMethod::stack) {
    train = data::load_wassa(data_dir, data::Split::train);
    request.train = &*train;
  }
  if (request.optimize_weights) {
    spdlog::warn(
        "ensemble: weights are fitted on dev; dev scores of this ensemble are then optimistic "
        "(no longer an unbiased estimate)");
  }
  const auto result = predict::build_ensemble(request, split, dev ? &*dev : nullptr);
  predict::write_ensemble_folder(options.out, result, split_id);
  fmt::print("ensemble of {} members ({}), weights regression [{:.4f}] emotion [{:.4f}] -> {}\n",
             request.members.size(), options.method, fmt::join(result.regression_weights, ", "),
             fmt::join(result.emotion_weights, ", "), options.out);
  if (split_id == data::Split::dev) {
    fmt::print("{}", predict::official_scores(result.predictions, predict::gold_standard(split)));
  }
}

[[maybe_unused]] const bool registered = register_command(
    "ensemble",
    "Combine the predictions of several runs (or ensembles) into an ensemble, as in the "
    "paper, with its submission files",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<EnsembleCliOptions>();
      command
          .add_option("members", options->members,
                      "Run folders, prediction folders (from `emotune predict` for the same "
                      "split) or ensemble folders. A run folder's predictions are read from "
                      "RUN/predictions/<split>/ or computed there from its best model. Members "
                      "may predict different tasks: each task combines the members that "
                      "predict it (a Track I run + a Track II run = one system for both)")
          ->required();
      command
          .add_option("--out", options->out,
                      "Ensemble folder: predictions.tsv, predictions.json, "
                      "predictions_EMP.tsv, predictions_EMO.tsv, predictions.zip, "
                      "ensemble.json (members, weights, method)")
          ->required();
      command.add_option("--weights", options->weights,
                         "Comma-separated non-negative member weights w1,w2,... (normalised; "
                         "default equal)");
      command.add_option("--method", options->method,
                         "mean (average values and probabilities), prob-sum (sum of class "
                         "probabilities, argmax; same decision as mean), vote (weighted "
                         "majority of the members' labels) or stack (a linear blend of z-scored "
                         "empathy/distress and a weighted sum of log-probabilities, fitted on "
                         "the members' out-of-fold train predictions, RUN/oof/; no dev labels "
                         "read); default prob-sum");
      command.add_flag("--optimize-weights", options->optimize_weights,
                       "Fit non-negative weights on dev (avg Pearson for empathy/distress, "
                       "macro-F1 for emotions). Dev scores are then no longer unbiased");
      command.add_option("--data", options->data,
                         "Data folder holding wassa2021/ (default $EMOTUNE_DATA)");
      command.add_option("--split", options->split, "dev or test")->required();
      command.add_option("--batch-size", options->batch_size,
                         "Essays per forward pass when a member's predictions must be computed");
      command.callback([options, &globals] { run_ensemble(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
