#include "pipeline/pipeline.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/files.h"
#include "data/person.h"
#include "eval/metrics.h"
#include "io/run_files.h"
#include "io/tsv.h"
#include "serve/prediction_run.h"
#include "serve/run_report.h"
#include "common/json_file.h"
#include "train/toml_file.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- configs -------------------------------------------------------------------------------

// Every key of a TOML document as "a.b" -> printed value.
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (const auto& [key, node] : table) {
    const std::string name = prefix + std::string(key.str());
    if (const auto* nested = node.as_table()) {
      flatten(*nested, name + ".", out);
    } else {
      std::ostringstream text;
      node.visit([&](const auto& value) { text << value; });
      out[name] = text.str();
    }
  }
}

std::map<std::string, std::string> config_values(train::TrainConfig config) {
  // Paths are compared by where they lead, so ../data and /abs/data are the same data.
  const auto canonical = [](const std::string& path) {
    return path.empty() ? path : fs::weakly_canonical(fs::absolute(path)).string();
  };
  config.backbone = canonical(config.backbone);
  config.data = canonical(config.data);
  std::map<std::string, std::string> values;
  flatten(toml::parse(train::to_toml(config)), "", values);
  return values;
}

// Keys that may change between the runs of one member: more seeds are trained on top of the
// finished ones, and a run may resume on another device.
bool may_differ(const std::string& key) {
  return key == "seeds" || key == "device";
}

void remove_cached_predictions(const fs::path& run_dir) {
  remove_all_quietly(run_dir / "predictions");
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("seed-", 0) == 0) {
      remove_all_quietly(entry.path() / "predictions");
    }
  }
}

// ---- systems file --------------------------------------------------------------------------

[[noreturn]] void fail_at(const fs::path& file, const toml::node& node, const std::string& what) {
  const auto line = node.source().begin.line;
  if (line > 0) throw error_at(file, line, what);
  throw error_in(file, what);
}

Scores read_scores(const fs::path& file, const toml::node& node, const std::string& where,
                   Scores* test) {
  const auto* table = node.as_table();
  if (!table) fail_at(file, node, where + ": expected a table of scores");
  Scores dev;
  for (const auto& [key, value] : *table) {
    const std::string name(key.str());
    const bool is_dev = name.rfind("dev_", 0) == 0;
    const bool is_test = name.rfind("test_", 0) == 0;
    const std::string score = is_dev ? name.substr(4) : is_test ? name.substr(5) : "";
    const bool known =
        std::find(std::begin(kScoreNames), std::end(kScoreNames), score) != std::end(kScoreNames);
    if (!known || (is_test && test == nullptr)) {
      fail_at(
          file, value,
          fmt::format("{}.{}: unknown score (expected dev_ or{} test_ followed by one of {})",
                      where, name, test ? "" : " (systems only)", fmt::join(kScoreNames, ", ")));
    }
    const auto number = value.value<double>();
    if (!number) fail_at(file, value, fmt::format("{}.{}: expected a number", where, name));
    (is_dev ? dev : *test)[score] = *number;
  }
  return dev;
}

std::vector<MemberRef> read_refs(const fs::path& file, const toml::node& node,
                                 const std::string& where) {
  const auto* array = node.as_array();
  if (!array) fail_at(file, node, where + ": expected an array of member names");
  std::vector<MemberRef> refs;
  for (const auto& item : *array) {
    const auto text = item.value<std::string>();
    if (!text) fail_at(file, item, where + ": expected member names (strings)");
    try {
      refs.push_back(parse_member_ref(*text));
    } catch (const Error& e) {
      fail_at(file, item, where + ": " + e.what());
    }
  }
  if (refs.empty()) fail_at(file, node, where + ": no members");
  return refs;
}

