#include "predict/prediction_run.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "data/person.h"
#include "eval/metrics.h"
#include "eval/stacking.h"
#include "io/run_files.h"
#include "io/tsv.h"
#include "io/utf8.h"
#include "predict/ensemble_predictor.h"

namespace emotune::predict {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lowercase_extension(const fs::path& file) {
  std::string extension = file.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// The person columns of a tabular header: none (nullopt) or all of them (their indices); some
// but not all is an Error naming the first missing one.
std::optional<std::vector<std::size_t>> person_columns(const fs::path& file, std::size_t line,
                                                       const std::vector<std::string>& header) {
  std::vector<std::optional<std::size_t>> found;
  bool any = false;
  for (const auto name : data::kPersonColumns) {
    std::optional<std::size_t> at;
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) at = i;
    any = any || at.has_value();
    found.push_back(at);
  }
  if (!any) return std::nullopt;
  std::vector<std::size_t> indices;
  for (std::size_t k = 0; k < found.size(); ++k) {
    if (!found[k]) {
      throw error_at(file.string(), line,
                     fmt::format("person column '{}' is missing (the header has some person "
                                 "columns; all of {} are needed)",
                                 data::kPersonColumns[k], fmt::join(data::kPersonColumns, ", ")));
    }
    indices.push_back(*found[k]);
  }
  return indices;
}

data::PersonValues person_from_fields(const std::vector<std::string>& fields,
                                      const std::vector<std::size_t>& columns,
                                      const fs::path& file, std::size_t line) {
  return data::parse_person_fields(
      [&](std::string_view name) -> std::optional<std::string> {
        for (std::size_t k = 0; k < data::kPersonColumns.size(); ++k)
          if (data::kPersonColumns[k] == name) return fields[columns[k]];
        return std::nullopt;
      },
      fmt::format("{}:{}", file.string(), line));
}

// Records of a tabular file already split into rows; the first row is the header.
std::vector<EssayRecord> records_from_table(const fs::path& file,
                                            const std::vector<std::vector<std::string>>& rows,
                                            const std::vector<std::size_t>& lines) {
  if (rows.empty()) throw error_in(file.string(), "empty file; expected a header with `essay`");
  const auto& header = rows.front();
  const auto find = [&](std::string_view name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    return std::nullopt;
  };
  const auto essay_column = find("essay");
  if (!essay_column) {
    throw error_at(file.string(), lines.front(),
                   "no `essay` column in the header (columns: " +
                       fmt::format("{}", fmt::join(header, ", ")) + ")");
  }
  const auto id_column = find("id");
  const auto person = person_columns(file, lines.front(), header);
  std::vector<EssayRecord> essays;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& fields = rows[r];
    if (fields.size() != header.size()) {
      throw error_at(file.string(), lines[r],
                     fmt::format("{} fields, but the header has {}", fields.size(), header.size()));
    }
    EssayRecord record;
    record.id = id_column ? fields[*id_column] : std::to_string(r);
    if (record.id.empty()) throw error_at(file.string(), lines[r], "empty id");
    record.text = fields[*essay_column];
    if (person) record.person = person_from_fields(fields, *person, file, lines[r]);
    essays.push_back(std::move(record));
  }
  if (essays.empty()) throw error_in(file.string(), "no essays after the header");
  return essays;
}

