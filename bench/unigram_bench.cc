// Single-thread throughput of the ALBERT (SentencePiece unigram) tokenizer on the 1860 WASSA
// 2021 training essays. Set EMOTUNE_DATA and EMOTUNE_HF_FIXTURES (defaults: ../shared/...).
//   build/unigram_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "text/albert_normalizer.h"
#include "text/tokenizer.h"
#include "text/unigram.h"

namespace {

namespace fs = std::filesystem;

fs::path shared_dir() {
  return fs::path(__FILE__).parent_path().parent_path() / ".." / "shared";
}

fs::path data_dir() {
  if (auto value = emotune::env("EMOTUNE_DATA")) return *value;
  return shared_dir() / "data";
}

fs::path albert_dir() {
  if (auto value = emotune::env("EMOTUNE_HF_FIXTURES")) return fs::path(*value) / "albert";
  return shared_dir() / "fixtures" / "hf" / "albert";
}

// The `essay` column of the training TSV (plain tab-separated, no quoting).
const std::vector<std::string>& essays() {
  static const std::vector<std::string> rows = [] {
    const auto file = data_dir() / "wassa2021" / "messages_train_ready_for_WS.tsv";
    std::istringstream in(emotune::read_file(file));
    std::string line;
    std::getline(in, line);
    std::size_t column = 0;
    {
      std::istringstream header(line);
      std::string name;
      while (std::getline(header, name, '\t') && name != "essay") ++column;
    }
    std::vector<std::string> out;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string field;
      for (std::size_t i = 0; i <= column && std::getline(fields, field, '\t'); ++i) {
      }
      out.push_back(field);
    }
    if (out.empty()) throw emotune::error_in(file, "no essays found");
    return out;
  }();
  return rows;
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
