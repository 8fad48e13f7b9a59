#include "eval/submission.h"

#include <zip.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <memory>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "eval/metrics.h"

namespace emotune::eval {
namespace {

namespace fs = std::filesystem;

struct Line {
  std::size_t number = 0;  // 1-based
  std::vector<std::string_view> fields;
};

// Splits a header-less TSV into lines and fields. Like the official script, trailing
// whitespace (CR, spaces, tabs) is stripped from each line; unlike it, an empty line is an
// error instead of a crash, so a stray blank line cannot shift or drop rows unnoticed.
std::vector<Line> split_tsv(const fs::path& path, std::string_view text) {
  if (text.empty()) throw error_in(path, "empty file (expected one row per essay)");
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    const std::size_t number = lines.size() + 1;
    if (line.empty()) throw error_at(path, number, "empty line (expected a row of values)");
    Line parsed{number, {}};
    std::size_t field_start = 0;
    while (true) {
      const std::size_t tab = line.find('\t', field_start);
      parsed.fields.push_back(line.substr(
          field_start, tab == std::string_view::npos ? std::string_view::npos : tab - field_start));
      if (tab == std::string_view::npos) break;
      field_start = tab + 1;
    }
    lines.push_back(std::move(parsed));
    start = end + 1;
  }
  return lines;
}

double parse_number(const fs::path& path, std::size_t line, std::string_view field,
                    std::string_view column) {
  std::string_view text = field;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    throw error_at(path, line,
                   fmt::format("{}: expected a finite number, got '{}'", column, field));
  }
  return value;
}

int parse_official_label(const fs::path& path, std::size_t line, std::string_view field) {
  if (const auto id = emotion_index(field)) return *id;
  throw error_at(path, line,
                 fmt::format("unknown emotion label '{}' (expected one of: {})", field,
                             fmt::join(kEmotionLabels, ", ")));
}

void expect_columns(const fs::path& path, const Line& line, std::size_t expected, bool at_least,
                    std::string_view what) {
  const std::size_t got = line.fields.size();
  if (got == expected || (at_least && got > expected)) return;
  throw error_at(
      path, line.number,
      fmt::format("expected {}{} tab-separated column{} ({}), got {}", at_least ? "at least " : "",
                  expected, expected == 1 ? "" : "s", what, got));
}

}  // namespace

GoldStandard read_gold_standard(const fs::path& path) {
  const std::string text = read_file(path);
  GoldStandard gold;
  for (const auto& line : split_tsv(path, text)) {
    expect_columns(path, line, 3, true, "empathy, distress, emotion");
    gold.empathy.push_back(parse_number(path, line.number, line.fields[0], "empathy"));
    gold.distress.push_back(parse_number(path, line.number, line.fields[1], "distress"));
    gold.emotion.push_back(parse_official_label(path, line.number, line.fields[2]));
  }
  return gold;
}

EmpathyPredictions read_emp_predictions(const fs::path& path) {
  return parse_emp_predictions(path.string(), read_file(path));
}

std::vector<int> read_emo_predictions(const fs::path& path) {
  return parse_emo_predictions(path.string(), read_file(path));
}

EmpathyPredictions parse_emp_predictions(const std::string& source, std::string_view text) {
  const fs::path path(source);
  EmpathyPredictions predictions;
  // Exactly two columns: the script would silently score the first two of more (e.g. an id
  // column and empathy), which is never what was meant.
  for (const auto& line : split_tsv(path, text)) {
    expect_columns(path, line, 2, false, "empathy, distress");
    predictions.empathy.push_back(parse_number(path, line.number, line.fields[0], "empathy"));
    predictions.distress.push_back(parse_number(path, line.number, line.fields[1], "distress"));
  }
  return predictions;
}

std::vector<int> parse_emo_predictions(const std::string& source, std::string_view text) {
  const fs::path path(source);
  std::vector<int> emotions;
  for (const auto& line : split_tsv(path, text)) {
    expect_columns(path, line, 1, false, "emotion label");
    emotions.push_back(parse_official_label(path, line.number, line.fields[0]));
  }
  return emotions;
}

