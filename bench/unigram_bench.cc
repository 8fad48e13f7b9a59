// Single-thread throughput of the ALBERT (SentencePiece unigram) tokenizer on the 1860 WASSA
// 2021 training essays. Set EMOTUNE_DATA and EMOTUNE_HF_FIXTURES (defaults: ../shared/...).
//   build/unigram_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "bench_data.h"
#include "common/error.h"
#include "common/files.h"
#include "text/albert_normalizer.h"
#include "text/tokenizer.h"
#include "text/unigram.h"

namespace {

namespace fs = std::filesystem;

fs::path albert_dir() {
  return emotune::bench::fixtures_dir() / "albert";
}

const std::vector<std::string>& essays() {
  return emotune::bench::wassa_train_essays();
}

const emotune::text::Tokenizer& albert() {
  static const auto tokenizer = emotune::text::load_unigram_tokenizer(albert_dir());
  return *tokenizer;
}

void BM_UnigramEncodeEssays(benchmark::State& state) {
  const auto& texts = essays();
  const auto& tokenizer = albert();
  std::int64_t tokens = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    for (const auto& text : texts) {
      const auto ids = tokenizer.encode_without_specials(text);
      tokens += static_cast<std::int64_t>(ids.size());
      bytes += static_cast<std::int64_t>(text.size());
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["essays/s"] = benchmark::Counter(
      static_cast<double>(texts.size() * state.iterations()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_UnigramEncodeEssays)->Unit(benchmark::kMillisecond);

void BM_UnigramTokenizeEssays(benchmark::State& state) {
  const auto& texts = essays();
  const auto& tokenizer = albert();
  std::int64_t tokens = 0;
  for (auto _ : state) {
    for (const auto& text : texts) {
      const auto pieces = tokenizer.tokenize(text);
      tokens += static_cast<std::int64_t>(pieces.size());
      benchmark::DoNotOptimize(pieces.data());
    }
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UnigramTokenizeEssays)->Unit(benchmark::kMillisecond);

// The Python-side pre-processing alone (whitespace, quotes, NFKD, lowercase).
void BM_AlbertPreprocessEssays(benchmark::State& state) {
  const auto& texts = essays();
  const emotune::text::AlbertPreprocessOptions options;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    for (const auto& text : texts) {
      const auto out = emotune::text::albert_preprocess(text, options);
      bytes += static_cast<std::int64_t>(text.size());
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_AlbertPreprocessEssays)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
