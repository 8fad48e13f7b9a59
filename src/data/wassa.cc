#include "data/wassa.h"

#include <array>
#include <initializer_list>
#include <limits>
#include <unordered_map>

#include <fmt/ranges.h>

#include "common/error.h"
#include "data/labels.h"
#include "data/person.h"
#include "io/tsv.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using io::TsvTable;

constexpr double kMinScore = 1.0;
constexpr double kMaxScore = 7.0;
// The organizers binarize at 4: *_bin = 1 iff score >= 4.
constexpr double kBinThreshold = 4.0;

constexpr std::array<std::string_view, 5> kDemographicColumns = {"gender", "education", "race",
                                                                 "age", "income"};
constexpr std::array<std::string_view, 5> kPersonalityColumns = {
    "personality_conscientiousness", "personality_openess", "personality_extraversion",
    "personality_agreeableness", "personality_stability"};
constexpr std::array<std::string_view, 4> kIriColumns = {
    "iri_perspective_taking", "iri_personal_distress", "iri_fantasy", "iri_empathatic_concern"};

// Columns that come as a group: all present (their indices), none (nullopt), or an Error
// naming the first missing one.
template <std::size_t N>
std::optional<std::array<std::size_t, N>> optional_columns(
    const TsvTable& table, const std::array<std::string_view, N>& names) {
  std::array<std::optional<std::size_t>, N> found;
  std::size_t present = 0;
  for (std::size_t i = 0; i < N; ++i) {
    found[i] = table.find_column(names[i]);
    if (found[i]) ++present;
  }
  if (present == 0) return std::nullopt;
  std::array<std::size_t, N> indices{};
  for (std::size_t i = 0; i < N; ++i) {
    if (!found[i]) {
      throw error_at(table.file, 1,
                     fmt::format("missing column '{}' (the header has some of {} but not all)",
                                 names[i], fmt::join(names, ", ")));
    }
    indices[i] = *found[i];
  }
  return indices;
}

double parse_score(const std::string& text, const fs::path& file, std::size_t line,
                   std::string_view column) {
  const double value = io::parse_double(text, file, line, column);
  if (value < kMinScore || value > kMaxScore) {
    throw error_at(
        file, line,
        fmt::format("{}: score {} is outside {}..{}", column, text, kMinScore, kMaxScore));
  }
  return value;
}

int parse_emotion(const std::string& text, const fs::path& file, std::size_t line) {
  if (auto index = find_emotion(text)) return *index;
  throw error_at(
      file, line,
      fmt::format("emotion: unknown label '{}' (expected one of {})", text, emotion_label_list()));
}

int parse_bin(const std::string& text, double score, const fs::path& file, std::size_t line,
              std::string_view column) {
  const auto value = io::parse_integer(text, file, line, column);
  if (value != 0 && value != 1) {
    throw error_at(file, line, fmt::format("{}: expected 0 or 1, found '{}'", column, text));
  }
  if ((score >= kBinThreshold) != (value == 1)) {
    throw error_at(file, line,
                   fmt::format("{} is {} but the score is {} (expected 1 iff score >= {})", column,
                               value, score, kBinThreshold));
  }
  return static_cast<int>(value);
}

int parse_int(const std::string& text, const fs::path& file, std::size_t line,
              std::string_view column) {
  const auto value = io::parse_integer(text, file, line, column);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    throw error_at(file, line, fmt::format("{}: {} is out of range", column, text));
  }
  return static_cast<int>(value);
}

Demographics parse_demographics(const std::vector<std::string>& fields,
                                const std::array<std::size_t, 5>& at, const fs::path& file,
                                std::size_t line) {
  Demographics d;
  d.gender = parse_int(fields[at[0]], file, line, kDemographicColumns[0]);
  d.education = parse_int(fields[at[1]], file, line, kDemographicColumns[1]);
  d.race = parse_int(fields[at[2]], file, line, kDemographicColumns[2]);
  d.age = parse_int(fields[at[3]], file, line, kDemographicColumns[3]);
  d.income = io::parse_integer(fields[at[4]], file, line, kDemographicColumns[4]);
  check_demographic_codes(d, file, line);
  return d;
}

Personality parse_personality(const std::vector<std::string>& fields,
                              const std::array<std::size_t, 5>& at, const fs::path& file,
                              std::size_t line) {
  Personality p;
  p.conscientiousness = io::parse_double(fields[at[0]], file, line, kPersonalityColumns[0]);
  p.openness = io::parse_double(fields[at[1]], file, line, kPersonalityColumns[1]);
  p.extraversion = io::parse_double(fields[at[2]], file, line, kPersonalityColumns[2]);
  p.agreeableness = io::parse_double(fields[at[3]], file, line, kPersonalityColumns[3]);
  p.stability = io::parse_double(fields[at[4]], file, line, kPersonalityColumns[4]);
  return p;
}

