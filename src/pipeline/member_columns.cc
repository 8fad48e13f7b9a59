#include "pipeline/member_columns.h"

#include "io/run_files.h"
#include "predict/prediction_run.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;

std::vector<model::Task> model_tasks(const fs::path& folder) {
  return io::ModelManifest::read(io::resolve_model_folder(folder)).tasks;
}

MemberColumns member_columns(const fs::path& folder, const data::WassaSplit& split,
                             const predict::RunPredictorOptions& options) {
  auto predictions = predict::member_predictions(folder, split, options);
  MemberColumns columns;
  columns.ids = predictions.ids;
  if (predictions.has_empathy()) columns.empathy = predictions.empathy;
  if (predictions.has_distress()) columns.distress = predictions.distress;
  if (predictions.has_emotion) {
    predictions.has_regression = false;
    predictions.empathy.clear();
    predictions.distress.clear();
    columns.emotion = std::move(predictions);
  }
  return columns;
}

}  // namespace emotune::pipeline
