#include "eval/report.h"

#include <array>

#include <fmt/format.h>

#include "common/error.h"

namespace emotune::eval {
namespace {

constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "h1{margin-bottom:0.2em}.subtitle{color:#666;margin-top:0}"
    "table{border-collapse:collapse;margin:1em 0}"
    "caption{text-align:left;font-weight:bold;padding-bottom:0.3em}"
    "th,td{border:1px solid #ccc;padding:0.3em 0.7em;text-align:right}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    ".charts{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}"
    ".attributed{white-space:pre-wrap;line-height:1.9;border:1px solid #ccc;padding:0.6em;"
    "border-radius:4px}.attributed .word{border-radius:3px}"
    ".swatch{display:inline-block;width:1em;height:1em;vertical-align:middle;"
    "border:1px solid #767676}";

std::string render_table(const ReportTable& table) {
  std::string out = "<table>\n";
  if (!table.caption.empty()) out += "<caption>" + xml_escape(table.caption) + "</caption>\n";
  out += "<thead><tr>";
  for (const auto& cell : table.header) out += "<th>" + xml_escape(cell) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    if (row.size() != table.header.size()) {
      throw Error(fmt::format("report table '{}': row {} has {} cells for {} columns",
                              table.caption, r + 1, row.size(), table.header.size()));
    }
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + xml_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::string render_html(const Report& report) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>{0}</title>\n<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      xml_escape(report.title), kStyle);
  if (!report.subtitle.empty()) {
    out += "<p class=\"subtitle\">" + xml_escape(report.subtitle) + "</p>\n";
  }
  for (const auto& section : report.sections) {
    out += "<section>\n<h2>" + xml_escape(section.heading) + "</h2>\n";
    if (!section.text.empty()) out += "<p>" + xml_escape(section.text) + "</p>\n";
    for (const auto& table : section.tables) out += render_table(table);
    for (const auto& fragment : section.html) out += fragment + "\n";
    if (!section.charts.empty()) {
      out += "<div class=\"charts\">\n";
      for (const auto& chart : section.charts) out += "<figure>\n" + chart + "</figure>\n";
      out += "</div>\n";
    }
    out += "</section>\n";
  }
  return out + "</body>\n</html>\n";
}

BarChart emotion_frequency_chart(std::span<const int> emotions, const std::string& title) {
  std::array<double, kNumEmotions> counts{};
  for (std::size_t i = 0; i < emotions.size(); ++i) {
    if (emotions[i] < 0 || emotions[i] >= static_cast<int>(kNumEmotions)) {
      throw Error(fmt::format("emotion frequencies: row {}: class id {} is not in 0..{}", i + 1,
                              emotions[i], kNumEmotions - 1));
    }
    counts[static_cast<std::size_t>(emotions[i])] += 1;
  }
  BarChart chart;
  chart.title = title;
  chart.x_label = "emotion";
  chart.y_label = "essays";
  chart.decimals = 0;
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    chart.bars.push_back({std::string(kEmotionLabels[c]), counts[c]});
  }
  return chart;
}

HeatMap confusion_heatmap(const ConfusionMatrix& confusion, const std::string& title) {
  HeatMap map;
  map.title = title;
  for (auto label : kEmotionLabels) map.labels.emplace_back(label);
  for (const auto& row : confusion) map.counts.emplace_back(row.begin(), row.end());
  return map;
}

}  // namespace emotune::eval