// RFC 4180: fields separated by commas, optionally quoted; "" inside quotes is a quote, and
// quoted fields may hold commas and newlines.
std::vector<EssayRecord> read_csv_essays(const fs::path& file) {
  const std::string content = read_file(file);
  if (auto bad = io::first_invalid_utf8(content)) {
    throw error_in(file.string(), fmt::format("invalid UTF-8 at byte {}", *bad));
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> lines;
  std::vector<std::string> row;
  std::string field;
  std::size_t line = 1, row_line = 1;
  bool in_quotes = false, field_was_quoted = false;
  std::size_t i = content.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  const auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
    if (!(row.size() == 1 && row.front().empty())) {  // blank lines separate nothing
      rows.push_back(std::move(row));
      lines.push_back(row_line);
    }
    row.clear();
  };
  for (; i < content.size(); ++i) {
    const char c = content[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < content.size() && content[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || field_was_quoted) {
        throw error_at(file.string(), line, "a quote inside an unquoted field");
      }
      in_quotes = field_was_quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
    } else if (c == '\n') {
      end_row();
      row_line = ++line;
    } else if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') {
      // CRLF line ends: the LF ends the row.
    } else {
      if (field_was_quoted) throw error_at(file.string(), line, "text after a closing quote");
      field += c;
    }
  }
  if (in_quotes) throw error_at(file.string(), row_line, "a quoted field never closes");
  if (!field.empty() || !row.empty() || field_was_quoted) end_row();
  return records_from_table(file, rows, lines);
}

std::vector<EssayRecord> read_tsv_essays(const fs::path& file) {
  io::TsvOptions options;
  options.has_header = true;
  const auto table = io::read_tsv(file, options);
  const std::size_t essay_column = table.column("essay");
  const auto id_column = table.find_column("id");
  const auto person = person_columns(file, 1, table.header);
  std::vector<EssayRecord> essays;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    EssayRecord record;
    record.id = id_column ? row.fields[*id_column] : std::to_string(r + 1);
    if (record.id.empty()) throw error_at(file.string(), row.line, "empty id");
    record.text = row.fields[essay_column];
    if (person) record.person = person_from_fields(row.fields, *person, file, row.line);
    essays.push_back(std::move(record));
  }
  if (essays.empty()) throw error_in(file.string(), "no essays after the header");
  return essays;
}

std::vector<EssayRecord> read_jsonl_essays(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw error_in(file.string(), "cannot open for reading");
  std::vector<EssayRecord> essays;
  std::string text;
  std::size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    json object;
    try {
      object = json::parse(text);
    } catch (const json::exception& e) {
      throw error_at(file.string(), line, std::string("not valid JSON: ") + e.what());
    }
    if (!object.is_object() || !object.contains("essay") || !object["essay"].is_string()) {
      throw error_at(file.string(), line, "expected an object with a string \"essay\"");
    }
    EssayRecord record;
    record.text = object["essay"].get<std::string>();
    if (object.contains("id")) {
      const auto& id = object["id"];
      if (id.is_string()) {
        record.id = id.get<std::string>();
      } else if (id.is_number_integer()) {
        record.id = std::to_string(id.get<std::int64_t>());
      } else {
        throw error_at(file.string(), line, "\"id\" must be a string or an integer");
      }
      if (record.id.empty()) throw error_at(file.string(), line, "empty \"id\"");
    } else {
      record.id = std::to_string(essays.size() + 1);
    }
    record.person = person_values_from_json(object, fmt::format("{}:{}", file.string(), line));
    essays.push_back(std::move(record));
  }
  if (essays.empty()) throw error_in(file.string(), "no essays (expected one JSON object a line)");
  return essays;
}

fs::path cached_predictions_dir(const fs::path& run, data::Split split) {
  return run / "predictions" / std::string(data::split_name(split));
}

void check_split_ids(const fs::path& source, const eval::Predictions& predictions,
                     const data::WassaSplit& split) {
  if (predictions.size() != split.rows.size()) {
    throw error_in(
        source.string(),
        fmt::format("{} rows, but the {} split has {} (predict the same split)", predictions.size(),
                    data::split_name(split.split), split.rows.size()));
  }
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    if (predictions.ids[i] != split.rows[i].id) {
      throw error_in(source.string(), fmt::format("row {} has id {}, but the {} split has {} there",
                                                  i + 1, predictions.ids[i],
                                                  data::split_name(split.split), split.rows[i].id));
    }
  }
}

}  // namespace

