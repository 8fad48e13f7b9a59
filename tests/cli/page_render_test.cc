// The page at `/` of `emotune serve`, driven by a real browser: a tiny run is trained here on
// the fixture ELECTRA, `emotune serve` runs it on 127.0.0.1, and headless Chromium opens
// /?essay=...&analyse=1 — the page fills the essay box and submits the form as a user would
// (requestSubmit), fetches /v1/predict and /v1/explain, and renders. Chromium's virtual time
// waits for those requests, then the DOM is dumped (scores, 7 emotion bars, one shaded span per
// word) and a screenshot is checked for the attribution shading.
// Skipped only when Chromium is not installed (Debian package `chromium`, see setup.sh).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/headless_browser.h"
#include "common/files.h"
#include "common/test_paths.h"

extern char** environ;

namespace emotune {
namespace {

namespace fs = std::filesystem;
using testing::find_chromium;
using testing::run_cli;
using testing::run_command;
using testing::shell_quote;

// 21 whitespace-separated words.
constexpr const char* kEssay =
    "I cried when I read about the flood. The families lost their homes, and nobody came to "
    "help them for days.";
constexpr std::size_t kEssayWords = 21;
constexpr int kWidth = 1200;
constexpr int kHeight = 1800;

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}


// Whether (r, g, b) is white blended with `colour` at an opacity in [0.04, 0.62], the range
// the page shades words with (the swatches of the legend use 0.6).
bool is_shade_of(int r, int g, int b, const int (&colour)[3]) {
  const int channel[3] = {r, g, b};
  // The channel that moves most gives the opacity; the other two must follow it.
  int widest = 0;
  for (int c = 1; c < 3; ++c)
    if (255 - colour[c] > 255 - colour[widest]) widest = c;
  const double alpha = (255.0 - channel[widest]) / (255.0 - colour[widest]);
  if (alpha < 0.04 || alpha > 0.62) return false;
  for (int c = 0; c < 3; ++c) {
    if (std::abs(channel[c] - (255.0 - alpha * (255.0 - colour[c]))) > 3.0) return false;
  }
  return true;
}

class PageRenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chromium_ = find_chromium();
    if (chromium_.empty()) return;
    temp_ = std::make_unique<testing::TempDir>();
    const auto config = temp_->path() / "tiny.toml";
    write_file_atomic(config, testing::tiny_electra_config(
                                  64, "max_steps = 2\nhead_bias_init = \"train_targets\"\n"));
    const auto run = temp_->path() / "run";
    const auto trained = run_cli("--threads 1 --log-level warn train " +
                                 shell_quote(config.string()) + " --data " +
                                 shell_quote(testing::data_dir().string()) +
                                 " --no-progress --seeds 1 --out " + shell_quote(run.string()));
    ASSERT_EQ(trained.exit_code, 0) << trained.err;

    port_ = testing::free_port();
    ASSERT_GT(port_, 0);
    log_ = temp_->path() / "serve.log";
    const std::vector<std::string> args = {testing::cli_path().string(), "--threads", "1",
                                           "serve", run.string(), "--port", std::to_string(port_)};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&server_pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1, 0);
    for (int attempt = 0; attempt < 600 && !up_; ++attempt) {
      auto health = client.Get("/healthz");
      up_ = health && health->status == 200;
      if (!up_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up_) << "emotune serve did not come up: " << read_file(log_);
  }

  static void TearDownTestSuite() {
    if (server_pid_ > 0) {
      ::kill(server_pid_, SIGTERM);
      ::waitpid(server_pid_, nullptr, 0);
      server_pid_ = -1;
    }
    temp_.reset();
  }

  void SetUp() override {
    if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
    ASSERT_TRUE(up_) << "the service is not running";
  }

  // Chromium (throw-away profile and HOME) on the page with the essay, analysed on load.
  // Virtual time runs until the page's requests are answered and rendered.
  static testing::CommandResult chromium(const std::string& arguments) {
    const std::string url = "http://127.0.0.1:" + std::to_string(port_) +
                            "/?analyse=1&essay=" + url_encode(kEssay);
    return testing::run_headless_chromium(chromium_, temp_->path() / "chromium-profile",
                                          "--virtual-time-budget=90000 " + arguments, url, 120);
  }

  static std::string chromium_;
  static std::unique_ptr<testing::TempDir> temp_;
  static fs::path log_;
  static int port_;
  static pid_t server_pid_;
  static bool up_;
};
std::string PageRenderTest::chromium_;
std::unique_ptr<testing::TempDir> PageRenderTest::temp_;
fs::path PageRenderTest::log_;
int PageRenderTest::port_ = 0;
pid_t PageRenderTest::server_pid_ = -1;
bool PageRenderTest::up_ = false;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

