#include "io/run_files.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "common/error.h"
#include "common/json_file.h"

namespace emotune::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kind_name(ModelKind kind) {
  return kind == ModelKind::linear ? "linear" : "transformer";
}

// The "kind" key of either file: absent means a transformer (the layout before linear runs).
ModelKind read_kind(const fs::path& file, const json& document) {
  if (!document.contains("kind")) return ModelKind::transformer;
  const auto& kind = document["kind"];
  if (kind == "linear") return ModelKind::linear;
  if (kind == "transformer") return ModelKind::transformer;
  throw error_in(file, fmt::format("key 'kind': expected \"linear\" or \"transformer\", got {}",
                                   kind.dump()));
}

json read_object(const fs::path& file) {
  auto document = read_json(file);
  if (!document.is_object()) throw error_in(file, "expected a JSON object");
  return document;
}

[[noreturn]] void bad_key(const fs::path& file, std::string_view key, std::string_view what) {
  throw error_in(file, fmt::format("key '{}': {}", key, what));
}

const json& required(const fs::path& file, const json& document, const char* key) {
  if (!document.contains(key)) throw error_in(file, fmt::format("key '{}' is missing", key));
  return document[key];
}

// An optional string key: `fallback` when absent, an Error naming the key when not a string.
std::string optional_string(const fs::path& file, const json& object, const char* key,
                            std::string_view where, std::string fallback = "") {
  if (!object.contains(key)) return fallback;
  if (!object[key].is_string()) bad_key(file, where, "expected a string");
  return object[key].get<std::string>();
}

std::vector<std::string> string_array(const fs::path& file, const json& value,
                                      std::string_view key) {
  if (!value.is_array() || value.empty() ||
      !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
    bad_key(file, key, "expected a non-empty array of strings");
  }
  return value.get<std::vector<std::string>>();
}

}  // namespace

// ---- emotune.json ---------------------------------------------------------------------------

