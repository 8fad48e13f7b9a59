#include "pipeline/pipeline.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "predict/prediction_run.h"
#include "report/run_report.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string join_names(const std::vector<std::string>& names) {
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

// Finds a member's finished run: the pipeline's own members by their outcome, any other
// member named by a system in OUT/runs/<name>.
MemberLocator member_locator(std::span<const Member> members,
                             const std::map<std::string, MemberOutcome>& outcomes,
                             const fs::path& runs_dir) {
  return [members, &outcomes, runs_dir](const std::string& name,
                                        std::string& why_not) -> std::optional<fs::path> {
    const auto found = outcomes.find(name);
    if (found != outcomes.end() && !found->second.available()) {
      why_not = found->second.detail;
      return std::nullopt;
    }
    auto run = runs_dir / name;
    for (const auto& member : members)
      if (member.name == name) run = member.run_dir;
    if (!is_finished_run(run)) {
      why_not = found == outcomes.end()
                    ? fmt::format("not selected and no finished run in {}", run.string())
                    : fmt::format("{} holds no finished run", run.string());
      return std::nullopt;
    }
    return run;
  };
}

// The systems named in `systems`, or when none is named, those with one of `members`.
std::vector<const SystemSpec*> chosen_systems(const PipelineSpec& spec,
                                              std::span<const Member> members,
                                              std::span<const std::string> systems) {
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
  return chosen;
}

// Steps 3-4 for one system on dev and test: its outcome, and its test predictions when built.
std::pair<SystemOutcome, std::optional<eval::Predictions>> build_system(
    const SystemSpec& system, const MemberLocator& locate, const data::WassaSplit& dev,
    const data::WassaSplit& test, const eval::GoldStandard& gold, const PipelineOptions& options) {
  SystemOutcome outcome;
  outcome.name = system.name;
  std::string why_not;
  auto on_dev = predict_system(system, locate, dev, options.predictor, why_not);
  if (!on_dev) {
    outcome.detail = "skipped: " + why_not;
    spdlog::warn("{}: {}", system.name, outcome.detail);
    return {outcome, std::nullopt};
  }
  // The test split has the same members; its notes would repeat these.
  for (const auto& note : on_dev->notes) spdlog::warn("{}", note);
  auto on_test = predict_system(system, locate, test, options.predictor, why_not);
  if (!on_test) throw Error(fmt::format("{}: {} on the test split", system.name, why_not));
  outcome.built = true;
  // The folder name is the system's, so the report and `emotune ensemble` show that name.
  outcome.dev_dir = options.out_dir / "systems" / "dev" / system.name;
  outcome.test_dir = options.out_dir / "systems" / "test" / system.name;
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
  spdlog::info("{}: {}", system.name, outcome.detail);
  return {outcome, std::move(on_test->predictions)};
}

// Per track, the submitted candidate with the best dev score (index into the outcomes) and its
// test predictions; the first one wins a tie.
struct Candidate {
  std::size_t outcome;
  double dev_score;
  eval::Predictions test;
};

void consider(std::optional<Candidate>& pick, const char* score, std::size_t index,
              const SystemOutcome& outcome, const eval::Predictions& test) {
  const auto found = outcome.dev.find(score);
  const double value = found == outcome.dev.end() ? -2.0 : found->second;
  if (pick && pick->dev_score >= value) return;
  pick = Candidate{index, value, test};
}

// Step 5: the submission of the picked systems, each marked submitted.
std::optional<fs::path> submit(std::optional<Candidate> track1_pick,
                               std::optional<Candidate> track2_pick,
                               std::vector<SystemOutcome>& systems, const fs::path& out_dir) {
  std::optional<eval::Predictions> track1_test, track2_test;
  for (auto [pick, test, track] : {std::tuple{&track1_pick, &track1_test, "I"},
                                   std::tuple{&track2_pick, &track2_test, "II"}}) {
    if (!*pick) continue;
    auto& outcome = systems[(*pick)->outcome];
    outcome.submitted = true;
    *test = std::move((*pick)->test);
    spdlog::info("Track {}: submitting {} (dev {:.4f})", track, outcome.name, (*pick)->dev_score);
  }
  if (!track1_test && !track2_test) {
    spdlog::warn("no submission: no system marked submit was built");
    return std::nullopt;
  }
  const auto dir = out_dir / "submission";
  write_submission(dir, track1_test ? &*track1_test : nullptr,
                   track2_test ? &*track2_test : nullptr);
  spdlog::info("submission ({}{}{}) -> {}", track1_test ? "Track I" : "",
               track1_test && track2_test ? " + " : "", track2_test ? "Track II" : "",
               (dir / "predictions.zip").string());
  return dir;
}

