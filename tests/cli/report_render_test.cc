// `emotune report` rendered by a real browser: headless Chromium loads the report of two runs
// trained here (the tiny fixture ELECTRA, a few steps on a few essays), and the screenshot
// must show the figures (bars in the chart colour, dark heat-map cells), the DOM the SVGs.
// Skipped only when Chromium is not installed (Debian package `chromium`, see setup.sh).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/headless_browser.h"
#include "common/files.h"
#include "common/test_paths.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::find_chromium;
using testing::run_cli;
using testing::run_command;
using testing::shell_quote;

constexpr int kWidth = 1280;
constexpr int kHeight = 3600;

class ReportRenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chromium_ = find_chromium();
    if (chromium_.empty()) return;
    temp_ = std::make_unique<testing::TempDir>();
    const auto config = temp_->path() / "tiny.toml";
    write_file_atomic(config, testing::tiny_electra_config(32, "max_steps = 2\n"));
    std::string runs;
    for (const char* seed : {"3", "4"}) {
      const auto run = temp_->path() / (std::string("electra-seed-") + seed);
      const auto trained =
          run_cli("--threads 1 --log-level warn train " + shell_quote(config.string()) +
                  " --data " + shell_quote(testing::data_dir().string()) +
                  " --no-progress --seeds " + seed + " --out " + shell_quote(run.string()));
      ASSERT_EQ(trained.exit_code, 0) << trained.err;
      runs += " " + shell_quote(run.string());
    }
    html_ = temp_->path() / "report" / "report.html";
    const auto report = run_cli("--threads 1 --log-level warn report" + runs + " --data " +
                                shell_quote(testing::data_dir().string()) + " --out " +
                                shell_quote(html_.string()));
    ASSERT_EQ(report.exit_code, 0) << report.err;
  }
  static void TearDownTestSuite() { temp_.reset(); }

  void SetUp() override {
    if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
    ASSERT_TRUE(fs::exists(html_)) << "the report was not written";
  }

  static testing::CommandResult chromium(const std::string& arguments) {
    return testing::run_headless_chromium(chromium_, temp_->path() / "chromium-profile",
                                          arguments, "file://" + fs::absolute(html_).string(),
                                          90);
  }

  static std::string chromium_;
  static std::unique_ptr<testing::TempDir> temp_;
  static fs::path html_;
};
std::string ReportRenderTest::chromium_;
std::unique_ptr<testing::TempDir> ReportRenderTest::temp_;
fs::path ReportRenderTest::html_;

TEST_F(ReportRenderTest, TheRenderedDomHoldsEveryFigure) {
  const auto result = chromium("--dump-dom");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& dom = result.out;
  std::size_t svgs = 0;
  for (auto at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) ++svgs;
  // Figure 1, Figures 2a and 2b, one confusion matrix per run.
  EXPECT_GE(svgs, 5u) << dom.substr(0, 2000);
  for (const char* text : {"Figure 1: emotion class frequency", "Figure 2a: dev Pearson r, empathy",
                           "Figure 2b: dev Pearson r, distress",
                           "Figure 3: normalized dev confusion matrix, electra-seed-3",
                           "electra-seed-4", "Table 2", "ELECTRA base RA"}) {
    EXPECT_THAT(dom, HasSubstr(text));
  }
}

TEST_F(ReportRenderTest, TheAttributionViewShadesEveryWordOfTheFirstDevEssays) {
  const auto result = chromium("--dump-dom");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& dom = result.out;
  EXPECT_THAT(dom, HasSubstr("Which words drove the predictions"));
  // Two runs × three essays × (empathy, distress, the predicted emotion).
  std::size_t views = 0, words = 0;
  for (auto at = dom.find("<p class=\"attributed\">"); at != std::string::npos;
       at = dom.find("<p class=\"attributed\">", at + 1)) {
    ++views;
  }
  for (auto at = dom.find("<span class=\"word\""); at != std::string::npos;
       at = dom.find("<span class=\"word\"", at + 1)) {
    ++words;
  }
  EXPECT_EQ(views, 2u * 3u * 3u);
  EXPECT_GT(words, views * 5);
  EXPECT_THAT(dom, HasSubstr("electra-seed-3: dev essay"));
  EXPECT_THAT(dom, HasSubstr("emotion:"));
  // In every view the word with the largest |attribution| has the full shade.
  EXPECT_THAT(dom, HasSubstr(", 0.600)\""));
}

TEST_F(ReportRenderTest, TheScreenshotShowsBarsAndHeatMapCells) {
  const auto shot = temp_->path() / "report.png";
  const auto image = testing::screenshot(chromium, shot, kWidth, kHeight);
  ASSERT_EQ(image.width, kWidth);
  ASSERT_EQ(image.height, kHeight);

  std::size_t not_white = 0, bar = 0, heat_cell = 0;
  for (std::size_t i = 0; i + 2 < image.rgb.size(); i += 3) {
    const int r = image.rgb[i], g = image.rgb[i + 1], b = image.rgb[i + 2];
    if (r < 245 || g < 245 || b < 245) ++not_white;
    // The bar colour #4c78a8, allowing for anti-aliasing at the edges.
    if (std::abs(r - 0x4c) <= 6 && std::abs(g - 0x78) <= 6 && std::abs(b - 0xa8) <= 6) ++bar;
    // Heat-map cells are rgb(255 - 247 s, 255 - 207 s, 255 - 148 s) for a row share s; every
    // row has a share of at least 1/7. Neither the bars nor their anti-aliased edges lie on
    // that line.
    const double share = (255.0 - r) / 247.0;
    if (share > 0.13 && std::abs(g - (255.0 - 207.0 * share)) <= 3.0 &&
        std::abs(b - (255.0 - 148.0 * share)) <= 3.0) {
      ++heat_cell;
    }
  }
  const double pixels = static_cast<double>(image.width) * image.height;
  EXPECT_GT(not_white / pixels, 0.02) << "the page looks blank";
  EXPECT_LT(not_white / pixels, 0.8) << "the page looks filled";
  // Figure 1 alone has seven bars of at least a few pixels across.
  EXPECT_GT(bar, 2000u) << "no chart bars in the screenshot";
  // Two heat maps, each with at least seven such cells of some 50 x 50 pixels.
  EXPECT_GT(heat_cell, 5000u) << "no heat-map cells in the screenshot";
  if (const char* keep = std::getenv("EMOTUNE_KEEP_SCREENSHOT"); keep && *keep) {
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace emotune