std::string emp_predictions_text(const EmpathyPredictions& predictions) {
  if (predictions.empathy.size() != predictions.distress.size()) {
    throw Error(fmt::format("empathy predictions: {} empathy values but {} distress values",
                            predictions.empathy.size(), predictions.distress.size()));
  }
  std::string out;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    out += python_float_repr(predictions.empathy[i]) + "\t" +
           python_float_repr(predictions.distress[i]) + "\n";
  }
  return out;
}

std::string emo_predictions_text(std::span<const int> emotions) {
  std::string out;
  for (std::size_t i = 0; i < emotions.size(); ++i) {
    const int id = emotions[i];
    if (id < 0 || id >= static_cast<int>(kNumEmotions)) {
      throw Error(fmt::format("emotion predictions: row {}: class id {} is not in 0..{}", i + 1, id,
                              kNumEmotions - 1));
    }
    out += std::string(kEmotionLabels[static_cast<std::size_t>(id)]) + "\n";
  }
  return out;
}

void write_emp_predictions(const fs::path& path, const EmpathyPredictions& predictions) {
  write_file_atomic(path, emp_predictions_text(predictions));
}

void write_emo_predictions(const fs::path& path, std::span<const int> emotions) {
  write_file_atomic(path, emo_predictions_text(emotions));
}

namespace {

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipCloser>;

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

ZipHandle open_zip(const fs::path& path, int flags) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), flags, &code);
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw error_in(path, "cannot open zip archive: " + message);
  }
  return ZipHandle(archive);
}

}  // namespace

void write_submission_zip(const fs::path& path, const EmpathyPredictions* empathy,
                          std::span<const int> emotions) {
  if (empathy == nullptr && emotions.empty()) {
    throw error_in(path, "a submission needs empathy/distress or emotion predictions");
  }
  // The buffers must outlive zip_close, which is when libzip reads them.
  std::vector<std::pair<std::string, std::string>> entries;
  if (empathy != nullptr)
    entries.emplace_back("predictions_EMP.tsv", emp_predictions_text(*empathy));
  if (!emotions.empty())
    entries.emplace_back("predictions_EMO.tsv", emo_predictions_text(emotions));

  ZipHandle archive = open_zip(path, ZIP_CREATE | ZIP_TRUNCATE);
  // 2021-01-01 00:00 UTC, so the archive's bytes depend only on the predictions.
  constexpr std::time_t kFixedTime = 1609459200;
  for (const auto& [name, content] : entries) {
    zip_source_t* source = zip_source_buffer(archive.get(), content.data(), content.size(), 0);
    if (source == nullptr) throw error_in(path, std::string("zip: ") + zip_strerror(archive.get()));
    const zip_int64_t index =
        zip_file_add(archive.get(), name.c_str(), source, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw error_in(path, std::string("zip: ") + zip_strerror(archive.get()));
    }
    zip_file_set_mtime(archive.get(), static_cast<zip_uint64_t>(index), kFixedTime, 0);
  }
  if (zip_close(archive.get()) != 0) {
    throw error_in(path, std::string("cannot write zip archive: ") + zip_strerror(archive.get()));
  }
  archive.release();  // zip_close freed it
}

std::map<std::string, std::string> read_zip_entries(const fs::path& path) {
  ZipHandle archive = open_zip(path, ZIP_RDONLY);
  std::map<std::string, std::string> entries;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0) {
      throw error_in(path, std::string("zip: ") + zip_strerror(archive.get()));
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0));
    if (!file) throw error_in(path, std::string("zip: ") + zip_strerror(archive.get()));
    std::string content(static_cast<std::size_t>(stat.size), '\0');
    const zip_int64_t read = zip_fread(file.get(), content.data(), stat.size);
    if (read < 0 || static_cast<zip_uint64_t>(read) != stat.size) {
      throw error_in(path, fmt::format("zip: cannot read entry '{}'", stat.name));
    }
    entries.emplace(stat.name, std::move(content));
  }
  return entries;
}