// Step 7's rows: every member's dev scores, then every system's.
std::vector<ComparisonRow> comparison_rows(std::span<const Member> members,
                                           const std::map<std::string, MemberOutcome>& outcomes,
                                           const PipelineSpec& spec,
                                           std::span<const SystemOutcome> systems,
                                           const data::WassaSplit& dev,
                                           const eval::GoldStandard& gold,
                                           const PipelineOptions& options) {
  std::vector<ComparisonRow> rows;
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
    rows.push_back(std::move(row));
  }
  for (const auto& outcome : systems) {
    const auto& system = *std::find_if(spec.systems.begin(), spec.systems.end(),
                                       [&](const auto& s) { return s.name == outcome.name; });
    ComparisonRow row;
    row.name = outcome.name;
    row.status =
        outcome.built ? (outcome.submitted ? "built, submitted" : "built") : outcome.detail;
    row.ours_dev = outcome.dev;
    row.paper_dev = system.paper_dev;
    row.paper_test = system.paper_test;
    rows.push_back(std::move(row));
  }
  return rows;
}

// Step 6: the report over the runs it can read (both regression tasks or none) and the built
// systems; nullopt when there is nothing to show.
std::optional<fs::path> write_pipeline_report(std::span<const Member> members,
                                              const std::map<std::string, MemberOutcome>& outcomes,
                                              std::span<const SystemOutcome> systems,
                                              const PipelineOptions& options) {
  report::ReportRequest request;
  request.data_dir = options.data_dir;
  request.out_html = options.out_dir / "report" / "report.html";
  request.predictor = options.predictor;
  std::vector<std::string> left_out;
  for (const auto& member : members) {
    if (!outcomes.at(member.name).available() || !is_finished_run(member.run_dir)) continue;
    const auto tasks = model_tasks(member.run_dir);
    const auto has = [&](model::Task task) {
      return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
    };
    if (has(model::Task::empathy) != has(model::Task::distress)) {
      left_out.push_back(member.name);
      continue;
    }
    request.members.push_back(member.run_dir);
  }
  for (const auto& outcome : systems)
    if (outcome.built) request.members.push_back(outcome.dev_dir);
  if (!left_out.empty()) {
    spdlog::info(
        "report: {} predict(s) a single regression task, which the report's figures "
        "do not show; see the comparison table",
        join_names(left_out));
  }
  if (request.members.empty()) {
    spdlog::warn("no report: no trained member or built system");
    return std::nullopt;
  }
  report::write_report(request);
  spdlog::info("report -> {}", request.out_html.string());
  return request.out_html;
}

// OUT/results.md and OUT/results.json.
void write_results(const fs::path& out_dir, std::span<const ComparisonRow> comparison) {
  fs::create_directories(out_dir);
  write_file_atomic(out_dir / "results.md", format_comparison_markdown(comparison));
  json rows = json::array();
  for (const auto& row : comparison) {
    rows.push_back({{"name", row.name},
                    {"status", row.status},
                    {"ours_dev", row.ours_dev},
                    {"paper_dev", row.paper_dev},
                    {"paper_test", row.paper_test}});
  }
  write_json(out_dir / "results.json", json{{"rows", rows}});
}

}  // namespace

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
  for (const auto& member : members) {
    const auto found = outcomes.find(member.name);
    if (found == outcomes.end())
      throw Error(fmt::format("pipeline: no training outcome for member {}", member.name));
    result.members.emplace_back(member.name, found->second);
  }
  const auto locate = member_locator(members, outcomes, options.out_dir / "runs");

  // 2-4. Systems on dev and test.
  const auto dev = data::load_wassa(options.data_dir, data::Split::dev);
  const auto test = data::load_wassa(options.data_dir, data::Split::test);
  const auto gold = predict::gold_standard(dev);
  std::optional<Candidate> track1_pick, track2_pick;
  for (const auto* system : chosen_systems(spec, members, systems)) {
    auto [outcome, test_predictions] = build_system(*system, locate, dev, test, gold, options);
    result.systems.push_back(std::move(outcome));
    if (!test_predictions || !system->submit) continue;
    const auto index = result.systems.size() - 1;
    if (test_predictions->has_regression)
      consider(track1_pick, "average_r", index, result.systems[index], *test_predictions);
    if (test_predictions->has_emotion)
      consider(track2_pick, "macro_f1", index, result.systems[index], *test_predictions);
  }

  // 5. Submission.
  result.submission_dir = submit(std::move(track1_pick), std::move(track2_pick), result.systems,
                                 options.out_dir);
  // 7 (scores first, the report reuses the cached predictions).
  result.comparison =
      comparison_rows(members, outcomes, spec, result.systems, dev, gold, options);
  // 6. Report.
  if (options.write_report)
    result.report_html = write_pipeline_report(members, outcomes, result.systems, options);
  write_results(options.out_dir, result.comparison);
  return result;
}

}  // namespace emotune::pipeline
