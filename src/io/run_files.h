#pragma once
// The two files that make a folder a model or a run, each read, validated and written here
// and nowhere else:
//   emotune.json  (ModelManifest): a model folder's tasks, inputs and how to run it; written
//                 by `train` (the best/ snapshot of a seed) and `baseline` (a linear member);
//   summary.json  (RunSummary): a finished run's seeds, their best dev scores and the chosen
//                 model; written last, so its presence means "finished".
// Torch-free: pipeline, report and the prediction layer read these without loading a model.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/tasks.h"

namespace emotune::io {

inline constexpr std::string_view kManifestFileName = "emotune.json";
inline constexpr std::string_view kSummaryFileName = "summary.json";

enum class ModelKind { transformer, linear };

// The person input of a model that reads person features (emotune.json's "person").
struct PersonInputInfo {
  std::int64_t dimension = 0;
  std::vector<std::string> features;
  std::string standardization_file;  // relative to the model folder
};

// emotune.json.
struct ModelManifest {
  ModelKind kind = ModelKind::transformer;  // no "kind" key: a transformer (the older layout)
  std::string model_type;                   // HF model_type, or "linear"
  std::vector<Task> tasks;                  // non-empty, no task twice
  std::vector<std::string> inputs{"text"};  // "text" and/or "person"; a transformer reads text
  std::int64_t max_length = 0;              // transformer: >= 3
  std::optional<PersonInputInfo> person;    // transformer with a "person" input
  // The other keys as written (heads, weight_prefix, dev_metrics, features, ...): read by
  // people and by the writer's own loader, not by the rest of emotune.
  nlohmann::json details = nlohmann::json::object();

  bool has_task(Task task) const;
  bool reads_text() const;
  bool reads_person() const;

  static bool present_in(const std::filesystem::path& folder);
  // An Error naming the file and the key when the file is not a valid manifest.
  static ModelManifest read(const std::filesystem::path& folder);
  void write(const std::filesystem::path& folder) const;
  nlohmann::json to_json() const;
};

// summary.json.
struct RunSummary {
  ModelKind kind = ModelKind::transformer;
  // Transformer runs: one entry per seed as train_seed returned it ({"seed", "best": {"score",
  // "step", metrics...}, "last": ...}), the metric that picked the best snapshot, the best
  // seed and its folder.
  std::string selection_metric;
  nlohmann::json seeds = nlohmann::json::array();
  std::optional<std::int64_t> best_seed;
  std::optional<double> best_score;
  std::string best_model;
  // Per dev metric over the seeds' best snapshots: {"mean", "std" (sample), "min", "max"}.
  nlohmann::json statistics = nlohmann::json::object();
  // The other keys as written (emotune_version; a linear run's options, features, dev).
  nlohmann::json details = nlohmann::json::object();

  // Summarizes the seeds of a transformer run (statistics, best seed by "best.score"); the
  // best model is run_dir/seed-<best>/best.
  static RunSummary of_seeds(std::string selection_metric, nlohmann::json seeds,
                             const std::filesystem::path& run_dir);

  std::vector<std::int64_t> seed_numbers() const;
  // (best dev score, seed) by score, best first; equal scores keep the seeds' order.
  std::vector<std::pair<double, std::int64_t>> ranked_seeds() const;
  // The seeds of ranked_seeds().
  std::vector<std::int64_t> seeds_by_score() const;

  static bool present_in(const std::filesystem::path& run_dir);
  // An Error naming the file and the key when the file is not a valid summary.
  static RunSummary read(const std::filesystem::path& run_dir);
  void write(const std::filesystem::path& run_dir) const;
  nlohmann::json to_json() const;
};

// The model folder (the one holding emotune.json) that `dir` names: the folder itself, its
// best/, the best seed's best/ of a run folder (by summary.json, preferring the path relative
// to `dir` so a moved run still resolves), or the only seed-*/best. An Error otherwise.
std::filesystem::path resolve_model_folder(const std::filesystem::path& dir);

}  // namespace emotune::io