std::vector<EssayRecord> read_essays(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw error_in(file.string(), "no such input file");
  const std::string extension = lowercase_extension(file);
  if (extension == ".tsv" || extension == ".txt") return read_tsv_essays(file);
  if (extension == ".csv") return read_csv_essays(file);
  if (extension == ".jsonl" || extension == ".json" || extension == ".ndjson")
    return read_jsonl_essays(file);
  throw error_in(file.string(),
                 "unknown input format '" + extension + "'; expected .tsv, .csv or .jsonl");
}

std::optional<data::PersonValues> person_values_from_json(const json& object,
                                                          const std::string& where) {
  const json* source = nullptr;
  std::string place = where;
  if (object.contains("person")) {
    if (!object["person"].is_object()) {
      throw Error(fmt::format("{}: \"person\" must be an object with the person columns ({})",
                              where, fmt::join(data::kPersonColumns, ", ")));
    }
    source = &object["person"];
    place += ": person";
  } else {
    for (const auto name : data::kPersonColumns)
      if (object.contains(std::string(name))) source = &object;
  }
  if (source == nullptr) return std::nullopt;
  return data::parse_person_fields(
      [&](std::string_view name) -> std::optional<std::string> {
        const std::string key(name);
        if (!source->contains(key)) return std::nullopt;
        const auto& value = (*source)[key];
        if (value.is_string()) return value.get<std::string>();
        if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
        if (value.is_number()) return fmt::format("{}", value.get<double>());
        return value.dump();  // not a number: parse_person_fields names it
      },
      place);
}

std::vector<EssayRecord> wassa_essays(const data::WassaSplit& split) {
  std::vector<EssayRecord> essays;
  essays.reserve(split.rows.size());
  for (const auto& row : split.rows) essays.push_back({row.id, row.text, data::person_values(row)});
  return essays;
}

eval::GoldStandard gold_standard(const data::WassaSplit& split) {
  eval::GoldStandard gold;
  for (const auto& row : split.rows) {
    if (!row.empathy || !row.distress || !row.emotion) {
      throw error_at(split.file.string(), row.line,
                     "no gold labels for this row (only the dev split can be scored)");
    }
    gold.empathy.push_back(*row.empathy);
    gold.distress.push_back(*row.distress);
    gold.emotion.push_back(*row.emotion);
  }
  return gold;
}

