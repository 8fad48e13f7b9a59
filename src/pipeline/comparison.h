#pragma once
// The comparison table: ours on dev beside the paper's dev and test numbers.

#include <span>
#include <string>

#include "pipeline/systems_file.h"

namespace emotune::pipeline {

struct ComparisonRow {
  std::string name;
  std::string status;  // "trained", "done", "skipped: ...", "ensemble of 3", ...
  Scores ours_dev;
  Scores paper_dev;
  Scores paper_test;
};

// Step 7. A plain-text table: one line per (row, score) with ours on dev beside the paper's dev
// and test numbers ("-" where there is none), then the status of rows without scores.
std::string format_comparison(std::span<const ComparisonRow> rows);
// The same as a Markdown table.
std::string format_comparison_markdown(std::span<const ComparisonRow> rows);

}  // namespace emotune::pipeline
