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

#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path from_env_or(const char* name, const fs::path& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? fs::path(value) : fallback;
}

fs::path shared_dir() {
  return fs::path(__FILE__).parent_path().parent_path() / ".." / "shared";
}

// A field of the WASSA TSV: quoted fields lose their outer quotes and "" becomes ".
std::string unquote(std::string field) {
  if (field.size() < 2 || field.front() != '"' || field.back() != '"') return field;
  std::string out;
  for (std::size_t i = 1; i + 1 < field.size(); ++i) {
    out += field[i];
    if (field[i] == '"' && field[i + 1] == '"') ++i;
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
    fields.push_back(line.substr(start, tab - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

// The `essay` column of messages_train_ready_for_WS.tsv, found by its header name.
const std::vector<std::string>& wassa_train_essays() {
  static const std::vector<std::string> essays = [] {
    const auto file = from_env_or("EMOTUNE_DATA", shared_dir() / "data") / "wassa2021" /
                      "messages_train_ready_for_WS.tsv";
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot open " + file.string());
    std::string line;
    std::getline(in, line);
    const auto header = split_tabs(line);
    std::size_t column = header.size();
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "essay") column = i;
    }
    if (column == header.size()) throw std::runtime_error(file.string() + ": no essay column");
    std::vector<std::string> out;
    while (std::getline(in, line)) {
      const auto fields = split_tabs(line);
      if (fields.size() != header.size()) {
        throw std::runtime_error(file.string() + ": row " + std::to_string(out.size() + 2) +
                                 " has " + std::to_string(fields.size()) + " fields");
      }
      out.push_back(unquote(fields[column]));
    }
    return out;
  }();
  return essays;
}

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
      slot = emotune::text::load_tokenizer(
          from_env_or("EMOTUNE_HF_FIXTURES", shared_dir() / "fixtures" / "hf") / family);
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
  const auto& essays = wassa_train_essays();
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
  const auto& essays = wassa_train_essays();
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
