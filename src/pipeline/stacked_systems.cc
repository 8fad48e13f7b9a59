#include "pipeline/stacked_systems.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "baseline/linear_member.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "data/wassa.h"
#include "eval/stacking.h"
#include "io/run_files.h"
#include "predict/ensemble_predictor.h"
#include "predict/prediction_run.h"

namespace emotune::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct LinearSpec {
  std::string name;
  bool words;
  bool person;
  bool rbf;  // the person vector through an RBF kernel (Track I only)
  std::string title;
};

const std::vector<LinearSpec>& linear_specs() {
  static const std::vector<LinearSpec> specs = {
      {"linear-text", true, false, false, "linear: TF-IDF word 1-2 grams (text only)"},
      {"linear-text-person", true, true, false, "linear: TF-IDF + person features"},
      {"linear-person", false, true, false, "linear: person features only"},
      {"kernel-text-person", true, true, true,
       "kernel ridge: TF-IDF (linear) + person features (RBF), empathy/distress"},
      {"kernel-person", false, true, true, "kernel ridge: person features (RBF), empathy/distress"},
  };
  return specs;
}

// The members each kind of stacked system adds to linear-text (and the fine-tuned system).
struct StackSpec {
  std::string suffix;
  std::vector<std::string> members;
  bool track2;  // the RBF members predict empathy/distress only
};

const std::vector<StackSpec>& stack_specs() {
  static const std::vector<StackSpec> specs = {
      {"-stack-text", {}, true},
      {"-stack-person", {"linear-text-person", "linear-person"}, true},
      {"-stack-kernel", {"kernel-text-person", "kernel-person"}, false},
  };
  return specs;
}

fs::path ensure_linear(const StackedSystemsOptions& options, const LinearSpec& spec) {
  const auto dir = options.out_dir / "linear" / spec.name;
  // Out-of-fold predictions made before the folds were grouped by writer are retrained
  // (seconds): they leak each writer's other essays into the stacking fit.
  const auto oof_scheme = dir / "oof" / "oof.json";
  if (io::RunSummary::present_in(dir) && fs::is_regular_file(dir / "oof" / "predictions.tsv") &&
      fs::is_regular_file(oof_scheme) &&
      read_json(oof_scheme).value("assignment", "").find("writer") != std::string::npos) {
    spdlog::info("{}: finished linear member found", spec.name);
    return dir;
  }
  baseline::LinearMemberOptions member;
  member.words = spec.words;
  member.person = spec.person;
  if (spec.rbf) {
    member.person_kernel = baseline::PersonKernel::rbf;
    member.tasks = {"empathy", "distress"};
  }
  spdlog::info("{}: training ({}; 5-fold out-of-fold predictions on train{})", spec.name,
               spec.title, spec.rbf ? "; RBF setting chosen in each fold by writer-grouped "
                                      "out-of-fold r" : "");
  baseline::train_linear_run(options.data_dir, member, dir);
  return dir;
}

// The pipeline's submitted (else best on dev) built system of a track.
const SystemOutcome* track_system(const PipelineResult& pipeline, bool track1) {
  const SystemOutcome* best = nullptr;
  const char* metric = track1 ? "average_r" : "macro_f1";
  for (const auto& system : pipeline.systems) {
    if (!system.built || !system.dev.count(metric)) continue;
    if (system.name.find("-stack") != std::string::npos) continue;
    if (system.submitted) return &system;
    if (!best || system.dev.at(metric) > best->dev.at(metric)) best = &system;
  }
  return best;
}

void copy_predictions(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const char* name : {"predictions.tsv", "predictions.json"})
    fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing);
}

