// Byte-level BPE (RoBERTa) speed on the 1860 WASSA 2021 training essays, single thread.
// Run: build/byte_bpe_bench [--benchmark_repetitions=5 --benchmark_report_aggregates_only]
// Data: $EMOTUNE_DATA and $EMOTUNE_HF_FIXTURES, else ../shared/... from the current folder.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_data.h"
#include "text/byte_bpe.h"
#include "text/gpt2_pretokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path roberta_dir() {
  return emotune::bench::fixtures_dir() / "roberta";
}

const std::vector<std::string>& essays() {
  return emotune::bench::wassa_train_essays();
}

void BM_ByteBpeEncodeEssays(benchmark::State& state) {
  const auto tokenizer = emotune::text::load_byte_bpe_tokenizer(roberta_dir());
  std::int64_t tokens = 0;
  for (auto _ : state) {
    for (const auto& essay : essays()) {
      const auto ids = tokenizer->encode_without_specials(essay);
      tokens += static_cast<std::int64_t>(ids.size());
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["essays"] = static_cast<double>(essays().size());
}
BENCHMARK(BM_ByteBpeEncodeEssays)->Unit(benchmark::kMillisecond);

// A fresh tokenizer per pass: every word goes through BPE once (load time excluded).
void BM_ByteBpeEncodeEssaysColdCache(benchmark::State& state) {
  std::int64_t tokens = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto tokenizer = emotune::text::load_byte_bpe_tokenizer(roberta_dir());
    state.ResumeTiming();
    for (const auto& essay : essays()) {
      tokens += static_cast<std::int64_t>(tokenizer->encode_without_specials(essay).size());
    }
    state.PauseTiming();
    tokenizer.reset();
    state.ResumeTiming();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ByteBpeEncodeEssaysColdCache)->Unit(benchmark::kMillisecond);

void BM_Gpt2PreTokenizeEssays(benchmark::State& state) {
  const emotune::text::Gpt2PreTokenizer pretokenizer;
  std::vector<std::string_view> words;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    for (const auto& essay : essays()) {
      words.clear();
      pretokenizer.split(essay, words);
      bytes += static_cast<std::int64_t>(essay.size());
    }
    benchmark::DoNotOptimize(words.data());
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_Gpt2PreTokenizeEssays)->Unit(benchmark::kMillisecond);

void BM_ByteBpeLoad(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(emotune::text::load_byte_bpe_tokenizer(roberta_dir()));
  }
}
BENCHMARK(BM_ByteBpeLoad)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