Iri parse_iri(const std::vector<std::string>& fields, const std::array<std::size_t, 4>& at,
              const fs::path& file, std::size_t line) {
  Iri iri;
  iri.perspective_taking = io::parse_double(fields[at[0]], file, line, kIriColumns[0]);
  iri.personal_distress = io::parse_double(fields[at[1]], file, line, kIriColumns[1]);
  iri.fantasy = io::parse_double(fields[at[2]], file, line, kIriColumns[2]);
  iri.empathic_concern = io::parse_double(fields[at[3]], file, line, kIriColumns[3]);
  return iri;
}

// The columns every WASSA features/train file has, plus the optional groups.
WassaSplit read_features(const fs::path& file, Split split, bool with_labels) {
  const TsvTable table = io::read_tsv(file);
  const std::size_t message_id = table.column("message_id");
  const std::size_t response_id = table.column("response_id");
  const std::size_t article_id = table.column("article_id");
  const std::size_t essay = table.column("essay");
  const auto demographics = optional_columns(table, kDemographicColumns);
  const auto personality = optional_columns(table, kPersonalityColumns);
  const auto iri = optional_columns(table, kIriColumns);

  std::optional<std::size_t> empathy, distress, emotion;
  std::optional<std::array<std::size_t, 2>> bins;
  if (with_labels) {
    empathy = table.column("empathy");
    distress = table.column("distress");
    emotion = table.column("emotion");
    bins = optional_columns(table, std::array<std::string_view, 2>{"empathy_bin", "distress_bin"});
  }

  WassaSplit out;
  out.split = split;
  out.file = file;
  out.rows.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    const auto& f = row.fields;
    WassaRecord record;
    record.line = row.line;
    record.id = f[message_id];
    record.response_id = f[response_id];
    if (record.id.empty()) throw error_at(file, row.line, "message_id is empty");
    record.article_id = parse_int(f[article_id], file, row.line, "article_id");
    record.text = f[essay];
    if (record.text.empty()) throw error_at(file, row.line, "essay is empty");
    if (with_labels) {
      record.empathy = parse_score(f[*empathy], file, row.line, "empathy");
      record.distress = parse_score(f[*distress], file, row.line, "distress");
      record.emotion = parse_emotion(f[*emotion], file, row.line);
      if (bins) {
        record.empathy_bin =
            parse_bin(f[(*bins)[0]], *record.empathy, file, row.line, "empathy_bin");
        record.distress_bin =
            parse_bin(f[(*bins)[1]], *record.distress, file, row.line, "distress_bin");
      }
    }
    if (demographics) record.demographics = parse_demographics(f, *demographics, file, row.line);
    if (personality) record.personality = parse_personality(f, *personality, file, row.line);
    if (iri) record.iri = parse_iri(f, *iri, file, row.line);
    out.rows.push_back(std::move(record));
  }
  if (out.rows.empty()) throw error_in(file, "no data rows after the header");
  return out;
}

// The 2022 test rows with the personality/IRI values of the 2021 copy, which SOURCES.md found
// identical in its first 9 fields; any disagreement is an Error, never a silent join.
WassaSplit merge_person_columns(WassaSplit split, const WassaSplit& with_person) {
  if (with_person.rows.size() != split.rows.size()) {
    throw error_in(with_person.file,
                   fmt::format("{} rows, but {} has {}: the person columns cannot be joined",
                               with_person.rows.size(), split.file.string(), split.rows.size()));
  }
  for (std::size_t i = 0; i < split.rows.size(); ++i) {
    auto& row = split.rows[i];
    const auto& other = with_person.rows[i];
    if (other.id != row.id || other.text != row.text) {
      throw error_at(with_person.file, other.line,
                     fmt::format("message_id {} (or its essay) differs from {} line {} ({}): the "
                                 "person columns cannot be joined",
                                 other.id, split.file.string(), row.line, row.id));
    }
    if (!other.personality || !other.iri) return split;  // nothing to add
    row.personality = other.personality;
    row.iri = other.iri;
  }
  split.person_file = with_person.file;
  return split;
}

}  // namespace

std::string_view split_name(Split split) {
  switch (split) {
    case Split::train:
      return "train";
    case Split::dev:
      return "dev";
    case Split::test:
      return "test";
  }
  return "?";
}

Split parse_split(std::string_view name) {
  if (name == "train") return Split::train;
  if (name == "dev") return Split::dev;
  if (name == "test") return Split::test;
  throw Error(fmt::format("unknown split '{}' (expected train, dev or test)", name));
}

WassaSplit read_wassa_train(const fs::path& file) {
  return read_features(file, Split::train, /*with_labels=*/true);
}

WassaSplit read_wassa_test(const fs::path& file) {
  return read_features(file, Split::test, /*with_labels=*/false);
}