// OUT/stack-members/<system>: the system's dev/test predictions and the out-of-fold
// predictions of the held-out twins of its fine-tuned members on their held-out train rows.
std::optional<fs::path> transformer_stack_member(const StackedSystemsOptions& options,
                                                 const SystemOutcome& system,
                                                 const data::WassaSplit& train, bool track1) {
  std::vector<Member> twins;
  for (const auto& member : options.members) {
    const bool predicts_track =
        track1 ? std::find(member.config.tasks.begin(), member.config.tasks.end(),
                           model::Task::empathy) != member.config.tasks.end()
               : std::find(member.config.tasks.begin(), member.config.tasks.end(),
                           model::Task::emotion) != member.config.tasks.end();
    const bool same_arm =
        (system.name.find("-random-init") != std::string::npos) ==
        (member.name.find("-random-init") != std::string::npos);
    if (!predicts_track || !same_arm) continue;
    Member twin = member;
    // A new folder name for the writer-grouped held-out slice (it held out rows i % K == 0
    // before), so a run folder of the old kind is never reused for the new OOF rows.
    twin.name += "-holdout-writers";
    for (const auto& assignment :
         {fmt::format("holdout_every={}", options.holdout_every),
          fmt::format("seeds=[{}]", member.config.seeds.empty() ? 42 : member.config.seeds.front())}) {
      train::apply_override(twin.config, assignment);
      twin.overrides.push_back(assignment);
    }
    twin.run_dir = options.out_dir / "runs" / twin.name;
    twins.push_back(std::move(twin));
  }
  if (twins.empty()) return std::nullopt;
  spdlog::info("{}: training {} held-out twin(s) (writer w's essays held out when w mod {} == "
               "0) for its out-of-fold predictions",
               system.name, twins.size(), options.holdout_every);
  const auto outcomes = train_members(twins, options.data_dir, options.hooks);
  std::vector<predict::EssayRecord> held_out;
  const auto fold_of =
      data::writer_folds(train.rows, static_cast<std::size_t>(options.holdout_every));
  for (std::size_t i = 0; i < train.rows.size(); ++i) {
    if (fold_of[i] == 0)
      held_out.push_back({train.rows[i].id, train.rows[i].text, data::person_values(train.rows[i])});
  }
  std::vector<eval::Predictions> parts;
  std::vector<std::string> models;
  for (const auto& twin : twins) {
    if (!outcomes.at(twin.name).available() || !is_finished_run(twin.run_dir)) continue;
    const auto folder = io::resolve_model_folder(twin.run_dir);
    auto predictor = predict::load_predictor(folder, options.predictor);
    parts.push_back(predict::predict_essays(*predictor, held_out));
    models.push_back(folder.string());
  }
  if (parts.empty()) return std::nullopt;
  // Several twins (e.g. multi-task and vanilla): their mean, as the system averages them.
  const auto oof = parts.size() == 1 ? parts.front() : eval::ensemble(parts);
  const auto dir = options.out_dir / "stack-members" / system.name;
  copy_predictions(system.dev_dir, dir / "predictions" / "dev");
  copy_predictions(system.test_dir, dir / "predictions" / "test");
  fs::create_directories(dir / "oof");
  eval::write_predictions(dir / "oof" / "predictions.tsv", eval::keep_tasks(oof, track1, !track1));
  write_file_atomic(dir / "oof" / "oof.json",
                    json{{"split", "train"},
                         {"scheme", "held-out slice"},
                         {"assignment",
                          "grouped by writer: writers w with w mod holdout_every == 0"},
                         {"holdout_every", options.holdout_every},
                         {"rows", oof.size()},
                         {"models", models},
                         {"note",
                          "one seed trained without the held-out rows stands in for the "
                          "system's seed ensemble"}}
                            .dump(2) +
                        "\n");
  return dir;
}

}  // namespace

