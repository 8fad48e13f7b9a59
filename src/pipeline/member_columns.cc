#include "pipeline/member_columns.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "data/person.h"
#include "io/run_files.h"
#include "io/tsv.h"
#include "predict/prediction_run.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path task_cache_file(const fs::path& folder, data::Split split, model::Task task) {
  return folder / "predictions" / std::string(data::split_name(split)) /
         (model::task_name(task) + ".tsv");
}

std::vector<double> read_task_cache(const fs::path& file, model::Task task,
                                    const data::WassaSplit& split) {
  const auto table = io::read_tsv(file);
  const auto id_column = table.column("id");
  const auto value_column = table.column(model::task_name(task));
  if (table.rows.size() != split.rows.size()) {
    throw error_in(file, fmt::format("{} rows, but the {} split has {}", table.rows.size(),
                                     data::split_name(split.split), split.rows.size()));
  }
  std::vector<double> values;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    if (row.fields[id_column] != split.rows[i].id) {
      throw error_at(file, row.line,
                     fmt::format("id {}, but the {} split has {} there", row.fields[id_column],
                                 data::split_name(split.split), split.rows[i].id));
    }
    values.push_back(
        io::parse_double(row.fields[value_column], file, row.line, model::task_name(task)));
  }
  return values;
}

std::vector<double> single_task_values(const fs::path& folder, model::Task task,
                                       const data::WassaSplit& split,
                                       const predict::RunPredictorOptions& options) {
  const auto cache = task_cache_file(folder, split.split, task);
  if (fs::is_regular_file(cache)) return read_task_cache(cache, task, split);
  const auto model_folder = io::resolve_model_folder(folder);
  spdlog::info("{}: computing {} {} predictions with {}", folder.string(),
               data::split_name(split.split), model::task_name(task), model_folder.string());
  predict::RunPredictor predictor(model_folder, options);
  std::vector<predict::EssayInput> inputs;
  for (const auto& row : split.rows) inputs.push_back({row.text, data::person_values(row)});
  const auto outputs = predictor.predict(inputs);
  std::string text = "id\t" + model::task_name(task) + "\n";
  std::vector<double> values;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& value = task == model::Task::empathy ? outputs[i].empathy : outputs[i].distress;
    if (!value)
      throw Error(model_folder.string() + ": the model returned no " + model::task_name(task));
    values.push_back(*value);
    text += fmt::format("{}\t{}\n", split.rows[i].id, *value);
  }
  fs::create_directories(cache.parent_path());
  write_file_atomic(cache, text);
  return values;
}

bool contains(const std::vector<model::Task>& tasks, model::Task task) {
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

eval::Predictions emotion_only(eval::Predictions predictions) {
  predictions.has_regression = false;
  predictions.empathy.clear();
  predictions.distress.clear();
  return predictions;
}

}  // namespace

std::vector<model::Task> model_tasks(const fs::path& folder) {
  return io::ModelManifest::read(io::resolve_model_folder(folder)).tasks;
}

MemberColumns member_columns(const fs::path& folder, const data::WassaSplit& split,
                             const predict::RunPredictorOptions& options) {
  const auto tasks = model_tasks(folder);
  const bool empathy = contains(tasks, model::Task::empathy);
  const bool distress = contains(tasks, model::Task::distress);
  const bool emotion = contains(tasks, model::Task::emotion);
  MemberColumns columns;
  for (const auto& row : split.rows) columns.ids.push_back(row.id);
  if (empathy == distress) {
    auto predictions = predict::member_predictions(folder, split, options);
    if (predictions.has_regression) {
      columns.empathy = predictions.empathy;
      columns.distress = predictions.distress;
    }
    if (predictions.has_emotion) columns.emotion = emotion_only(std::move(predictions));
    return columns;
  }
  if (emotion) {
    throw Error(
        fmt::format("{}: the model predicts {} and emotions; emotune's prediction files "
                    "need both regression tasks or neither",
                    folder.string(), empathy ? "empathy" : "distress"));
  }
  const auto task = empathy ? model::Task::empathy : model::Task::distress;
  (empathy ? columns.empathy : columns.distress) = single_task_values(folder, task, split, options);
  return columns;
}

}  // namespace emotune::pipeline