bool ModelManifest::has_task(Task task) const {
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

bool ModelManifest::reads_text() const {
  return std::find(inputs.begin(), inputs.end(), "text") != inputs.end();
}

bool ModelManifest::reads_person() const {
  return std::find(inputs.begin(), inputs.end(), "person") != inputs.end();
}

bool ModelManifest::present_in(const fs::path& folder) {
  return fs::is_regular_file(folder / kManifestFileName);
}

ModelManifest ModelManifest::read(const fs::path& folder) {
  const auto file = folder / kManifestFileName;
  auto document = read_object(file);
  ModelManifest manifest;
  manifest.kind = read_kind(file, document);

  const auto& model_type = required(file, document, "model_type");
  if (!model_type.is_string() || model_type.get<std::string>().empty())
    bad_key(file, "model_type", "expected a non-empty string");
  manifest.model_type = model_type.get<std::string>();

  const auto& tasks = required(file, document, "tasks");
  if (!tasks.is_array() || tasks.empty()) bad_key(file, "tasks", "expected a non-empty array");
  for (const auto& name : tasks) {
    const auto task = name.is_string() ? parse_task(name.get<std::string>()) : std::nullopt;
    if (!task) bad_key(file, "tasks", fmt::format("unknown task {}", name.dump()));
    if (manifest.has_task(*task))
      bad_key(file, "tasks", fmt::format("{} given twice", name.dump()));
    manifest.tasks.push_back(*task);
  }

  if (document.contains("inputs")) {
    manifest.inputs = string_array(file, document["inputs"], "inputs");
    for (const auto& name : manifest.inputs) {
      if (name != "text" && name != "person") {
        bad_key(file, "inputs", fmt::format("unknown input '{}' (expected text, person)", name));
      }
    }
  }

  if (manifest.kind == ModelKind::transformer) {
    if (!manifest.reads_text()) bad_key(file, "inputs", "\"text\" is missing");
    const auto& max_length = required(file, document, "max_length");
    if (!max_length.is_number_integer() || max_length.get<std::int64_t>() < 3)
      bad_key(file, "max_length", "expected an integer >= 3");
    manifest.max_length = max_length.get<std::int64_t>();
    if (document.contains("person")) {
      const auto& person = document["person"];
      if (!person.is_object()) bad_key(file, "person", "expected an object");
      PersonInputInfo info;
      const auto& dimension = required(file, person, "dimension");
      if (!dimension.is_number_integer() || dimension.get<std::int64_t>() < 1)
        bad_key(file, "person.dimension", "expected an integer >= 1");
      info.dimension = dimension.get<std::int64_t>();
      if (person.contains("features"))
        info.features = string_array(file, person["features"], "person.features");
      info.standardization_file =
          optional_string(file, person, "standardization", "person.standardization");
      manifest.person = std::move(info);
    }
  }

  for (const char* key : {"kind", "model_type", "tasks", "inputs", "max_length", "person"})
    document.erase(key);
  manifest.details = std::move(document);
  return manifest;
}

json ModelManifest::to_json() const {
  json document = details;
  if (kind == ModelKind::linear) document["kind"] = kind_name(kind);
  document["model_type"] = model_type;
  json names = json::array();
  for (const auto task : tasks) names.push_back(task_name(task));
  document["tasks"] = names;
  document["inputs"] = inputs;
  if (kind == ModelKind::transformer) document["max_length"] = max_length;
  if (person) {
    document["person"] = {{"dimension", person->dimension}};
    if (!person->features.empty()) document["person"]["features"] = person->features;
    if (!person->standardization_file.empty())
      document["person"]["standardization"] = person->standardization_file;
  }
  return document;
}

void ModelManifest::write(const fs::path& folder) const {
  write_json(folder / kManifestFileName, to_json());
}

// ---- summary.json ---------------------------------------------------------------------------

RunSummary RunSummary::of_seeds(std::string selection_metric, json seeds, const fs::path& run_dir) {
  if (!seeds.is_array() || seeds.empty()) throw Error("run summary: no seeds");
  RunSummary summary;
  summary.selection_metric = std::move(selection_metric);
  summary.seeds = std::move(seeds);

  // Mean ± std (sample), min and max of every best-snapshot dev score across seeds.
  std::map<std::string, std::vector<double>> values;
  for (const auto& entry : summary.seeds) {
    for (const auto& [name, value] : entry.at("best").items()) {
      if (value.is_number_float() && name != "epoch") values[name].push_back(value.get<double>());
    }
  }
  for (const auto& [name, list] : values) {
    double mean = 0;
    for (const double v : list) mean += v;
    mean /= static_cast<double>(list.size());
    double variance = 0;
    for (const double v : list) variance += (v - mean) * (v - mean);
    const double std_dev =
        list.size() > 1 ? std::sqrt(variance / static_cast<double>(list.size() - 1)) : 0.0;
    summary.statistics[name] = {{"mean", mean},
                                {"std", std_dev},
                                {"min", *std::min_element(list.begin(), list.end())},
                                {"max", *std::max_element(list.begin(), list.end())}};
  }

  const auto [best_score, best_seed] = summary.ranked_seeds().front();
  summary.best_seed = best_seed;
  summary.best_score = best_score;
  summary.best_model = (run_dir / fmt::format("seed-{}", best_seed) / "best").string();
  return summary;
}

std::vector<std::int64_t> RunSummary::seed_numbers() const {
  std::vector<std::int64_t> out;
  for (const auto& entry : seeds) out.push_back(entry.at("seed").get<std::int64_t>());
  return out;
}

std::vector<std::pair<double, std::int64_t>> RunSummary::ranked_seeds() const {
  std::vector<std::pair<double, std::int64_t>> ranked;
  for (const auto& entry : seeds) {
    ranked.emplace_back(entry.at("best").at("score").get<double>(),
                        entry.at("seed").get<std::int64_t>());
  }
  // A NaN score ranks last (as -infinity), so the order stays a strict weak one.
  const auto key = [](double score) {
    return std::isnan(score) ? -std::numeric_limits<double>::infinity() : score;
  };
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](const auto& a, const auto& b) { return key(a.first) > key(b.first); });
  return ranked;
}

std::vector<std::int64_t> RunSummary::seeds_by_score() const {
  std::vector<std::int64_t> out;
  for (const auto& [score, seed] : ranked_seeds()) out.push_back(seed);
  return out;
}

bool RunSummary::present_in(const fs::path& run_dir) {
  return fs::is_regular_file(run_dir / kSummaryFileName);
}