SystemSpec read_system(const fs::path& file, const toml::table& table, std::size_t index) {
  SystemSpec spec;
  const std::string where = fmt::format("ensemble {}", index + 1);
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "name" || name == "title") {
      const auto text = node.value<std::string>();
      if (!text || text->empty()) fail_at(file, node, where + "." + name + ": expected a string");
      (name == "name" ? spec.name : spec.title) = *text;
    } else if (name == "empathy") {
      spec.empathy = read_refs(file, node, where + ".empathy");
    } else if (name == "distress") {
      spec.distress = read_refs(file, node, where + ".distress");
    } else if (name == "emotion") {
      spec.emotion = read_refs(file, node, where + ".emotion");
    } else if (name == "emotion_method") {
      const auto text = node.value<std::string>();
      if (!text) fail_at(file, node, where + ".emotion_method: expected \"prob-sum\" or \"vote\"");
      try {
        spec.emotion_method = eval::parse_emotion_combination(*text);
      } catch (const Error& e) {
        fail_at(file, node, where + ".emotion_method: " + e.what());
      }
    } else if (name == "submit") {
      const auto flag = node.value<bool>();
      if (!flag) fail_at(file, node, where + ".submit: expected true or false");
      spec.submit = *flag;
    } else if (name == "paper") {
      spec.paper_dev = read_scores(file, node, where + ".paper", &spec.paper_test);
    } else {
      fail_at(file, node,
              fmt::format("{}: unknown key '{}' (expected name, title, empathy, distress, "
                          "emotion, emotion_method, submit, paper)",
                          where, name));
    }
  }
  if (spec.name.empty()) throw error_in(file, where + ": no name");
  if (spec.title.empty()) spec.title = spec.name;
  if (spec.empathy.empty() != spec.distress.empty()) {
    throw error_in(file, fmt::format("ensemble '{}': give both empathy and distress members (the "
                                     "submission file predictions_EMP.tsv holds both) or neither",
                                     spec.name));
  }
  if (spec.empathy.empty() && spec.emotion.empty()) {
    throw error_in(
        file, fmt::format("ensemble '{}': no empathy, distress or emotion members", spec.name));
  }
  return spec;
}

std::string join_names(const std::vector<std::string>& names) {
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

// ---- predictions ---------------------------------------------------------------------------

fs::path task_cache_file(const fs::path& folder, data::Split split, model::Task task) {
  return folder / "predictions" / std::string(data::split_name(split)) /
         (model::task_name(task) + ".tsv");
}

std::vector<double> read_task_cache(const fs::path& file, model::Task task,
                                    const data::WassaSplit& split) {
  const auto table = io::read_tsv(file);
  const auto id_column = table.column("id");
  const auto value_column = table.column(model::task_name(task));
  if (table.rows.size() != split.rows.size()) {
    throw error_in(file, fmt::format("{} rows, but the {} split has {}", table.rows.size(),
                                     data::split_name(split.split), split.rows.size()));
  }
  std::vector<double> values;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    if (row.fields[id_column] != split.rows[i].id) {
      throw error_at(file, row.line,
                     fmt::format("id {}, but the {} split has {} there", row.fields[id_column],
                                 data::split_name(split.split), split.rows[i].id));
    }
    values.push_back(
        io::parse_double(row.fields[value_column], file, row.line, model::task_name(task)));
  }
  return values;
}

std::vector<double> single_task_values(const fs::path& folder, model::Task task,
                                       const data::WassaSplit& split,
                                       const serve::RunPredictorOptions& options) {
  const auto cache = task_cache_file(folder, split.split, task);
  if (fs::is_regular_file(cache)) return read_task_cache(cache, task, split);
  const auto model_folder = io::resolve_model_folder(folder);
  spdlog::info("{}: computing {} {} predictions with {}", folder.string(),
               data::split_name(split.split), model::task_name(task), model_folder.string());
  serve::RunPredictor predictor(model_folder, options);
  std::vector<serve::EssayInput> inputs;
  for (const auto& row : split.rows) inputs.push_back({row.text, data::person_values(row)});
  const auto outputs = predictor.predict(inputs);
  std::string text = "id\t" + model::task_name(task) + "\n";
  std::vector<double> values;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& value = task == model::Task::empathy ? outputs[i].empathy : outputs[i].distress;
    if (!value)
      throw Error(model_folder.string() + ": the model returned no " + model::task_name(task));
    values.push_back(*value);
    text += fmt::format("{}\t{}\n", split.rows[i].id, *value);
  }
  fs::create_directories(cache.parent_path());
  write_file_atomic(cache, text);
  return values;
}

bool contains(const std::vector<model::Task>& tasks, model::Task task) {
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

eval::Predictions emotion_only(eval::Predictions predictions) {
  predictions.has_regression = false;
  predictions.empathy.clear();
  predictions.distress.clear();
  return predictions;
}

std::string format_score(const Scores& scores, const std::string& name, int decimals = 4) {
  const auto found = scores.find(name);
  return found == scores.end() ? "-" : fmt::format("{:.{}f}", found->second, decimals);
}

const char* score_label(std::string_view name) {
  if (name == "empathy_r") return "empathy r";
  if (name == "distress_r") return "distress r";
  if (name == "average_r") return "average r";
  if (name == "macro_f1") return "macro-F1";
  return "accuracy";
}

// The scores a row shows: ours, else the paper's, in kScoreNames order.
std::vector<std::string> row_scores(const ComparisonRow& row) {
  std::vector<std::string> names;
  for (const auto name : kScoreNames) {
    const std::string key(name);
    if (row.ours_dev.count(key) || row.paper_dev.count(key) || row.paper_test.count(key))
      names.push_back(key);
  }
  return names;
}

}  // namespace

