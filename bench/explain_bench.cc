// What an explanation costs: RunExplainer::explain (integrated gradients, reference fp32
// forward + one backward pass per output at every step) on WASSA train essays truncated to
// max_length 128, random weights at the quick start's shape ("tiny": 4 layers, hidden 128, the
// fixture ELECTRA vocabulary) or ELECTRA-base's (12 layers, hidden 768). Prints essays/s for
// one output (what the page asks for at a time) and for all nine outputs, median of the rounds,
// plus the largest completeness gap seen.
//
//   explain_bench [--shape tiny|base] [--essays N] [--steps S] [--rounds R] [--threads T]

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "base_model.h"
#include "bench_data.h"
#include "predict/explainer.h"
#include "runtime/process.h"
#include "runtime/threads.h"

namespace fs = std::filesystem;
using namespace emotune;

int main(int argc, char** argv) {
  emotune::runtime::prepare_process(argv);
  std::string shape = "tiny";
  std::size_t essay_count = 0;
  std::size_t steps = 32;
  int rounds = 3;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--shape" && has_value) {
      shape = argv[++i];
    } else if (arg == "--essays" && has_value) {
      essay_count = std::stoul(argv[++i]);
    } else if (arg == "--steps" && has_value) {
      steps = std::stoul(argv[++i]);
    } else if (arg == "--rounds" && has_value) {
      rounds = std::stoi(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      threads = std::stoi(argv[++i]);
    } else {
      fmt::print(stderr,
                 "usage: explain_bench [--shape tiny|base] [--essays N] [--steps S] [--rounds R] "
                 "[--threads T]\n");
      return 2;
    }
  }
  if (shape != "tiny" && shape != "base") {
    fmt::print(stderr, "--shape: tiny or base\n");
    return 2;
  }
  if (essay_count == 0) essay_count = shape == "tiny" ? 16 : 2;
  constexpr std::size_t kMaxLength = 128;
  runtime::configure_threads(threads);
  const auto folder = fs::temp_directory_path() / fmt::format("emotune-explain-{}", ::getpid());
  bench::make_base_model(folder, bench::fixtures_dir(), kMaxLength,
                         shape == "tiny" ? bench::kTinyShape : bench::kBaseShape);
  predict::RunExplainer explainer(folder, {threads, "cpu"});
  const auto& texts = bench::wassa_train_essays();
  fmt::print("explain: {} shape (random weights), {} WASSA train essays, max_length {}, {} steps "
             "(Gauss-Legendre), {} threads, median of {} rounds\n",
             shape, essay_count, kMaxLength, steps, threads, rounds);
  for (const bool all : {false, true}) {
    predict::ExplainOptions options;
    options.method.steps = steps;
    if (!all) options.outputs = {"empathy"};
    std::vector<double> rates;
    double worst_gap = 0;
    for (int round = 0; round < rounds; ++round) {
      const auto started = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < essay_count && i < texts.size(); ++i) {
        const auto explanation = explainer.explain({texts[i], std::nullopt}, options);
        for (const auto& output : explanation.outputs) {
          worst_gap = std::max(worst_gap, std::abs(output.completeness_gap));
        }
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      rates.push_back(static_cast<double>(essay_count) / seconds);
    }
    fmt::print("  {:<22} {:8.3f} essays/s  ({:.2f} s an essay; largest |gap| {:.1e})\n",
               all ? "all 9 outputs" : "one output (empathy)", bench::median(rates),
               1.0 / bench::median(rates), worst_gap);
  }
  fs::remove_all(folder);
  return 0;
}
