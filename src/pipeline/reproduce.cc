#include "pipeline/reproduce.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;

Selection select(std::vector<Member> members, const PipelineSpec& spec,
                 const std::vector<std::string>& only) {
  Selection selection;
  if (only.empty()) {
    selection.members = std::move(members);
    return selection;
  }
  std::set<std::string> wanted_members;
  for (const auto& name : only) {
    const bool is_member = std::any_of(members.begin(), members.end(),
                                       [&](const Member& m) { return m.name == name; });
    const auto system = std::find_if(spec.systems.begin(), spec.systems.end(),
                                     [&](const SystemSpec& s) { return s.name == name; });
    if (is_member) {
      wanted_members.insert(name);
    } else if (system != spec.systems.end()) {
      if (std::find(selection.systems.begin(), selection.systems.end(), name) ==
          selection.systems.end()) {
        selection.systems.push_back(name);
      }
      for (const auto& member : system->member_names()) wanted_members.insert(member);
    } else {
      std::vector<std::string> valid;
      for (const auto& member : members) valid.push_back(member.name);
      for (const auto& s : spec.systems) valid.push_back(s.name);
      throw Error(fmt::format("--only {}: no such member or ensemble (expected one of {})", name,
                              fmt::join(valid, ", ")));
    }
  }
  // A member named only by a system but absent from the configs is reported when the system is
  // built; a member named directly selects the systems using it.
  for (auto& member : members) {
    if (wanted_members.count(member.name)) selection.members.push_back(std::move(member));
  }
  const bool only_systems = std::all_of(only.begin(), only.end(), [&](const std::string& name) {
    return std::find(selection.systems.begin(), selection.systems.end(), name) !=
           selection.systems.end();
  });
  if (!only_systems) {
    for (const auto& system : spec.systems) {
      const auto names = system.member_names();
      const bool uses_named = std::any_of(only.begin(), only.end(), [&](const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
      });
      if (uses_named && std::find(selection.systems.begin(), selection.systems.end(),
                                  system.name) == selection.systems.end()) {
        selection.systems.push_back(system.name);
      }
    }
  }
  return selection;
}

PipelineResult reproduce(const ReproduceOptions& options) {
  if (options.models_root.empty()) {
    throw Error(
        "reproduce: --models-root DIR is required (the folder holding the downloaded "
        "checkpoints, see docs/reproduce.md)");
  }
  if (!fs::is_directory(options.models_root)) {
    throw error_in(options.models_root, "the models root is not a folder");
  }
  std::vector<std::string> overrides{"models_root=" +
                                     fs::absolute(options.models_root).lexically_normal().string()};
  if (!options.seeds.empty()) {
    overrides.push_back(fmt::format("seeds=[{}]", fmt::join(options.seeds, ", ")));
  }
  if (!options.device.empty()) overrides.push_back("device=" + options.device);
  overrides.insert(overrides.end(), options.overrides.begin(), options.overrides.end());

  auto members = load_members(options.configs_dir, overrides, options.out_dir / "runs");
  const auto spec = load_pipeline_spec(options.systems_file);
  for (const auto& system : spec.systems) {
    for (const auto& name : system.member_names()) {
      if (std::none_of(members.begin(), members.end(),
                       [&](const Member& m) { return m.name == name; })) {
        throw error_in(options.systems_file,
                       fmt::format("ensemble '{}' names member '{}', which has no config in {}",
                                   system.name, name, options.configs_dir.string()));
      }
    }
  }
  auto selection = select(std::move(members), spec, options.only);
  spdlog::info("reproduce: {} member(s), {} into {}", selection.members.size(),
               selection.systems.empty()
                   ? std::string("the systems using them")
                   : fmt::format("systems {}", fmt::join(selection.systems, ", ")),
               options.out_dir.string());

  return run_pipeline(selection.members, spec, options, selection.systems);
}

}  // namespace emotune::pipeline