RunSummary RunSummary::read(const fs::path& run_dir) {
  const auto file = run_dir / kSummaryFileName;
  auto document = read_object(file);
  RunSummary summary;
  summary.kind = read_kind(file, document);
  if (document.contains("statistics")) {
    const auto& statistics = document["statistics"];
    const auto numbers = [](const json& stats) {
      return stats.is_object() && std::all_of(stats.begin(), stats.end(),
                                              [](const json& v) { return v.is_number(); });
    };
    if (!statistics.is_object() || !std::all_of(statistics.begin(), statistics.end(), numbers))
      bad_key(file, "statistics",
              "expected {\"mean\", \"std\", \"min\", \"max\"} numbers per metric");
    summary.statistics = statistics;
  }
  if (summary.kind == ModelKind::transformer) {
    const auto& seeds = required(file, document, "seeds");
    if (!seeds.is_array() || seeds.empty()) bad_key(file, "seeds", "expected a non-empty array");
    for (const auto& entry : seeds) {
      if (!entry.is_object() || !entry.contains("seed") || !entry["seed"].is_number_integer() ||
          !entry.contains("best") || !entry["best"].is_object() ||
          !entry["best"].contains("score") || !entry["best"]["score"].is_number()) {
        bad_key(file, "seeds",
                fmt::format("expected entries {{\"seed\": <integer>, \"best\": {{\"score\": "
                            "<number>, ...}}}}, got {}",
                            entry.dump()));
      }
    }
    summary.seeds = seeds;
    summary.selection_metric =
        optional_string(file, document, "selection_metric", "selection_metric");
    if (document.contains("best_seed")) {
      if (!document["best_seed"].is_number_integer())
        bad_key(file, "best_seed", "expected an integer");
      summary.best_seed = document["best_seed"].get<std::int64_t>();
    }
    // JSON has no infinities: a best score of -inf (no finite score) was written as null.
    if (document.contains("best_score") && !document["best_score"].is_null()) {
      if (!document["best_score"].is_number()) bad_key(file, "best_score", "expected a number");
      summary.best_score = document["best_score"].get<double>();
    }
    summary.best_model = optional_string(file, document, "best_model", "best_model");
  }
  for (const char* key : {"kind", "selection_metric", "seeds", "best_seed", "best_score",
                          "best_model", "statistics"})
    document.erase(key);
  summary.details = std::move(document);
  return summary;
}

json RunSummary::to_json() const {
  json document = details;
  document["statistics"] = statistics;
  if (kind == ModelKind::linear) {
    document["kind"] = kind_name(kind);
    return document;
  }
  document["selection_metric"] = selection_metric;
  document["seeds"] = seeds;
  if (best_seed) document["best_seed"] = *best_seed;
  if (best_score) document["best_score"] = *best_score;
  document["best_model"] = best_model;
  return document;
}

void RunSummary::write(const fs::path& run_dir) const {
  write_json(run_dir / kSummaryFileName, to_json());
}

// ---- model folders --------------------------------------------------------------------------

fs::path resolve_model_folder(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(fmt::format("{}: not a folder", dir.string()));
  if (ModelManifest::present_in(dir)) return dir;
  if (ModelManifest::present_in(dir / "best")) return dir / "best";
  if (RunSummary::present_in(dir)) {
    const auto summary = RunSummary::read(dir);
    if (!summary.best_model.empty()) {
      const fs::path best = summary.best_model;
      // The run folder may have moved since training: prefer the path relative to it.
      const auto relative = dir / best.parent_path().filename() / best.filename();
      if (ModelManifest::present_in(relative)) return relative;
      if (ModelManifest::present_in(best)) return best;
    }
  }
  std::vector<fs::path> seeds;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("seed-", 0) == 0 &&
        ModelManifest::present_in(entry.path() / "best")) {
      seeds.push_back(entry.path() / "best");
    }
  }
  if (seeds.size() == 1) return seeds.front();
  throw Error(fmt::format(
      "{}: no model found (expected emotune.json, best/emotune.json, or a run folder with "
      "summary.json or exactly one seed-*/best)",
      dir.string()));
}

}  // namespace emotune::io