eval::Predictions predict_essays(Predictor& predictor, const std::vector<EssayRecord>& essays) {
  const bool needs_person = predictor.info().needs_person();
  std::vector<EssayInput> inputs;
  inputs.reserve(essays.size());
  for (const auto& essay : essays) {
    if (needs_person && !essay.person) {
      throw Error(fmt::format(
          "essay {}: {} reads person features, but the input has no person columns ({})",
          essay.id, predictor.info().version, fmt::join(data::kPersonColumns, ", ")));
    }
    inputs.push_back({essay.text, essay.person});
  }
  const auto outputs = predictor.predict(inputs);
  if (outputs.size() != essays.size()) {
    throw Error(
        fmt::format("predictor returned {} answers for {} essays", outputs.size(), essays.size()));
  }
  const auto& tasks = predictor.info().tasks;
  const auto has = [&](const char* task) {
    return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
  };
  eval::Predictions predictions;
  predictions.empathy_column = has("empathy");
  predictions.distress_column = has("distress");
  predictions.has_regression = predictions.empathy_column || predictions.distress_column;
  if (!predictions.has_regression) predictions.empathy_column = predictions.distress_column = true;
  predictions.has_emotion = has("emotion");
  if (predictions.has_emotion) {
    predictions.labels.assign(emotion_label_names().begin(), emotion_label_names().end());
  }
  for (std::size_t i = 0; i < essays.size(); ++i) {
    const auto& output = outputs[i];
    predictions.ids.push_back(essays[i].id);
    if (predictions.has_empathy()) {
      if (!output.empathy) throw Error("predictor returned no empathy");
      predictions.empathy.push_back(*output.empathy);
    }
    if (predictions.has_distress()) {
      if (!output.distress) throw Error("predictor returned no distress");
      predictions.distress.push_back(*output.distress);
    }
    if (predictions.has_emotion) {
      if (!output.emotion_probabilities) throw Error("predictor returned no emotion probabilities");
      const auto& p = *output.emotion_probabilities;
      predictions.probabilities.emplace_back(p.begin(), p.end());
      predictions.emotion.push_back(
          static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
    }
  }
  eval::validate(predictions);
  return predictions;
}

void write_prediction_folder(const fs::path& dir, const eval::Predictions& predictions,
                             std::optional<data::Split> split, json metadata) {
  fs::create_directories(dir);
  eval::write_predictions(dir / "predictions.tsv", predictions);
  if (!metadata.is_object()) metadata = json::object();
  metadata["split"] = split ? json(std::string(data::split_name(*split))) : json(nullptr);
  metadata["rows"] = predictions.size();
  write_json(dir / "predictions.json", metadata);
  if (!split) return;
  std::optional<eval::EmpathyPredictions> empathy;
  // The official file has both columns; a vanilla member's single column stays in
  // predictions.tsv only (pair it with the other target's run into a Track I system).
  if (predictions.has_both_regression()) {
    empathy = eval::EmpathyPredictions{predictions.empathy, predictions.distress};
    eval::write_emp_predictions(dir / "predictions_EMP.tsv", *empathy);
  }
  std::vector<int> emotions;
  if (predictions.has_emotion) {
    emotions = eval::official_emotion_ids(predictions);
    eval::write_emo_predictions(dir / "predictions_EMO.tsv", emotions);
  }
  if (!empathy && emotions.empty()) return;
  eval::write_submission_zip(dir / "predictions.zip", empathy ? &*empathy : nullptr, emotions);
}

MemberScores score_predictions(const eval::Predictions& predictions,
                               const eval::GoldStandard& gold) {
  if (predictions.size() != gold.size()) {
    throw Error(fmt::format("{} predictions, but the gold standard has {} rows", predictions.size(),
                            gold.size()));
  }
  MemberScores scores;
  if (predictions.has_both_regression()) {
    scores.track1 =
        eval::track1_scores(gold.empathy, gold.distress, predictions.empathy, predictions.distress);
  } else if (predictions.has_empathy()) {
    scores.empathy_only = eval::track1_scores(gold.empathy, gold.empathy, predictions.empathy,
                                              predictions.empathy)
                              .empathy;
  } else if (predictions.has_distress()) {
    scores.distress_only = eval::track1_scores(gold.distress, gold.distress,
                                               predictions.distress, predictions.distress)
                               .empathy;
  }
  if (predictions.has_emotion) {
    scores.track2 =
        eval::classification_scores(gold.emotion, eval::official_emotion_ids(predictions));
  }
  return scores;
}

std::string official_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold) {
  const auto scores = score_predictions(predictions, gold);
  std::string vanilla;
  if (scores.empathy_only)
    vanilla = fmt::format("Empathy Pearson Correlation: {}\n", *scores.empathy_only);
  if (scores.distress_only)
    vanilla = fmt::format("Distress Pearson Correlation: {}\n", *scores.distress_only);
  return vanilla + eval::format_official_scores(scores.track1 ? &*scores.track1 : nullptr,
                                                scores.track2 ? &*scores.track2 : nullptr);
}

std::string member_name(const fs::path& dir) {
  auto clean = dir.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  return clean.filename().string();
}

