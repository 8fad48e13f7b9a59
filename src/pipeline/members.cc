#include "pipeline/members.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/files.h"
#include "io/run_files.h"

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

}  // namespace

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

}  // namespace emotune::pipeline
