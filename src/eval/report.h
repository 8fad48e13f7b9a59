#pragma once

// A single self-contained HTML page (inline CSS and SVG, nothing fetched) assembling
// tables and charts, e.g. the scores of several models and their confusion matrices.

#include <span>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/svg.h"

namespace emotune::eval {

struct ReportTable {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
};

struct ReportSection {
  std::string heading;
  std::string text;  // a paragraph, escaped
  std::vector<ReportTable> tables;
  std::vector<std::string> charts;  // SVG documents from svg.h, embedded as they are
  // HTML fragments built by the program (e.g. attribution views), embedded as they are after
  // the tables; never text from elsewhere unescaped.
  std::vector<std::string> html;
};

struct Report {
  std::string title;
  std::string subtitle;
  std::vector<ReportSection> sections;
};

// Error when a table row's length differs from its header's.
std::string render_html(const Report& report);

// How often each of the seven emotions occurs in `emotions` (kEmotionLabels ids), as bars.
BarChart emotion_frequency_chart(std::span<const int> emotions, const std::string& title);

// The 7x7 confusion matrix (rows gold, columns predicted) as a row-normalised heat map.
HeatMap confusion_heatmap(const ConfusionMatrix& confusion, const std::string& title);

}  // namespace emotune::eval