eval::Predictions member_predictions(const fs::path& dir, const data::WassaSplit& split,
                                     const RunPredictorOptions& options) {
  const std::string split_name(data::split_name(split.split));
  const auto read_folder = [&](const fs::path& folder) -> std::optional<eval::Predictions> {
    if (!fs::is_regular_file(folder / "predictions.tsv")) return std::nullopt;
    if (fs::is_regular_file(folder / "predictions.json")) {
      const json info = json::parse(read_file(folder / "predictions.json"), nullptr, false);
      if (info.is_discarded())
        throw error_in((folder / "predictions.json").string(), "not valid JSON");
      const auto stored = info.value("split", json(nullptr));
      if (!stored.is_string() || stored.get<std::string>() != split_name) {
        throw error_in((folder / "predictions.tsv").string(),
                       fmt::format("holds predictions for {}, not the {} split",
                                   stored.is_string() ? stored.get<std::string>() : "an input file",
                                   split_name));
      }
    }
    auto predictions = eval::read_predictions(folder / "predictions.tsv");
    check_split_ids(folder / "predictions.tsv", predictions, split);
    return predictions;
  };
  if (auto direct = read_folder(dir)) return *direct;
  const auto cache = cached_predictions_dir(dir, split.split);
  if (auto cached = read_folder(cache)) return *cached;
  if (fs::is_regular_file(dir / "ensemble.json")) {
    throw error_in(dir.string(), fmt::format("an ensemble folder without {} predictions; rerun "
                                             "`emotune ensemble` with --split {}",
                                             split_name, split_name));
  }
  const auto model_folder = io::resolve_model_folder(dir);
  spdlog::info("{}: computing {} predictions with {}", dir.string(), split_name,
               model_folder.string());
  const auto predictor = load_predictor(model_folder, options);
  auto predictions = predict_essays(*predictor, wassa_essays(split));
  write_prediction_folder(cache, predictions, split.split,
                          json{{"model", model_folder.string()}, {"source", "wassa"}});
  return predictions;
}

EnsembleMethod parse_ensemble_method(const std::string& name) {
  if (name == "mean") return EnsembleMethod::mean;
  if (name == "stack") return EnsembleMethod::stack;
  for (const auto method : {EnsembleMethod::prob_sum, EnsembleMethod::vote}) {
    if (name == eval::to_string(emotion_combination(method))) return method;
  }
  throw Error("unknown ensemble method '" + name + "'; expected mean, prob-sum, vote or stack");
}

std::string ensemble_method_name(EnsembleMethod method) {
  switch (method) {
    case EnsembleMethod::mean:
      return "mean";
    case EnsembleMethod::stack:
      return "stack";
    case EnsembleMethod::prob_sum:
    case EnsembleMethod::vote:
      return std::string(eval::to_string(emotion_combination(method)));
  }
  return "?";
}

eval::EmotionCombination emotion_combination(EnsembleMethod method) {
  // "mean" averages the regression values and the class probabilities; for emotions that is the
  // same decision as prob-sum.
  return method == EnsembleMethod::vote ? eval::EmotionCombination::vote
                                        : eval::EmotionCombination::prob_sum;
}

OutOfFold member_out_of_fold(const fs::path& dir, const data::WassaSplit& train) {
  const auto folder = dir / "oof";
  const auto file = folder / "predictions.tsv";
  if (!fs::is_regular_file(file)) {
    throw error_in(dir.string(),
                   "no out-of-fold train predictions (oof/predictions.tsv) to stack with: linear "
                   "members write them (`emotune baseline --out`); see docs/person_features.md");
  }
  OutOfFold out;
  out.predictions = eval::read_predictions(file);
  out.scheme = json::object();
  if (fs::is_regular_file(folder / "oof.json")) {
    out.scheme = json::parse(read_file(folder / "oof.json"), nullptr, false);
    if (out.scheme.is_discarded()) throw error_in((folder / "oof.json").string(), "not valid JSON");
  }
  // Every id must be a train id, in train order.
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < train.rows.size(); ++i) position.emplace(train.rows[i].id, i);
  std::size_t last = 0;
  for (std::size_t r = 0; r < out.predictions.size(); ++r) {
    const auto found = position.find(out.predictions.ids[r]);
    if (found == position.end()) {
      throw error_in(file.string(), fmt::format("row {}: id {} is not a train id", r + 1,
                                                out.predictions.ids[r]));
    }
    if (r > 0 && found->second <= last) {
      throw error_in(file.string(), fmt::format("row {}: ids are not in train order", r + 1));
    }
    last = found->second;
  }
  return out;
}