SubmissionArchive read_submission_zip(const fs::path& path) {
  const auto entries = read_zip_entries(path);
  SubmissionArchive archive;
  // CodaLab reads the two files from the archive root; a file in a subfolder is not scored.
  if (const auto found = entries.find("predictions_EMP.tsv"); found != entries.end()) {
    archive.empathy = parse_emp_predictions(path.string() + ":predictions_EMP.tsv", found->second);
  }
  if (const auto found = entries.find("predictions_EMO.tsv"); found != entries.end()) {
    archive.emotions = parse_emo_predictions(path.string() + ":predictions_EMO.tsv", found->second);
  }
  if (!archive.empathy && !archive.emotions) {
    std::vector<std::string> names;
    for (const auto& [name, content] : entries) names.push_back(name);
    throw error_in(
        path, fmt::format("neither predictions_EMP.tsv nor predictions_EMO.tsv at the "
                          "archive root (it holds: {})",
                          names.empty() ? "nothing" : fmt::format("{}", fmt::join(names, ", "))));
  }
  return archive;
}

void validate(const Predictions& p) {
  const std::size_t rows = p.ids.size();
  auto fail = [](const std::string& what) { throw Error("predictions: " + what); };
  if (!p.has_regression && !p.has_emotion) fail("neither empathy/distress nor emotion columns");
  if (p.has_regression && !p.empathy_column && !p.distress_column) {
    fail("has_regression without an empathy or a distress column");
  }
  const std::size_t empathy_rows = p.has_empathy() ? rows : 0;
  const std::size_t distress_rows = p.has_distress() ? rows : 0;
  if (p.empathy.size() != empathy_rows || p.distress.size() != distress_rows) {
    fail(fmt::format("{} ids but {} empathy and {} distress values (expected {} and {})", rows,
                     p.empathy.size(), p.distress.size(), empathy_rows, distress_rows));
  }
  if (p.has_emotion) {
    if (p.labels.empty()) fail("emotion predictions without labels");
    if (p.emotion.size() != rows || p.probabilities.size() != rows) {
      fail(fmt::format("{} ids but {} emotions and {} probability rows", rows, p.emotion.size(),
                       p.probabilities.size()));
    }
    for (std::size_t i = 0; i < rows; ++i) {
      if (p.emotion[i] < 0 || p.emotion[i] >= static_cast<int>(p.labels.size())) {
        fail(fmt::format("row {}: emotion index {} is not a label index", i + 1, p.emotion[i]));
      }
      if (p.probabilities[i].size() != p.labels.size()) {
        fail(fmt::format("row {}: {} probabilities for {} labels", i + 1, p.probabilities[i].size(),
                         p.labels.size()));
      }
    }
  } else if (!p.emotion.empty() || !p.probabilities.empty()) {
    fail("emotion values without has_emotion");
  }
}

std::string predictions_text(const Predictions& p) {
  validate(p);
  std::string out = "id";
  if (p.has_empathy()) out += "\tempathy";
  if (p.has_distress()) out += "\tdistress";
  if (p.has_emotion) {
    out += "\temotion";
    for (const auto& label : p.labels) out += "\tp_" + label;
  }
  out += "\n";
  for (std::size_t i = 0; i < p.size(); ++i) {
    out += p.ids[i];
    if (p.has_empathy()) out += "\t" + python_float_repr(p.empathy[i]);
    if (p.has_distress()) out += "\t" + python_float_repr(p.distress[i]);
    if (p.has_emotion) {
      out += "\t" + p.labels[static_cast<std::size_t>(p.emotion[i])];
      for (double probability : p.probabilities[i]) out += "\t" + python_float_repr(probability);
    }
    out += "\n";
  }
  return out;
}

void write_predictions(const fs::path& path, const Predictions& predictions) {
  write_file_atomic(path, predictions_text(predictions));
}

