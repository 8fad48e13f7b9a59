#include "pipeline/systems_file.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "common/error.h"
#include "train/toml_file.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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

}  // namespace

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

}  // namespace emotune::pipeline