// ---- members -------------------------------------------------------------------------------

std::vector<Member> load_members(const fs::path& configs_dir,
                                 std::span<const std::string> overrides, const fs::path& runs_dir) {
  if (!fs::is_directory(configs_dir)) {
    throw error_in(configs_dir,
                   "no such folder of training configs (run from the repository "
                   "root, or give the configs folder)");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(configs_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw error_in(configs_dir, "holds no *.toml training configs");
  std::vector<Member> members;
  for (const auto& file : files) {
    Member member;
    member.name = file.stem().string();
    member.config = train::load_config(file);
    for (const auto& assignment : overrides) train::apply_override(member.config, assignment);
    member.config_file = file;
    member.overrides.assign(overrides.begin(), overrides.end());
    member.run_dir = runs_dir / member.name;
    members.push_back(std::move(member));
  }
  return members;
}

std::string_view to_string(MemberStatus status) {
  switch (status) {
    case MemberStatus::missing_backbone:
      return "skipped (no backbone)";
    case MemberStatus::done:
      return "done";
    case MemberStatus::resumed:
      return "resumed";
    case MemberStatus::trained:
      return "trained";
  }
  return "?";
}

bool is_finished_run(const fs::path& run_dir) {
  return io::RunSummary::present_in(run_dir);
}

MemberOutcome plan_member(const Member& member, const fs::path& data_dir) {
  const auto backbone = member.config.backbone_dir();
  if (!fs::is_directory(backbone)) {
    return {member.name, MemberStatus::missing_backbone,
            fmt::format("skipped: its backbone folder {} does not exist (expected an HF "
                        "checkpoint folder '{}' under the models root)",
                        backbone.string(), backbone.filename().string())};
  }
  if (!fs::is_regular_file(member.run_dir / "config.toml"))
    return {member.name, MemberStatus::trained, "to be trained"};
  const auto requested = train::resolve_config(member.config, data_dir);
  const auto stored_values = config_values(train::load_run_config(member.run_dir));
  const auto requested_values = config_values(requested);
  for (const auto& [key, value] : requested_values) {
    if (may_differ(key)) continue;
    const auto stored = stored_values.find(key);
    const std::string before = stored == stored_values.end() ? "(absent)" : stored->second;
    if (before != value) {
      throw error_in(member.run_dir,
                     fmt::format("holds a run of {} with another config: {} is {} there but {} "
                                 "now; remove the folder or choose another output folder",
                                 member.name, key, before, value));
    }
  }
  if (is_finished_run(member.run_dir) &&
      io::RunSummary::read(member.run_dir).seed_numbers() == requested.seeds) {
    return {member.name, MemberStatus::done,
            fmt::format("done (finished run in {}), not retrained", member.run_dir.string())};
  }
  return {member.name, MemberStatus::resumed, "to be resumed"};
}

MemberOutcome train_member(const Member& member, const fs::path& data_dir,
                           const train::TrainHooks& hooks) {
  const auto plan = plan_member(member, data_dir);
  if (plan.status == MemberStatus::missing_backbone || plan.status == MemberStatus::done)
    return plan;
  const bool resume = plan.status == MemberStatus::resumed;
  spdlog::info("{}: {} in {}", member.name, resume ? "resuming" : "training",
               member.run_dir.string());
  (void)train::run_training(member.config, data_dir, member.run_dir, resume, hooks);
  return trained_member_outcome(member, plan.status);
}

void log_outcome(const MemberOutcome& outcome) {
  if (outcome.available()) {
    spdlog::info("{}", outcome.message());
  } else {
    spdlog::warn("{}", outcome.message());
  }
}

std::map<std::string, MemberOutcome> train_members(std::span<const Member> members,
                                                   const fs::path& data_dir,
                                                   const train::TrainHooks& hooks) {
  std::map<std::string, MemberOutcome> outcomes;
  for (const auto& member : members) {
    auto outcome = train_member(member, data_dir, hooks);
    log_outcome(outcome);
    outcomes[member.name] = std::move(outcome);
  }
  return outcomes;
}

MemberOutcome trained_member_outcome(const Member& member, MemberStatus status) {
  remove_cached_predictions(member.run_dir);
  const auto summary = io::RunSummary::read(member.run_dir);
  return {member.name, status,
          fmt::format("{} ({} seed(s), best dev {} {:.4f})",
                      status == MemberStatus::resumed ? "resumed and finished" : "trained",
                      summary.seeds.size(), summary.selection_metric,
                      summary.best_score.value_or(std::nan("")))};
}

std::string MemberRef::text() const {
  return rank == 1 ? member : fmt::format("{}#{}", member, rank);
}

MemberRef parse_member_ref(std::string_view text) {
  MemberRef ref;
  const auto hash = text.find('#');
  ref.member = std::string(text.substr(0, hash));
  if (ref.member.empty()) {
    throw Error(fmt::format("member '{}': expected <member> or <member>#<k>", text));
  }
  if (hash != std::string_view::npos) {
    const std::string rank(text.substr(hash + 1));
    std::size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(rank, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != rank.size() || value < 1) {
      throw Error(
          fmt::format("member '{}': the seed rank after '#' must be a whole number >= 1", text));
    }
    ref.rank = value;
  }
  return ref;
}

std::optional<fs::path> member_folder(const fs::path& run_dir, int rank, std::string& why_not) {
  if (!is_finished_run(run_dir)) {
    why_not = fmt::format("{} holds no finished run", run_dir.string());
    return std::nullopt;
  }
  if (rank == 1) return run_dir;
  const auto ranked = io::RunSummary::read(run_dir).seeds_by_score();
  if (static_cast<std::size_t>(rank) > ranked.size()) {
    why_not = fmt::format("the run in {} has {} seed(s), so no seed ranks {}", run_dir.string(),
                          ranked.size(), rank);
    return std::nullopt;
  }
  return run_dir / fmt::format("seed-{}", ranked[static_cast<std::size_t>(rank - 1)]);
}

// ---- predictions ---------------------------------------------------------------------------

std::vector<model::Task> model_tasks(const fs::path& folder) {
  return io::ModelManifest::read(io::resolve_model_folder(folder)).tasks;
}

MemberColumns member_columns(const fs::path& folder, const data::WassaSplit& split,
                             const serve::RunPredictorOptions& options) {
  const auto tasks = model_tasks(folder);
  const bool empathy = contains(tasks, model::Task::empathy);
  const bool distress = contains(tasks, model::Task::distress);
  const bool emotion = contains(tasks, model::Task::emotion);
  MemberColumns columns;
  for (const auto& row : split.rows) columns.ids.push_back(row.id);
  if (empathy == distress) {
    auto predictions = serve::member_predictions(folder, split, options);
    if (predictions.has_regression) {
      columns.empathy = predictions.empathy;
      columns.distress = predictions.distress;
    }
    if (predictions.has_emotion) columns.emotion = emotion_only(std::move(predictions));
    return columns;
  }
  if (emotion) {
    throw Error(
        fmt::format("{}: the model predicts {} and emotions; emotune's prediction files "
                    "need both regression tasks or neither",
                    folder.string(), empathy ? "empathy" : "distress"));
  }
  const auto task = empathy ? model::Task::empathy : model::Task::distress;
  (empathy ? columns.empathy : columns.distress) = single_task_values(folder, task, split, options);
  return columns;
}

// ---- systems -------------------------------------------------------------------------------

std::vector<std::string> SystemSpec::member_names() const {
  std::vector<std::string> names;
  for (const auto* list : {&empathy, &distress, &emotion}) {
    for (const auto& ref : *list) {
      if (std::find(names.begin(), names.end(), ref.member) == names.end())
        names.push_back(ref.member);
    }
  }
  return names;
}

PipelineSpec load_pipeline_spec(const fs::path& file) {
  const auto table = train::read_toml_file(file);
  PipelineSpec spec;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "ensemble") {
      const auto* array = node.as_array();
      if (!array || !array->is_array_of_tables()) {
        fail_at(file, node, "ensemble: expected [[ensemble]] tables");
      }
      for (std::size_t i = 0; i < array->size(); ++i) {
        spec.systems.push_back(read_system(file, *array->get(i)->as_table(), i));
      }
    } else if (name == "paper") {
      const auto* members = node.as_table();
      if (!members) fail_at(file, node, "paper: expected a table <member> = { scores }");
      for (const auto& [member, scores] : *members) {
        spec.paper_dev[std::string(member.str())] =
            read_scores(file, scores, "paper." + std::string(member.str()), nullptr);
      }
    } else {
      fail_at(file, node, fmt::format("unknown key '{}' (expected [[ensemble]] or [paper])", name));
    }
  }
  if (spec.systems.empty()) throw error_in(file, "no [[ensemble]] systems");
  std::set<std::string> names;
  const SystemSpec* submitted_track1 = nullptr;
  const SystemSpec* submitted_track2 = nullptr;
  for (const auto& system : spec.systems) {
    if (!names.insert(system.name).second) {
      throw error_in(file, fmt::format("two ensembles are named '{}'", system.name));
    }
    if (!system.submit) continue;
    for (auto [track, has] : {std::pair{&submitted_track1, !system.empathy.empty()},
                              std::pair{&submitted_track2, !system.emotion.empty()}}) {
      if (!has) continue;
      if (*track) {
        throw error_in(file, fmt::format("ensembles '{}' and '{}' are both submitted for Track {}",
                                         (*track)->name, system.name,
                                         track == &submitted_track1 ? "I" : "II"));
      }
      *track = &system;
    }
  }
  return spec;
}

