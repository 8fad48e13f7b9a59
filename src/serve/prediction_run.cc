#include "serve/prediction_run.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "eval/metrics.h"
#include "io/tsv.h"

namespace emotune::serve {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lowercase_extension(const fs::path& file) {
  std::string extension = file.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
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
    essays.push_back(std::move(record));
  }
  if (essays.empty()) throw error_in(file.string(), "no essays after the header");
  return essays;
}

// RFC 4180: fields separated by commas, optionally quoted; "" inside quotes is a quote, and
// quoted fields may hold commas and newlines.
std::vector<EssayRecord> read_csv_essays(const fs::path& file) {
  const std::string content = read_file(file);
  if (auto bad = io::find_invalid_utf8(content)) {
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
  std::vector<EssayRecord> essays;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    EssayRecord record;
    record.id = id_column ? row.fields[*id_column] : std::to_string(r + 1);
    if (record.id.empty()) throw error_at(file.string(), row.line, "empty id");
    record.text = row.fields[essay_column];
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

std::vector<EssayRecord> wassa_essays(const data::WassaSplit& split) {
  std::vector<EssayRecord> essays;
  essays.reserve(split.rows.size());
  for (const auto& row : split.rows) essays.push_back({row.id, row.text});
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
  std::vector<EssayInput> inputs;
  inputs.reserve(essays.size());
  for (const auto& essay : essays) inputs.push_back({essay.text});
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
  if (has("empathy") != has("distress")) {
    // predictions.tsv and predictions_EMP.tsv hold both columns; a NaN column would make them
    // unreadable, a made-up one silently wrong.
    throw Error(
        fmt::format("{}: the model predicts {} but not {}; emotune's prediction files "
                    "need both regression tasks (or neither)",
                    predictor.info().version, has("empathy") ? "empathy" : "distress",
                    has("empathy") ? "distress" : "empathy"));
  }
  predictions.has_regression = has("empathy");
  predictions.has_emotion = has("emotion");
  if (predictions.has_emotion) {
    predictions.labels.assign(emotion_label_names().begin(), emotion_label_names().end());
  }
  for (std::size_t i = 0; i < essays.size(); ++i) {
    const auto& output = outputs[i];
    predictions.ids.push_back(essays[i].id);
    if (predictions.has_regression) {
      if (!output.empathy || !output.distress)
        throw Error("predictor returned no empathy/distress");
      predictions.empathy.push_back(*output.empathy);
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
  write_file_atomic(dir / "predictions.json", metadata.dump(2) + "\n");
  if (!split) return;
  std::optional<eval::EmpathyPredictions> empathy;
  if (predictions.has_regression) {
    empathy = eval::EmpathyPredictions{predictions.empathy, predictions.distress};
    eval::write_emp_predictions(dir / "predictions_EMP.tsv", *empathy);
  }
  std::vector<int> emotions;
  if (predictions.has_emotion) {
    emotions = eval::official_emotion_ids(predictions);
    eval::write_emo_predictions(dir / "predictions_EMO.tsv", emotions);
  }
  eval::write_submission_zip(dir / "predictions.zip", empathy ? &*empathy : nullptr, emotions);
}

MemberScores score_predictions(const eval::Predictions& predictions,
                               const eval::GoldStandard& gold) {
  if (predictions.size() != gold.size()) {
    throw Error(fmt::format("{} predictions, but the gold standard has {} rows", predictions.size(),
                            gold.size()));
  }
  MemberScores scores;
  if (predictions.has_regression) {
    scores.track1 =
        eval::track1_scores(gold.empathy, gold.distress, predictions.empathy, predictions.distress);
  }
  if (predictions.has_emotion) {
    scores.track2 =
        eval::classification_scores(gold.emotion, eval::official_emotion_ids(predictions));
  }
  return scores;
}

std::string official_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold) {
  const auto scores = score_predictions(predictions, gold);
  return eval::format_official_scores(scores.track1 ? &*scores.track1 : nullptr,
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
  const auto model_folder = resolve_model_folder(dir);
  spdlog::info("{}: computing {} predictions with {}", dir.string(), split_name,
               model_folder.string());
  RunPredictor predictor(model_folder, options);
  auto predictions = predict_essays(predictor, wassa_essays(split));
  write_prediction_folder(cache, predictions, split.split,
                          json{{"model", model_folder.string()}, {"source", "wassa"}});
  return predictions;
}

EnsembleMethod parse_ensemble_method(const std::string& name) {
  if (name == "mean") return EnsembleMethod::mean;
  if (name == "prob-sum") return EnsembleMethod::prob_sum;
  if (name == "vote") return EnsembleMethod::vote;
  throw Error("unknown ensemble method '" + name + "'; expected mean, prob-sum or vote");
}

std::string ensemble_method_name(EnsembleMethod method) {
  switch (method) {
    case EnsembleMethod::mean:
      return "mean";
    case EnsembleMethod::prob_sum:
      return "prob-sum";
    case EnsembleMethod::vote:
      return "vote";
  }
  return "?";
}

EnsembleResult build_ensemble(const EnsembleRequest& request, const data::WassaSplit& split,
                              const data::WassaSplit* dev) {
  if (request.members.size() < 2) throw Error("an ensemble needs at least two members");
  if (!request.weights.empty() && request.optimize_weights) {
    throw Error("give either weights or optimize_weights, not both");
  }
  // "mean" averages the regression values and the class probabilities; for emotions that is the
  // same decision as prob-sum.
  const auto combination = request.method == EnsembleMethod::vote
                               ? eval::EmotionCombination::vote
                               : eval::EmotionCombination::prob_sum;
  std::vector<eval::Predictions> members;
  for (const auto& member : request.members)
    members.push_back(member_predictions(member, split, request.predictor));
  eval::check_compatible(members);

  EnsembleResult result;
  eval::EnsembleOptions options;
  options.combination = combination;
  // Weights only for the tasks the members predict: eval::ensemble rejects the others.
  const auto given_weights = eval::normalized_weights(request.weights, members.size());
  if (members.front().has_regression) options.regression_weights = given_weights;
  if (members.front().has_emotion) options.emotion_weights = given_weights;
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
    if (members.front().has_regression) {
      const auto regression = eval::optimize_regression_weights(dev_members, gold);
      options.regression_weights = regression.weights;
      fit["regression_dev_avg_pearson"] = regression.score;
    }
    if (members.front().has_emotion) {
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
    member_list.push_back({{"name", member_name(request.members[i])},
                           {"path", fs::absolute(request.members[i]).lexically_normal().string()},
                           {"regression_weight", result.regression_weights[i]},
                           {"emotion_weight", result.emotion_weights[i]}});
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
  write_file_atomic(dir / "ensemble.json", result.description.dump(2) + "\n");
}

}  // namespace emotune::serve