namespace {

// The rows of `p` whose ids are in `keep` (both in train order).
eval::Predictions select_rows(const eval::Predictions& p, const std::set<std::string>& keep) {
  eval::Predictions out = p;
  out.ids.clear();
  out.empathy.clear();
  out.distress.clear();
  out.emotion.clear();
  out.probabilities.clear();
  for (std::size_t r = 0; r < p.size(); ++r) {
    if (!keep.count(p.ids[r])) continue;
    out.ids.push_back(p.ids[r]);
    if (p.has_empathy()) out.empathy.push_back(p.empathy[r]);
    if (p.has_distress()) out.distress.push_back(p.distress[r]);
    if (p.has_emotion) {
      out.emotion.push_back(p.emotion[r]);
      out.probabilities.push_back(p.probabilities[r]);
    }
  }
  return out;
}

EnsembleResult build_stack(const EnsembleRequest& request, std::vector<eval::Predictions> members,
                           const data::WassaSplit& split) {
  if (request.train == nullptr) throw Error("method stack needs the train split");
  if (request.optimize_weights || !request.weights.empty()) {
    throw Error("method stack learns its own weights: give no weights or optimize_weights");
  }
  std::vector<OutOfFold> oof;
  for (const auto& member : request.members) oof.push_back(member_out_of_fold(member, *request.train));
  // The tasks every member predicts are stacked; the others are dropped.
  bool regression = true, emotion = true;
  for (const auto& member : members) {
    regression = regression && member.has_regression;
    emotion = emotion && member.has_emotion;
  }
  if (!regression && !emotion) throw Error("method stack: the members share no task");
  for (auto& member : members) member = eval::keep_tasks(member, regression, emotion);
  for (auto& o : oof) o.predictions = eval::keep_tasks(o.predictions, regression, emotion);
  eval::check_compatible(members);
  // The rows every member has out-of-fold predictions for.
  std::set<std::string> common(oof.front().predictions.ids.begin(),
                               oof.front().predictions.ids.end());
  for (const auto& o : oof) {
    const std::set<std::string> ids(o.predictions.ids.begin(), o.predictions.ids.end());
    std::set<std::string> both;
    std::set_intersection(common.begin(), common.end(), ids.begin(), ids.end(),
                          std::inserter(both, both.begin()));
    common = std::move(both);
  }
  std::vector<eval::Predictions> fit_members;
  for (const auto& o : oof) fit_members.push_back(select_rows(o.predictions, common));
  eval::StackTargets targets;
  for (const auto& row : request.train->rows) {
    if (!common.count(row.id)) continue;
    targets.empathy.push_back(row.empathy.value());
    targets.distress.push_back(row.distress.value());
    targets.emotion.push_back(row.emotion.value());
  }
  if (fit_members.front().has_emotion) {
    // Train labels are kEmotionLabels indices; the members' label order may differ.
    const auto& labels = fit_members.front().labels;
    for (auto& label : targets.emotion) {
      const auto name = std::string(data::kEmotionLabels[static_cast<std::size_t>(label)]);
      const auto at = std::find(labels.begin(), labels.end(), name);
      if (at == labels.end()) throw Error("stacking: the members lack emotion label " + name);
      label = static_cast<int>(at - labels.begin());
    }
  }
  const auto model = eval::fit_stack(fit_members, targets);
  EnsembleResult result;
  result.predictions = eval::apply_stack(members, model);
  json member_list = json::array();
  for (std::size_t i = 0; i < request.members.size(); ++i) {
    member_list.push_back({{"name", member_name(request.members[i])},
                           {"path", fs::absolute(request.members[i]).lexically_normal().string()},
                           {"out_of_fold", oof[i].scheme}});
  }
  result.description = {{"members", member_list},
                        {"method", "stack"},
                        {"stack", eval::stack_to_json(model)},
                        {"weights_fitted_on", "out-of-fold predictions on train (no dev labels)"},
                        {"weights_optimized_on_dev", false},
                        {"split", std::string(data::split_name(split.split))}};
  if (model.empathy) result.regression_weights = model.empathy->weights;
  result.emotion_weights = model.emotion_weights;
  return result;
}

}  // namespace