std::optional<SystemPredictions> predict_system(const SystemSpec& spec, const MemberLocator& locate,
                                                const data::WassaSplit& split,
                                                const serve::RunPredictorOptions& options,
                                                std::string& why_not) {
  SystemPredictions system;
  system.description = {{"name", spec.name},
                        {"title", spec.title},
                        {"split", std::string(data::split_name(split.split))},
                        {"emotion_method", std::string(eval::to_string(spec.emotion_method))}};
  std::vector<std::string> empty_columns;
  // The members of one column that can be used, as (reference, columns) pairs.
  const auto gather = [&](const std::string& column, const std::vector<MemberRef>& refs) {
    std::vector<std::pair<std::string, MemberColumns>> used;
    json described = {{"used", json::array()}, {"left_out", json::array()}};
    for (const auto& ref : refs) {
      std::string reason;
      std::optional<fs::path> folder;
      if (const auto run = locate(ref.member, reason))
        folder = member_folder(*run, ref.rank, reason);
      if (!folder) {
        system.notes.push_back(
            fmt::format("{}: {} member {} left out: {}", spec.name, column, ref.text(), reason));
        described["left_out"].push_back({{"member", ref.text()}, {"reason", reason}});
        continue;
      }
      used.emplace_back(ref.text(), member_columns(*folder, split, options));
      described["used"].push_back(
          {{"member", ref.text()}, {"folder", fs::absolute(*folder).lexically_normal().string()}});
    }
    if (!refs.empty() && used.empty()) empty_columns.push_back(column);
    system.description["columns"][column] = described;
    return used;
  };

  const auto mean_of = [&](const std::string& column, const auto& used, auto field) {
    std::vector<double> mean(split.rows.size(), 0.0);
    for (const auto& [name, columns] : used) {
      const auto& values = columns.*field;
      if (!values) {
        throw Error(fmt::format("{}: member {} does not predict {}", spec.name, name, column));
      }
      for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += (*values)[i];
    }
    for (auto& value : mean) value /= static_cast<double>(used.size());
    return mean;
  };

  eval::Predictions& out = system.predictions;
  for (const auto& row : split.rows) out.ids.push_back(row.id);
  const auto empathy = gather("empathy", spec.empathy);
  const auto distress = gather("distress", spec.distress);
  const auto emotion = gather("emotion", spec.emotion);
  if (!empty_columns.empty()) {
    why_not = fmt::format("no member available for {} ({})", fmt::join(empty_columns, ", "),
                          fmt::join(system.notes, "; "));
    return std::nullopt;
  }
  if (!empathy.empty()) {
    out.has_regression = true;
    out.empathy = mean_of("empathy", empathy, &MemberColumns::empathy);
    out.distress = mean_of("distress", distress, &MemberColumns::distress);
  }
  if (!emotion.empty()) {
    std::vector<eval::Predictions> members;
    for (const auto& [name, columns] : emotion) {
      if (!columns.emotion) {
        throw Error(fmt::format("{}: member {} does not predict emotions", spec.name, name));
      }
      members.push_back(*columns.emotion);
    }
    eval::EnsembleOptions ensemble_options;
    ensemble_options.combination = spec.emotion_method;
    const auto combined = eval::ensemble(members, ensemble_options);
    out.has_emotion = true;
    out.labels = combined.labels;
    out.emotion = combined.emotion;
    out.probabilities = combined.probabilities;
  }
  eval::validate(out);
  return system;
}