StackedSystemsResult build_stacked_systems(const StackedSystemsOptions& options,
                                           PipelineResult& pipeline) {
  StackedSystemsResult result;
  const auto train = data::load_wassa(options.data_dir, data::Split::train);
  const auto dev = data::load_wassa(options.data_dir, data::Split::dev);
  const auto test = data::load_wassa(options.data_dir, data::Split::test);
  const auto gold = predict::gold_standard(dev);

  std::map<std::string, fs::path> linear;
  for (const auto& spec : linear_specs()) {
    linear[spec.name] = ensure_linear(options, spec);
    ComparisonRow row;
    row.name = spec.name;
    row.status = spec.title;
    row.ours_dev = dev_scores(predict::member_predictions(linear[spec.name], dev, options.predictor), gold);
    result.rows.push_back(std::move(row));
  }

  struct Pick {
    std::string name;
    double dev = 0;
    fs::path test_dir;
  };
  for (const bool track1 : {true, false}) {
    const std::string track = track1 ? "track1" : "track2";
    const char* metric = track1 ? "average_r" : "macro_f1";
    const auto* system = track_system(pipeline, track1);
    std::optional<fs::path> transformer;
    if (system) {
      try {
        transformer = transformer_stack_member(options, *system, train, track1);
      } catch (const Error& e) {
        spdlog::warn("{}: no out-of-fold predictions for {} ({}); stacking linear members only",
                     track, system->name, e.what());
      }
    }
    std::optional<Pick> best;
    for (const auto& spec : stack_specs()) {
      if (!track1 && !spec.track2) continue;
      predict::EnsembleRequest request;
      request.method = predict::EnsembleMethod::stack;
      request.train = &train;
      request.predictor = options.predictor;
      request.members = {linear["linear-text"]};
      for (const auto& member : spec.members) request.members.push_back(linear[member]);
      if (transformer) request.members.push_back(*transformer);
      if (request.members.size() < 2) continue;  // one linear member alone is no stack
      const std::string name = track + spec.suffix;
      auto on_dev = predict::build_ensemble(request, dev, nullptr);
      auto on_test = predict::build_ensemble(request, test, nullptr);
      // One track per system, as the pipeline's systems.
      on_dev.predictions = eval::keep_tasks(on_dev.predictions, track1, !track1);
      on_test.predictions = eval::keep_tasks(on_test.predictions, track1, !track1);
      const auto dev_dir = options.out_dir / "systems" / "dev" / name;
      const auto test_dir = options.out_dir / "systems" / "test" / name;
      predict::write_ensemble_folder(dev_dir, on_dev, data::Split::dev);
      predict::write_ensemble_folder(test_dir, on_test, data::Split::test);
      ComparisonRow row;
      row.name = name;
      std::vector<std::string> names;
      for (const auto& member : request.members) names.push_back(predict::member_name(member));
      row.status = fmt::format("stack of {} (fitted on train out-of-fold predictions)",
                               fmt::join(names, " + "));
      row.ours_dev = dev_scores(on_dev.predictions, gold);
      spdlog::info("{}: dev {} {:.4f} ({})", name, metric, row.ours_dev.at(metric), row.status);
      if (!best || row.ours_dev.at(metric) > best->dev)
        best = Pick{name, row.ours_dev.at(metric), test_dir};
      result.rows.push_back(std::move(row));
    }
    // Replace the track's submission when the best stack beats it on dev.
    if (!best || (system && system->dev.at(metric) >= best->dev)) continue;
    for (auto& outcome : pipeline.systems) {
      const bool of_track = outcome.dev.count(metric) > 0;
      if (of_track && outcome.submitted) outcome.submitted = false;
    }
    result.submitted.push_back(best->name);
    spdlog::info("Track {}: submitting {} (dev {:.4f})", track1 ? "I" : "II", best->name, best->dev);
  }

  if (!result.submitted.empty() && pipeline.submission_dir) {
    // The submission from the chosen system of each track.
    std::optional<eval::Predictions> track1_test, track2_test;
    for (const auto& name : result.submitted) {
      auto p = eval::read_predictions(options.out_dir / "systems" / "test" / name / "predictions.tsv");
      (name.rfind("track1", 0) == 0 ? track1_test : track2_test) = std::move(p);
    }
    for (const auto& outcome : pipeline.systems) {
      if (!outcome.submitted) continue;
      auto p = eval::read_predictions(outcome.test_dir / "predictions.tsv");
      if (outcome.dev.count("average_r") && !track1_test) track1_test = p;
      if (outcome.dev.count("macro_f1") && !track2_test) track2_test = p;
    }
    write_submission(*pipeline.submission_dir, track1_test ? &*track1_test : nullptr,
                     track2_test ? &*track2_test : nullptr);
  }
  return result;
}

}  // namespace emotune::pipeline
