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

#include "text/byte_bpe.h"
#include "text/gpt2_pretokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path find_dir(const char* variable, const fs::path& relative) {
  if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  for (const fs::path up : {"..", "../.."}) {
    if (fs::is_directory(up / relative)) return up / relative;
  }
  throw std::runtime_error(std::string("set ") + variable);
}

// The essay column of the training TSV, read minimally (no quoting in this file).
const std::vector<std::string>& essays() {
  static const std::vector<std::string> texts = [] {
    const auto file =
        find_dir("EMOTUNE_DATA", "shared/data") / "wassa2021" / "messages_train_ready_for_WS.tsv";
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    std::size_t column = 0;
    for (std::size_t pos = 0, next; (next = line.find('\t', pos)) != std::string::npos;
         pos = next + 1, ++column) {
      if (line.compare(pos, next - pos, "essay") == 0) break;
    }
    std::vector<std::string> out;
    while (std::getline(in, line)) {
      std::size_t pos = 0;
      for (std::size_t i = 0; i < column; ++i) pos = line.find('\t', pos) + 1;
      out.push_back(line.substr(pos, line.find('\t', pos) - pos));
    }
    if (out.size() < 1000)
      throw std::runtime_error("could not read the essays of " + file.string());
    return out;
  }();
  return texts;
}

fs::path roberta_dir() {
  return find_dir("EMOTUNE_HF_FIXTURES", "shared/fixtures/hf") / "roberta";
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