void write_system(const fs::path& dir, const SystemPredictions& system, data::Split split) {
  serve::write_prediction_folder(dir, system.predictions, split,
                                 json{{"source", "pipeline system"}, {"system", "system.json"}});
  write_json(dir / "system.json", system.description);
}

void write_submission(const fs::path& dir, const eval::Predictions* track1,
                      const eval::Predictions* track2) {
  if (!track1 && !track2) throw Error("submission: no system for Track I or Track II");
  if (track1 && !track1->has_regression)
    throw Error("submission: the Track I system predicts no empathy/distress");
  if (track2 && !track2->has_emotion)
    throw Error("submission: the Track II system predicts no emotions");
  if (track1 && track2 && track1->ids != track2->ids) {
    throw Error("submission: the Track I and Track II predictions are for different essays");
  }
  fs::create_directories(dir);
  std::optional<eval::EmpathyPredictions> empathy;
  if (track1) {
    empathy = eval::EmpathyPredictions{track1->empathy, track1->distress};
    eval::write_emp_predictions(dir / "predictions_EMP.tsv", *empathy);
  } else {
    fs::remove(dir / "predictions_EMP.tsv");
  }
  std::vector<int> emotions;
  if (track2) {
    emotions = eval::official_emotion_ids(*track2);
    eval::write_emo_predictions(dir / "predictions_EMO.tsv", emotions);
  } else {
    fs::remove(dir / "predictions_EMO.tsv");
  }
  eval::write_submission_zip(dir / "predictions.zip", empathy ? &*empathy : nullptr, emotions);
}