EnsembleResult build_ensemble(const EnsembleRequest& request, const data::WassaSplit& split,
                              const data::WassaSplit* dev) {
  if (request.members.size() < 2) throw Error("an ensemble needs at least two members");
  if (!request.weights.empty() && request.optimize_weights) {
    throw Error("give either weights or optimize_weights, not both");
  }
  const auto combination = emotion_combination(request.method);
  std::vector<eval::Predictions> members;
  for (const auto& member : request.members)
    members.push_back(member_predictions(member, split, request.predictor));
  if (request.method == EnsembleMethod::stack) return build_stack(request, members, split);
  eval::check_compatible(members);

  EnsembleResult result;
  eval::EnsembleOptions options;
  options.combination = combination;
  // Weights only for the tasks the members predict: eval::ensemble rejects the others.
  const auto given_weights = eval::normalized_weights(request.weights, members.size());
  const bool any_regression = eval::any_regression(members);
  const bool any_emotion = eval::any_emotion(members);
  if (any_regression) options.regression_weights = given_weights;
  if (any_emotion) options.emotion_weights = given_weights;
  json fit = nullptr;
  if (request.optimize_weights) {
    if (dev == nullptr) throw Error("optimize_weights needs the dev split");
    std::vector<eval::Predictions> dev_members;
    if (split.split == data::Split::dev) {
      dev_members = members;
    } else {
      for (const auto& member : request.members)
        dev_members.push_back(member_predictions(member, *dev, request.predictor));
    }
    const auto gold = gold_standard(*dev);
    fit = json::object();
    if (any_regression) {
      const auto regression = eval::optimize_regression_weights(dev_members, gold);
      options.regression_weights = regression.weights;
      fit["regression_dev_avg_pearson"] = regression.score;
    }
    if (any_emotion) {
      const auto emotion = eval::optimize_emotion_weights(dev_members, gold, combination);
      options.emotion_weights = emotion.weights;
      fit["emotion_dev_macro_f1"] = emotion.score;
    }
  }
  result.predictions = eval::ensemble(members, options);
  result.regression_weights =
      options.regression_weights.empty() ? given_weights : options.regression_weights;
  result.emotion_weights =
      options.emotion_weights.empty() ? given_weights : options.emotion_weights;
  json member_list = json::array();
  for (std::size_t i = 0; i < request.members.size(); ++i) {
    // Weights only for the tasks the members predict (issue #20: a regression_weight on an
    // emotion-only ensemble made `emotune predict` through the folder fail).
    json entry = {{"name", member_name(request.members[i])},
                  {"path", fs::absolute(request.members[i]).lexically_normal().string()}};
    if (members[i].has_regression) entry["regression_weight"] = result.regression_weights[i];
    if (members[i].has_emotion) entry["emotion_weight"] = result.emotion_weights[i];
    member_list.push_back(std::move(entry));
  }
  result.description = {{"members", member_list},
                        {"method", ensemble_method_name(request.method)},
                        {"weights_optimized_on_dev", request.optimize_weights},
                        {"split", std::string(data::split_name(split.split))}};
  if (!fit.is_null()) result.description["fit"] = fit;
  return result;
}

void write_ensemble_folder(const fs::path& dir, const EnsembleResult& result, data::Split split) {
  write_prediction_folder(dir, result.predictions, split,
                          json{{"source", "ensemble"}, {"ensemble", "ensemble.json"}});
  write_json(dir / "ensemble.json", result.description);
}

}  // namespace emotune::predict