WassaSplit read_wassa_dev(const fs::path& features_file, const fs::path& gold_file) {
  WassaSplit out = read_features(features_file, Split::dev, /*with_labels=*/false);
  out.gold_file = gold_file;

  io::TsvTable gold =
      io::read_tsv(gold_file, io::TsvOptions{.has_header = false, .field_count = std::nullopt});
  // The 2021 copy of the gold file starts with the header "empathy distress emotion".
  if (!gold.rows.empty() && !gold.rows.front().fields.empty() &&
      gold.rows.front().fields.front() == "empathy") {
    gold.rows.erase(gold.rows.begin());
  }
  if (gold.rows.empty()) throw error_in(gold_file, "no gold rows");
  const std::size_t width = gold.rows.front().fields.size();
  constexpr std::size_t kLabelsOnly = 3;
  constexpr std::size_t kWithTraits = 3 + kPersonalityColumns.size() + kIriColumns.size();
  if (width != kLabelsOnly && width != kWithTraits) {
    throw error_at(gold_file, gold.rows.front().line,
                   fmt::format("expected {} fields (empathy, distress, emotion) or {} (plus 5 "
                               "personality and 4 IRI values), found {}",
                               kLabelsOnly, kWithTraits, width));
  }
  // The gold file has no ids, so it is joined by row position and the counts must match;
  // the message points at the first row that has no partner.
  if (gold.rows.size() < out.rows.size()) {
    throw error_at(features_file, out.rows[gold.rows.size()].line,
                   fmt::format("no gold row for this row: {} has {} rows but the features have "
                               "{} data rows (the gold is joined by row position)",
                               gold_file.string(), gold.rows.size(), out.rows.size()));
  }
  if (gold.rows.size() > out.rows.size()) {
    throw error_at(gold_file, gold.rows[out.rows.size()].line,
                   fmt::format("gold row with no features row: {} has {} data rows but the gold "
                               "has {} rows (the gold is joined by row position)",
                               features_file.string(), out.rows.size(), gold.rows.size()));
  }
  if (width == kWithTraits) out.person_file = gold_file;
  constexpr std::array<std::size_t, 5> kPersonalityAt = {3, 4, 5, 6, 7};
  constexpr std::array<std::size_t, 4> kIriAt = {8, 9, 10, 11};
  for (std::size_t i = 0; i < gold.rows.size(); ++i) {
    const auto& g = gold.rows[i];
    auto& record = out.rows[i];
    record.gold_line = g.line;
    record.empathy = parse_score(g.fields[0], gold_file, g.line, "empathy (column 1)");
    record.distress = parse_score(g.fields[1], gold_file, g.line, "distress (column 2)");
    record.emotion = parse_emotion(g.fields[2], gold_file, g.line);
    if (width == kWithTraits) {
      record.personality = parse_personality(g.fields, kPersonalityAt, gold_file, g.line);
      record.iri = parse_iri(g.fields, kIriAt, gold_file, g.line);
    }
  }
  return out;
}

WassaSplit load_wassa(const fs::path& data_dir, Split split) {
  const fs::path dir = data_dir / "wassa2021";
  switch (split) {
    case Split::train:
      return read_wassa_train(dir / kWassaTrainFile);
    case Split::dev:
      return read_wassa_dev(dir / kWassaDevFeaturesFile, dir / kWassaDevGoldFile);
    case Split::test:
      if (!fs::exists(dir / kWassaTestFile) && fs::exists(dir / kWassaTestFile2021)) {
        return read_wassa_test(dir / kWassaTestFile2021);
      }
      if (fs::exists(dir / kWassaTestFile2021)) {
        return merge_person_columns(read_wassa_test(dir / kWassaTestFile),
                                    read_wassa_test(dir / kWassaTestFile2021));
      }
      return read_wassa_test(dir / kWassaTestFile);
  }
  throw Error("unknown split");
}

std::vector<std::size_t> writer_folds(const std::vector<WassaRecord>& rows, std::size_t k) {
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& row : rows) ids.push_back(row.response_id);
  return writer_folds(ids, k);
}

std::vector<std::size_t> writer_folds(const std::vector<std::string>& response_ids, std::size_t k) {
  if (k == 0) throw Error("writer_folds: k must be at least 1");
  std::unordered_map<std::string, std::size_t> writer_index;
  std::vector<std::size_t> folds;
  folds.reserve(response_ids.size());
  std::size_t writers = 0;
  for (const auto& id : response_ids) {
    std::size_t writer = writers;
    if (id.empty()) {
      ++writers;
    } else {
      const auto [it, inserted] = writer_index.try_emplace(id, writers);
      if (inserted) ++writers;
      writer = it->second;
    }
    folds.push_back(writer % k);
  }
  return folds;
}

}  // namespace emotune::data
