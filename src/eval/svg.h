#pragma once

// Self-contained SVG charts for reports, rendered from plain values (no fonts or scripts to
// fetch; every text is XML-escaped).

#include <string>
#include <vector>

namespace emotune::eval {

struct Bar {
  std::string label;
  double value = 0;
};

struct BarChart {
  std::string title;
  std::string x_label;  // under the category names
  std::string y_label;  // beside the value axis
  std::vector<Bar> bars;
  int decimals = 4;  // of the value printed on each bar (0 for counts)
  int width = 640;
  int height = 400;
};

// Vertical bars with a value axis that includes 0 (negative values hang below it), the value
// written on each bar and the category under it.
std::string render_bar_chart(const BarChart& chart);

struct HeatMap {
  std::string title;
  std::vector<std::string> labels;          // one per row and per column
  std::vector<std::vector<double>> counts;  // [row][column], e.g. [gold][predicted]
  std::string row_axis = "gold";
  std::string column_axis = "predicted";
  int cell = 56;  // pixels per cell
};

// A confusion matrix normalised per row (each row sums to 1; an all-zero row stays 0): cells
// shaded by the share, showing the share and the raw count.
std::string render_confusion_heatmap(const HeatMap& map);

// Escapes &, <, >, " and ' for XML/HTML text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace emotune::eval
