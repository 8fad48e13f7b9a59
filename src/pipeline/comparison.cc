#include "pipeline/comparison.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string format_score(const Scores& scores, const std::string& name, int decimals = 4) {
  const auto found = scores.find(name);
  return found == scores.end() ? "-" : fmt::format("{:.{}f}", found->second, decimals);
}

const char* score_label(std::string_view name) {
  if (name == "empathy_r") return "empathy r";
  if (name == "distress_r") return "distress r";
  if (name == "average_r") return "average r";
  if (name == "macro_f1") return "macro-F1";
  return "accuracy";
}

// The scores a row shows: ours, else the paper's, in kScoreNames order.
std::vector<std::string> row_scores(const ComparisonRow& row) {
  std::vector<std::string> names;
  for (const auto name : kScoreNames) {
    const std::string key(name);
    if (row.ours_dev.count(key) || row.paper_dev.count(key) || row.paper_test.count(key))
      names.push_back(key);
  }
  return names;
}

}  // namespace

std::string format_comparison(std::span<const ComparisonRow> rows) {
  std::size_t name_width = 6;
  for (const auto& row : rows) name_width = std::max(name_width, row.name.size());
  std::string out = fmt::format("{:<{}}  {:<11}{:>12}{:>13}{:>14}\n", "system", name_width, "score",
                                "ours (dev)", "paper (dev)", "paper (test)");
  std::string skipped;
  for (const auto& row : rows) {
    const auto names = row_scores(row);
    if (row.ours_dev.empty()) {
      skipped += fmt::format("  {}: {}\n", row.name, row.status);
    }
    bool first = true;
    for (const auto& name : names) {
      out += fmt::format("{:<{}}  {:<11}{:>12}{:>13}{:>14}\n", first ? row.name : "", name_width,
                         score_label(name), format_score(row.ours_dev, name),
                         format_score(row.paper_dev, name), format_score(row.paper_test, name));
      first = false;
    }
  }
  if (!skipped.empty()) out += "not scored:\n" + skipped;
  out +=
      "accuracy as a fraction; paper numbers from the WASSA@IITK 2021 paper (Tables 1-2, "
      "Section 5)\n";
  return out;
}

std::string format_comparison_markdown(std::span<const ComparisonRow> rows) {
  std::string out =
      "| system | status | score | ours (dev) | paper (dev) | paper (test) |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& row : rows) {
    auto names = row_scores(row);
    if (names.empty()) out += fmt::format("| {} | {} | | | | |\n", row.name, row.status);
    bool first = true;
    for (const auto& name : names) {
      out +=
          fmt::format("| {} | {} | {} | {} | {} | {} |\n", first ? row.name : "",
                      first ? row.status : "", score_label(name), format_score(row.ours_dev, name),
                      format_score(row.paper_dev, name), format_score(row.paper_test, name));
      first = false;
    }
  }
  return out;
}

}  // namespace emotune::pipeline