Scores dev_scores(const MemberColumns& columns, const eval::GoldStandard& gold) {
  if (columns.ids.size() != gold.size()) {
    throw Error(fmt::format("{} predictions, but the dev gold standard has {} rows",
                            columns.ids.size(), gold.size()));
  }
  Scores scores;
  if (columns.empathy) scores["empathy_r"] = eval::pearson(gold.empathy, *columns.empathy);
  if (columns.distress) scores["distress_r"] = eval::pearson(gold.distress, *columns.distress);
  if (columns.empathy && columns.distress) {
    scores["average_r"] = (scores["empathy_r"] + scores["distress_r"]) / 2.0;
  }
  if (columns.emotion) {
    const auto t2 =
        eval::classification_scores(gold.emotion, eval::official_emotion_ids(*columns.emotion));
    scores["macro_f1"] = t2.macro_f1;
    scores["accuracy"] = t2.accuracy;
  }
  return scores;
}

Scores dev_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold) {
  MemberColumns columns;
  columns.ids = predictions.ids;
  if (predictions.has_regression) {
    columns.empathy = predictions.empathy;
    columns.distress = predictions.distress;
  }
  if (predictions.has_emotion) columns.emotion = predictions;
  return dev_scores(columns, gold);
}

// ---- comparison table ----------------------------------------------------------------------

std::string format_comparison(std::span<const ComparisonRow> rows) {
  std::size_t name_width = 6;
  for (const auto& row : rows) name_width = std::max(name_width, row.name.size());
  std::string out = fmt::format("{:<{}}  {:<11}{:>12}{:>13}{:>14}\n", "system", name_width, "score",
                                "ours (dev)", "paper (dev)", "paper (test)");
  std::string skipped;
  for (const auto& row : rows) {
    const auto names = row_scores(row);
    if (row.ours_dev.empty()) {
      skipped += fmt::format("  {}: {}\n", row.name, row.status);
    }
    bool first = true;
    for (const auto& name : names) {
      out += fmt::format("{:<{}}  {:<11}{:>12}{:>13}{:>14}\n", first ? row.name : "", name_width,
                         score_label(name), format_score(row.ours_dev, name),
                         format_score(row.paper_dev, name), format_score(row.paper_test, name));
      first = false;
    }
  }
  if (!skipped.empty()) out += "not scored:\n" + skipped;
  out +=
      "accuracy as a fraction; paper numbers from the WASSA@IITK 2021 paper (Tables 1-2, "
      "Section 5)\n";
  return out;
}

std::string format_comparison_markdown(std::span<const ComparisonRow> rows) {
  std::string out =
      "| system | status | score | ours (dev) | paper (dev) | paper (test) |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& row : rows) {
    auto names = row_scores(row);
    if (names.empty()) out += fmt::format("| {} | {} | | | | |\n", row.name, row.status);
    bool first = true;
    for (const auto& name : names) {
      out +=
          fmt::format("| {} | {} | {} | {} | {} | {} |\n", first ? row.name : "",
                      first ? row.status : "", score_label(name), format_score(row.ours_dev, name),
                      format_score(row.paper_dev, name), format_score(row.paper_test, name));
      first = false;
    }
  }
  return out;
}

// ---- the whole pipeline --------------------------------------------------------------------

PipelineResult run_pipeline(std::span<const Member> members, const PipelineSpec& spec,
                            const PipelineOptions& options, std::span<const std::string> systems) {
  // 1. Train.
  const auto outcomes = train_members(members, options.data_dir, options.hooks);
  return build_pipeline(members, outcomes, spec, options, systems);
}

