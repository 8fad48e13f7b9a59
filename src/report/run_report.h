#pragma once

// `emotune report`: the paper's figures and tables for run and ensemble folders, scored on the
// WASSA 2021 dev split, beside the published numbers.

#include <filesystem>
#include <string>
#include <vector>

#include "predict/run_predictor.h"

namespace emotune::report {

struct ReportRequest {
  std::vector<std::filesystem::path> members;  // run, prediction or ensemble folders
  std::filesystem::path data_dir;
  std::filesystem::path out_html;
  predict::RunPredictorOptions predictor;  // for members whose dev predictions must be computed
  // The attribution view: the first `explain_essays` dev essays explained by the first
  // `explain_members` run members (ensemble and prediction folders are skipped), each output
  // the member predicts (emotion: the predicted class) at `explain_steps` integrated-gradients
  // steps. explain_essays = 0 leaves the view out.
  std::size_t explain_essays = 3;
  std::size_t explain_members = 2;
  std::size_t explain_steps = 16;
};

// Writes out_html and, beside it, every chart as its own .svg file; returns the paths of the
// files written (the HTML first).
std::vector<std::filesystem::path> write_report(const ReportRequest& request);

}  // namespace emotune::report
