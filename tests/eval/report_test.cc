#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/svg.h"

namespace emotune::eval {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Svg, BarChartHasTitleAxesBarsAndValues) {
  BarChart chart;
  chart.title = "Pearson r per model";
  chart.x_label = "model";
  chart.y_label = "average Pearson r";
  chart.bars = {{"electra", 0.5321}, {"roberta", 0.5112}, {"a<b", -0.1}};
  const auto svg = render_bar_chart(chart);
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, HasSubstr(">Pearson r per model</text>"));
  EXPECT_THAT(svg, HasSubstr(">average Pearson r</text>"));
  EXPECT_THAT(svg, HasSubstr(">model</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.5321</text>"));
  EXPECT_THAT(svg, HasSubstr(">-0.1000</text>"));
  EXPECT_THAT(svg, HasSubstr(">a&lt;b</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("a<b")));
  EXPECT_EQ(count_of(svg, "fill=\"#4c78a8\""), 3u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  chart.bars.clear();
  EXPECT_THROW(render_bar_chart(chart), Error);
}

TEST(Svg, FrequencyChartCountsEveryEmotion) {
  const std::vector<int> emotions{5, 5, 0, 3, 5};
  const auto chart = emotion_frequency_chart(emotions, "dev emotions");
  ASSERT_EQ(chart.bars.size(), kNumEmotions);
  EXPECT_EQ(chart.bars[5].label, "sadness");
  EXPECT_EQ(chart.bars[5].value, 3);
  EXPECT_EQ(chart.bars[1].value, 0);
  const auto svg = render_bar_chart(chart);
  EXPECT_THAT(svg, HasSubstr(">3</text>"));
  EXPECT_THAT(svg, HasSubstr(">surprise</text>"));
}

TEST(Svg, HeatMapIsNormalisedPerRowWithCountsAndAxisNames) {
  ConfusionMatrix confusion{};
  confusion[0][0] = 3;  // anger: 3 right, 1 read as fear -> 0.75 / 0.25
  confusion[0][2] = 1;
  const auto svg = render_confusion_heatmap(confusion_heatmap(confusion, "Confusion (dev)"));
  EXPECT_THAT(svg, HasSubstr(">Confusion (dev)</text>"));
  EXPECT_THAT(svg, HasSubstr(">gold (rows)</text>"));
  EXPECT_THAT(svg, HasSubstr(">predicted (columns)</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.75</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.25</text>"));
  EXPECT_THAT(svg, HasSubstr(">n=3</text>"));
  EXPECT_EQ(count_of(svg, "<rect x="), kNumEmotions * kNumEmotions);
  HeatMap ragged;
  ragged.labels = {"a", "b"};
  ragged.counts = {{1, 2}, {3}};
  EXPECT_THROW(render_confusion_heatmap(ragged), Error);
}

TEST(Report, AssemblesTablesAndChartsIntoOneEscapedPage) {
  Report report;
  report.title = "Dev scores";
  report.subtitle = "WASSA 2021 & friends";
  ReportSection section;
  section.heading = "Track I";
  section.tables.push_back({"Pearson", {"model", "r"}, {{"electra", "0.5321"}}});
  BarChart chart;
  chart.title = "r";
  chart.bars = {{"electra", 0.5321}};
  section.charts.push_back(render_bar_chart(chart));
  report.sections.push_back(section);
  const auto html = render_html(report);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<h1>Dev scores</h1>"));
  EXPECT_THAT(html, HasSubstr("WASSA 2021 &amp; friends"));
  EXPECT_THAT(html, HasSubstr("<th>model</th><th>r</th>"));
  EXPECT_THAT(html, HasSubstr("<td>electra</td><td>0.5321</td>"));
  EXPECT_THAT(html, HasSubstr("<figure>\n<svg"));
  EXPECT_THAT(html, Not(HasSubstr("http://www.w3.org/2000/svg\" src")));
  report.sections[0].tables[0].rows.push_back({"only one cell"});
  EXPECT_THROW(render_html(report), Error);
}

}  // namespace
}  // namespace emotune::eval