PipelineResult build_pipeline(std::span<const Member> members,
                              const std::map<std::string, MemberOutcome>& outcomes,
                              const PipelineSpec& spec, const PipelineOptions& options,
                              std::span<const std::string> systems) {
  PipelineResult result;
  const auto runs_dir = options.out_dir / "runs";
  for (const auto& member : members) {
    const auto found = outcomes.find(member.name);
    if (found == outcomes.end())
      throw Error(fmt::format("pipeline: no training outcome for member {}", member.name));
    result.members.emplace_back(member.name, found->second);
  }
  const auto run_dir_of = [&](const std::string& name) {
    for (const auto& member : members)
      if (member.name == name) return member.run_dir;
    return runs_dir / name;
  };
  const MemberLocator locate = [&](const std::string& name,
                                   std::string& why_not) -> std::optional<fs::path> {
    const auto found = outcomes.find(name);
    if (found != outcomes.end() && !found->second.available()) {
      why_not = found->second.detail;
      return std::nullopt;
    }
    const auto run = run_dir_of(name);
    if (!is_finished_run(run)) {
      why_not = found == outcomes.end()
                    ? fmt::format("not selected and no finished run in {}", run.string())
                    : fmt::format("{} holds no finished run", run.string());
      return std::nullopt;
    }
    return run;
  };

  // 2-4. Systems on dev and test.
  const auto dev = data::load_wassa(options.data_dir, data::Split::dev);
  const auto test = data::load_wassa(options.data_dir, data::Split::test);
  const auto gold = serve::gold_standard(dev);
  std::vector<const SystemSpec*> chosen;
  for (const auto& system : spec.systems) {
    bool wanted = false;
    if (!systems.empty()) {
      wanted = std::find(systems.begin(), systems.end(), system.name) != systems.end();
    } else {
      for (const auto& name : system.member_names()) {
        for (const auto& member : members) wanted = wanted || member.name == name;
      }
    }
    if (wanted) chosen.push_back(&system);
  }
  // Per track, the submitted candidate with the best dev score so far (index into
  // result.systems) and its test predictions.
  struct Candidate {
    std::size_t outcome;
    double dev_score;
    eval::Predictions test;
  };
  std::optional<Candidate> track1_pick, track2_pick;
  const auto consider = [&](std::optional<Candidate>& pick, const char* score, std::size_t index,
                            const eval::Predictions& test) {
    const auto& dev_scores_of = result.systems[index].dev;
    const auto found = dev_scores_of.find(score);
    const double value = found == dev_scores_of.end() ? -2.0 : found->second;
    if (pick && pick->dev_score >= value) return;
    pick = Candidate{index, value, test};
  };
  for (const auto* system : chosen) {
    SystemOutcome outcome;
    outcome.name = system->name;
    std::string why_not;
    auto on_dev = predict_system(*system, locate, dev, options.predictor, why_not);
    // The test split has the same members; its notes would repeat these.
    if (on_dev) {
      for (const auto& note : on_dev->notes) spdlog::warn("{}", note);
    }
    if (!on_dev) {
      outcome.detail = "skipped: " + why_not;
      spdlog::warn("{}: {}", system->name, outcome.detail);
      result.systems.push_back(outcome);
      continue;
    }
    auto on_test = predict_system(*system, locate, test, options.predictor, why_not);
    if (!on_test) throw Error(fmt::format("{}: {} on the test split", system->name, why_not));
    outcome.built = true;
    // The folder name is the system's, so the report and `emotune ensemble` show that name.
    outcome.dev_dir = options.out_dir / "systems" / "dev" / system->name;
    outcome.test_dir = options.out_dir / "systems" / "test" / system->name;
    write_system(outcome.dev_dir, *on_dev, data::Split::dev);
    write_system(outcome.test_dir, *on_test, data::Split::test);
    outcome.dev = dev_scores(on_dev->predictions, gold);
    std::vector<std::string> used;
    for (const char* column : {"empathy", "distress", "emotion"}) {
      const auto& columns = on_dev->description["columns"];
      if (!columns.contains(column)) continue;
      std::vector<std::string> names;
      for (const auto& member : columns[column]["used"])
        names.push_back(member["member"].get<std::string>());
      if (!names.empty()) used.push_back(fmt::format("{} = {}", column, fmt::join(names, " + ")));
    }
    outcome.detail = fmt::format("built ({}; {} member(s) left out) -> {}", fmt::join(used, "; "),
                                 on_dev->notes.size(), (options.out_dir / "systems").string());
    spdlog::info("{}: {}", system->name, outcome.detail);
    result.systems.push_back(outcome);
    const auto index = result.systems.size() - 1;
    if (system->submit && on_test->predictions.has_regression)
      consider(track1_pick, "average_r", index, on_test->predictions);
    if (system->submit && on_test->predictions.has_emotion)
      consider(track2_pick, "macro_f1", index, on_test->predictions);
  }
  std::optional<eval::Predictions> track1_test, track2_test;
  for (auto [pick, test, track] : {std::tuple{&track1_pick, &track1_test, "I"},
                                   std::tuple{&track2_pick, &track2_test, "II"}}) {
    if (!*pick) continue;
    auto& outcome = result.systems[(*pick)->outcome];
    outcome.submitted = true;
    *test = std::move((*pick)->test);
    spdlog::info("Track {}: submitting {} (dev {:.4f})", track, outcome.name, (*pick)->dev_score);
  }

  // 5. Submission.
  if (track1_test || track2_test) {
    const auto dir = options.out_dir / "submission";
    write_submission(dir, track1_test ? &*track1_test : nullptr,
                     track2_test ? &*track2_test : nullptr);
    result.submission_dir = dir;
    spdlog::info("submission ({}{}{}) -> {}", track1_test ? "Track I" : "",
                 track1_test && track2_test ? " + " : "", track2_test ? "Track II" : "",
                 (dir / "predictions.zip").string());
  } else {
    spdlog::warn("no submission: no system marked submit was built");
  }

  // 7 (scores first, the report reuses the cached predictions). Members' dev scores.
  for (const auto& member : members) {
    ComparisonRow row;
    row.name = member.name;
    const auto& outcome = outcomes.at(member.name);
    row.status = std::string(to_string(outcome.status));
    if (const auto paper = spec.paper_dev.find(member.name); paper != spec.paper_dev.end())
      row.paper_dev = paper->second;
    if (outcome.available() && is_finished_run(member.run_dir)) {
      row.ours_dev = dev_scores(member_columns(member.run_dir, dev, options.predictor), gold);
    } else if (!outcome.available()) {
      row.status = outcome.detail;
    }
    result.comparison.push_back(std::move(row));
  }
  for (const auto& outcome : result.systems) {
    const auto& system = *std::find_if(spec.systems.begin(), spec.systems.end(),
                                       [&](const auto& s) { return s.name == outcome.name; });
    ComparisonRow row;
    row.name = outcome.name;
    row.status =
        outcome.built ? (outcome.submitted ? "built, submitted" : "built") : outcome.detail;
    row.ours_dev = outcome.dev;
    row.paper_dev = system.paper_dev;
    row.paper_test = system.paper_test;
    result.comparison.push_back(std::move(row));
  }

  // 6. Report over the runs it can read (both regression tasks or none) and the systems.
  if (options.write_report) {
    serve::ReportRequest request;
    request.data_dir = options.data_dir;
    request.out_html = options.out_dir / "report" / "report.html";
    request.predictor = options.predictor;
    std::vector<std::string> left_out;
    for (const auto& member : members) {
      if (!outcomes.at(member.name).available() || !is_finished_run(member.run_dir)) continue;
      const auto tasks = model_tasks(member.run_dir);
      if (contains(tasks, model::Task::empathy) != contains(tasks, model::Task::distress)) {
        left_out.push_back(member.name);
        continue;
      }
      request.members.push_back(member.run_dir);
    }
    for (const auto& outcome : result.systems)
      if (outcome.built) request.members.push_back(outcome.dev_dir);
    if (!left_out.empty()) {
      spdlog::info(
          "report: {} predict(s) a single regression task, which the report's figures "
          "do not show; see the comparison table",
          join_names(left_out));
    }
    if (request.members.empty()) {
      spdlog::warn("no report: no trained member or built system");
    } else {
      serve::write_report(request);
      result.report_html = request.out_html;
      spdlog::info("report -> {}", request.out_html.string());
    }
  }

  fs::create_directories(options.out_dir);
  write_file_atomic(options.out_dir / "results.md", format_comparison_markdown(result.comparison));
  json rows = json::array();
  for (const auto& row : result.comparison) {
    rows.push_back({{"name", row.name},
                    {"status", row.status},
                    {"ours_dev", row.ours_dev},
                    {"paper_dev", row.paper_dev},
                    {"paper_test", row.paper_test}});
  }
  write_json(options.out_dir / "results.json", json{{"rows", rows}});
  return result;
}

}  // namespace emotune::pipeline
