#include "data/goemotions.h"

#include <algorithm>
#include <charconv>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "io/tsv.h"
#include "io/utf8.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNeutral = "neutral";

std::vector<std::string> read_label_lines(const fs::path& file) {
  if (!fs::exists(file)) throw error_in(file, "no such file");
  const std::string content = read_file(file);
  if (auto bad = io::first_invalid_utf8(content)) {
    throw error_at(file, 1 + std::count(content.begin(), content.begin() + *bad, '\n'),
                   "invalid UTF-8");
  }
  std::vector<std::string> labels;
  std::size_t start = 0;
  std::size_t line = 0;
  while (start < content.size()) {
    ++line;
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string label = content.substr(start, end - start);
    start = end + 1;
    if (!label.empty() && label.back() == '\r') label.pop_back();
    if (label.empty()) throw error_at(file, line, "empty label name");
    if (std::find(labels.begin(), labels.end(), label) != labels.end()) {
      throw error_at(file, line, fmt::format("duplicate label '{}'", label));
    }
    labels.push_back(std::move(label));
  }
  if (labels.empty()) throw error_in(file, "no labels");
  return labels;
}

std::vector<int> parse_label_ids(std::string_view text, std::size_t label_count,
                                 const fs::path& file, std::size_t line) {
  std::vector<int> ids;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view part = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int id = -1;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), id);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || id < 0 ||
        static_cast<std::size_t>(id) >= label_count) {
      throw error_at(file, line,
                     fmt::format("labels: expected comma-separated label ids 0..{}, found '{}'",
                                 label_count - 1, text));
    }
    ids.push_back(id);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ids;
}

}  // namespace

std::string_view multi_label_policy_name(MultiLabelPolicy policy) {
  switch (policy) {
    case MultiLabelPolicy::skip:
      return "skip";
    case MultiLabelPolicy::first:
      return "first";
    case MultiLabelPolicy::error:
      return "error";
  }
  return "?";
}

MultiLabelPolicy parse_multi_label_policy(std::string_view name) {
  if (name == "skip") return MultiLabelPolicy::skip;
  if (name == "first") return MultiLabelPolicy::first;
  if (name == "error") return MultiLabelPolicy::error;
  throw Error(fmt::format("unknown multi-label policy '{}' (expected skip, first or error)", name));
}

GoEmotionsTaxonomy load_goemotions_taxonomy(const fs::path& goemotions_dir) {
  GoEmotionsTaxonomy taxonomy;
  taxonomy.labels = read_label_lines(goemotions_dir / "emotions.txt");
  taxonomy.ekman_of_label.assign(taxonomy.labels.size(), -1);

  const fs::path mapping_file = goemotions_dir / "ekman_mapping.json";
  if (!fs::exists(mapping_file)) throw error_in(mapping_file, "no such file");
  nlohmann::json mapping;
  try {
    mapping = nlohmann::json::parse(read_file(mapping_file));
  } catch (const nlohmann::json::exception& e) {
    throw error_in(mapping_file, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!mapping.is_object()) {
    throw error_in(mapping_file,
                   "expected an object {\"ekman class\": [\"goemotions label\", ...]}");
  }
  for (const auto& [ekman_name, members] : mapping.items()) {
    const auto ekman = find_emotion(ekman_name);
    if (!ekman || ekman_name == kNeutral) {
      throw error_in(mapping_file, fmt::format("key '{}': not an Ekman class (expected one of {} "
                                               "except neutral)",
                                               ekman_name, emotion_label_list()));
    }
    if (!members.is_array()) {
      throw error_in(mapping_file,
                     fmt::format("key '{}': expected a list of label names", ekman_name));
    }
    for (const auto& member : members) {
      if (!member.is_string()) {
        throw error_in(mapping_file,
                       fmt::format("key '{}': {} is not a label name", ekman_name, member.dump()));
      }
      const auto name = member.get<std::string>();
      const auto it = std::find(taxonomy.labels.begin(), taxonomy.labels.end(), name);
      if (it == taxonomy.labels.end()) {
        throw error_in(mapping_file, fmt::format("key '{}': label '{}' is not in emotions.txt",
                                                 ekman_name, name));
      }
      auto& slot = taxonomy.ekman_of_label[static_cast<std::size_t>(it - taxonomy.labels.begin())];
      if (slot != -1 && slot != *ekman) {
        throw error_in(mapping_file, fmt::format("label '{}' is listed under both '{}' and '{}'",
                                                 name, emotion_name(slot), ekman_name));
      }
      slot = *ekman;
    }
  }
  for (std::size_t i = 0; i < taxonomy.labels.size(); ++i) {
    if (taxonomy.ekman_of_label[i] != -1) continue;
    if (taxonomy.labels[i] == kNeutral) {
      taxonomy.ekman_of_label[i] = emotion_index(kNeutral);
      continue;
    }
    throw error_in(mapping_file, fmt::format("label '{}' of emotions.txt maps to no Ekman class",
                                             taxonomy.labels[i]));
  }
  return taxonomy;
}

GoEmotionsSplit read_goemotions(const fs::path& file, Split split,
                                const GoEmotionsTaxonomy& taxonomy, MultiLabelPolicy policy) {
  constexpr std::size_t kFields = 3;  // text, label ids, comment id
  const io::TsvTable table =
      io::read_tsv(file, io::TsvOptions{.has_header = false, .field_count = kFields});
  GoEmotionsSplit out;
  out.split = split;
  out.file = file;
  out.total_rows = table.rows.size();
  out.rows.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    GoEmotionsComment comment;
    comment.line = row.line;
    comment.text = row.fields[0];
    comment.labels = parse_label_ids(row.fields[1], taxonomy.labels.size(), file, row.line);
    comment.id = row.fields[2];
    if (comment.id.empty()) throw error_at(file, row.line, "comment id is empty");

    std::vector<int> classes;
    for (int label : comment.labels) {
      const int ekman = taxonomy.ekman_of_label[static_cast<std::size_t>(label)];
      if (std::find(classes.begin(), classes.end(), ekman) == classes.end()) {
        classes.push_back(ekman);
      }
    }
    if (classes.size() > 1) {
      ++out.multi_class_rows;
      if (policy == MultiLabelPolicy::error) {
        std::vector<std::string_view> names;
        for (int c : classes) names.push_back(emotion_name(c));
        throw error_at(file, row.line,
                       fmt::format("labels {} map to several Ekman classes ({}); use the skip or "
                                   "first policy to accept such rows",
                                   row.fields[1], fmt::join(names, ", ")));
      }
      if (policy == MultiLabelPolicy::skip) {
        out.skipped_lines.push_back(row.line);
        continue;
      }
    }
    comment.emotion = classes.front();
    ++out.class_counts[static_cast<std::size_t>(comment.emotion)];
    out.rows.push_back(std::move(comment));
  }
  return out;
}

GoEmotionsSplit load_goemotions(const fs::path& data_dir, Split split, MultiLabelPolicy policy) {
  const fs::path dir = data_dir / "goemotions";
  const auto taxonomy = load_goemotions_taxonomy(dir);
  return read_goemotions(dir / fmt::format("{}.tsv", split_name(split)), split, taxonomy, policy);
}

}  // namespace emotune::data