double number_in(const std::string& dom, const std::string& id) {
  const std::regex pattern("id=\"" + id + "\">([-0-9.]+)<");
  std::smatch match;
  if (!std::regex_search(dom, match, pattern)) {
    ADD_FAILURE() << "no number in #" << id;
    return -1e9;
  }
  return std::stod(match[1]);
}

TEST_F(PageRenderTest, SubmittingAnEssayShowsScoresBarsAndOneShadedSpanPerWord) {
  const auto result = chromium("--dump-dom");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& dom = result.out;
  ASSERT_NE(dom.find("data-state=\"done\""), std::string::npos)
      << "the page did not finish: " << dom.substr(0, 4000) << "\nserver log:\n"
      << read_file(log_);
  EXPECT_EQ(dom.find("id=\"error\" role=\"alert\" class=\"error\">"), std::string::npos)
      << "an error was shown";

  const double empathy = number_in(dom, "empathy-value");
  const double distress = number_in(dom, "distress-value");
  EXPECT_GE(empathy, 1.0);
  EXPECT_LE(empathy, 7.0);
  EXPECT_GE(distress, 1.0);
  EXPECT_LE(distress, 7.0);

  EXPECT_EQ(count(dom, "<li class=\"emotion-bar"), 7u);
  EXPECT_EQ(count(dom, "class=\"emotion-bar predicted\""), 1u);
  double total = 0;
  const std::regex probability("data-probability=\"([-0-9.e]+)\"");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), probability);
       it != std::sregex_iterator(); ++it) {
    total += std::stod((*it)[1]);
  }
  EXPECT_NEAR(total, 1.0, 1e-6);

  // One span per word of the essay, each carrying its attribution and a shade.
  EXPECT_EQ(count(dom, "<span class=\"word\""), kEssayWords);
  EXPECT_EQ(count(dom, "data-attribution="), kEssayWords);
  EXPECT_NE(dom.find(">flood.</span>"), std::string::npos);
  EXPECT_TRUE(dom.find("rgba(230, 97, 1") != std::string::npos ||
              dom.find("rgba(94, 60, 153") != std::string::npos)
      << "no word is shaded";
  // The output selector offers every output of the run, empathy first.
  EXPECT_EQ(count(dom, "<option value="), 9u);
  EXPECT_NE(dom.find("add up to"), std::string::npos);
}

TEST_F(PageRenderTest, TheScreenshotShowsShadedWords) {
  const auto shot = temp_->path() / "page.png";
  const auto image = testing::screenshot(chromium, shot, kWidth, kHeight);
  ASSERT_EQ(image.width, kWidth);
  ASSERT_EQ(image.height, kHeight);
  constexpr int kRaises[3] = {230, 97, 1};
  constexpr int kLowers[3] = {94, 60, 153};
  constexpr int kBar[3] = {0x2f, 0x6d, 0xb5};
  std::size_t raises = 0, lowers = 0, bars = 0;
  for (std::size_t i = 0; i + 2 < image.rgb.size(); i += 3) {
    const int r = image.rgb[i], g = image.rgb[i + 1], b = image.rgb[i + 2];
    raises += is_shade_of(r, g, b, kRaises);
    lowers += is_shade_of(r, g, b, kLowers);
    bars += std::abs(r - kBar[0]) <= 4 && std::abs(g - kBar[1]) <= 4 && std::abs(b - kBar[2]) <= 4;
  }
  // The legend's two swatches hold about 2 × 16 × 16 shaded pixels; the words far more.
  EXPECT_GT(raises + lowers, 3000u) << "raises " << raises << ", lowers " << lowers;
  // The scales and the emotion bars.
  EXPECT_GT(bars, 1000u);
  if (const char* keep = std::getenv("EMOTUNE_KEEP_SCREENSHOT"); keep && *keep) {
    fs::copy_file(shot, std::string(keep) + ".page.png", fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace emotune