Predictions read_predictions(const fs::path& path) {
  const std::string text = read_file(path);
  const auto lines = split_tsv(path, text);
  const auto& header = lines.front().fields;
  const std::string expected =
      "id, then empathy and/or distress and/or emotion and p_<label> columns";
  Predictions p;
  std::size_t column = 0;
  if (header[column] != "id") {
    throw error_at(path, 1,
                   fmt::format("header: column 1 is '{}', expected {}", header[0], expected));
  }
  ++column;
  // empathy and distress, or one of them (a vanilla single-target model).
  p.empathy_column = column < header.size() && header[column] == "empathy";
  if (p.empathy_column) ++column;
  p.distress_column = column < header.size() && header[column] == "distress";
  if (p.distress_column) ++column;
  p.has_regression = p.empathy_column || p.distress_column;
  if (!p.has_regression) p.empathy_column = p.distress_column = true;
  if (column < header.size() && header[column] == "emotion") {
    p.has_emotion = true;
    ++column;
    std::set<std::string_view> seen;
    while (column < header.size() && header[column].starts_with("p_")) {
      const std::string_view label = header[column].substr(2);
      if (label.empty() || !seen.insert(label).second) {
        throw error_at(
            path, 1,
            fmt::format("header: column {} '{}' is empty or repeated", column + 1, header[column]));
      }
      p.labels.emplace_back(label);
      ++column;
    }
    if (p.labels.empty()) {
      throw error_at(path, 1, "header: 'emotion' must be followed by p_<label> columns");
    }
  }
  if (column != header.size() || (!p.has_regression && !p.has_emotion)) {
    throw error_at(path, 1,
                   fmt::format("header: unexpected column {} '{}', expected {}", column + 1,
                               column < header.size() ? header[column] : "", expected));
  }
  if (lines.size() == 1) throw error_in(path, "no rows after the header");

  std::set<std::string_view> ids;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.fields.size() != header.size()) {
      throw error_at(path, line.number,
                     fmt::format("expected {} columns as in the header, got {}", header.size(),
                                 line.fields.size()));
    }
    std::size_t c = 0;
    const std::string_view id = line.fields[c++];
    if (id.empty() || !ids.insert(id).second) {
      throw error_at(path, line.number, fmt::format("id '{}' is empty or repeated", id));
    }
    p.ids.emplace_back(id);
    if (p.has_empathy())
      p.empathy.push_back(parse_number(path, line.number, line.fields[c++], "empathy"));
    if (p.has_distress())
      p.distress.push_back(parse_number(path, line.number, line.fields[c++], "distress"));
    if (p.has_emotion) {
      const std::string_view label = line.fields[c++];
      const auto found = std::find(p.labels.begin(), p.labels.end(), std::string(label));
      if (found == p.labels.end()) {
        throw error_at(path, line.number,
                       fmt::format("emotion '{}' is not one of the header's labels ({})", label,
                                   fmt::join(p.labels, ", ")));
      }
      p.emotion.push_back(static_cast<int>(found - p.labels.begin()));
      std::vector<double> row;
      for (const auto& label_name : p.labels) {
        const double value = parse_number(path, line.number, line.fields[c++], "p_" + label_name);
        if (value < 0 || value > 1) {
          throw error_at(path, line.number,
                         fmt::format("p_{} = {}: expected a probability in [0, 1]", label_name,
                                     line.fields[c - 1]));
        }
        row.push_back(value);
      }
      p.probabilities.push_back(std::move(row));
    }
  }
  return p;
}

std::vector<int> official_emotion_ids(const Predictions& predictions) {
  std::vector<int> mapping;
  for (const auto& label : predictions.labels) {
    const auto id = emotion_index(label);
    if (!id) {
      throw Error(fmt::format("label '{}' is not one of the WASSA emotions ({})", label,
                              fmt::join(kEmotionLabels, ", ")));
    }
    mapping.push_back(*id);
  }
  std::vector<int> out;
  out.reserve(predictions.emotion.size());
  for (int e : predictions.emotion) out.push_back(mapping[static_cast<std::size_t>(e)]);
  return out;
}

}  // namespace emotune::eval
