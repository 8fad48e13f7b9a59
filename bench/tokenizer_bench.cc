// Tokenizer throughput on the 1860 WASSA 2021 training essays, one thread, exact ids.
// Data: $EMOTUNE_DATA (default ../shared/data next to the source tree); checkpoints:
// $EMOTUNE_HF_FIXTURES (default ../shared/fixtures/hf).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_data.h"
#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

void report(benchmark::State& state, std::size_t tokens_per_pass, std::size_t essays) {
  const auto passes = static_cast<double>(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(passes * static_cast<double>(tokens_per_pass),
                                                  benchmark::Counter::kIsRate);
  state.counters["essays/s"] =
      benchmark::Counter(passes * static_cast<double>(essays), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens_per_pass);
}

// Loads `family`'s fixture tokenizer once; null (and the benchmark skipped) if it throws.
const emotune::text::Tokenizer* tokenizer_for(benchmark::State& state, const std::string& family) {
  static std::map<std::string, std::unique_ptr<emotune::text::Tokenizer>> cache;
  auto& slot = cache[family];
  if (!slot) {
    try {
      slot = emotune::text::load_tokenizer(emotune::bench::fixtures_dir() / family);
    } catch (const std::exception& e) {
      state.SkipWithError((family + ": " + e.what()).c_str());
      return nullptr;
    }
  }
  return slot.get();
}

// Ids without the specials, as the training input pipeline uses them.
void BM_EncodeEssays(benchmark::State& state, const std::string& family) {
  const auto* tokenizer = tokenizer_for(state, family);
  if (tokenizer == nullptr) return;
  const auto& essays = emotune::bench::wassa_train_essays();
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const auto& essay : essays) {
      const auto ids = tokenizer->encode_without_specials(essay);
      tokens += ids.size();
      benchmark::DoNotOptimize(ids.data());
    }
  }
  report(state, tokens, essays.size());
}

// The token strings (HF tokenize()), as the `tokenize` command prints them.
void BM_TokenizeEssays(benchmark::State& state, const std::string& family) {
  const auto* tokenizer = tokenizer_for(state, family);
  if (tokenizer == nullptr) return;
  const auto& essays = emotune::bench::wassa_train_essays();
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const auto& essay : essays) {
      const auto pieces = tokenizer->tokenize(essay);
      tokens += pieces.size();
      benchmark::DoNotOptimize(pieces.data());
    }
  }
  report(state, tokens, essays.size());
}

}  // namespace

BENCHMARK_CAPTURE(BM_EncodeEssays, wordpiece_bert, std::string("bert"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeEssays, byte_bpe_roberta, std::string("roberta"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeEssays, unigram_albert, std::string("albert"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizeEssays, wordpiece_bert, std::string("bert"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizeEssays, byte_bpe_roberta, std::string("roberta"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizeEssays, unigram_albert, std::string("albert"))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
