// Loading and augmenting the data sets: how long `emotune data stats` and a training run
// spend before the first batch. Data from $EMOTUNE_DATA (default ../shared/data).
#include <benchmark/benchmark.h>

#include "common/files.h"
#include "data/augment.h"
#include "data/goemotions.h"
#include "data/stats.h"
#include "data/wassa.h"
#include "io/tsv.h"

namespace {

using namespace emotune;

std::filesystem::path data_dir() {
  return env("EMOTUNE_DATA").value_or("../shared/data");
}

void BM_ParseTsvInMemory(benchmark::State& state) {
  const auto file = data_dir() / "goemotions" / "train.tsv";
  const std::string bytes = read_file(file);
  for (auto _ : state) {
    auto table = io::parse_tsv(bytes, file, io::TsvOptions{.has_header = false, .field_count = 3});
    benchmark::DoNotOptimize(table.rows.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_ParseTsvInMemory)->Unit(benchmark::kMillisecond);

void BM_LoadWassaTrain(benchmark::State& state) {
  for (auto _ : state) {
    auto split = data::load_wassa(data_dir(), data::Split::train);
    benchmark::DoNotOptimize(split.rows.data());
  }
}
BENCHMARK(BM_LoadWassaTrain)->Unit(benchmark::kMillisecond);

void BM_LoadWassaDevJoined(benchmark::State& state) {
  for (auto _ : state) {
    auto split = data::load_wassa(data_dir(), data::Split::dev);
    benchmark::DoNotOptimize(split.rows.data());
  }
}
BENCHMARK(BM_LoadWassaDevJoined)->Unit(benchmark::kMillisecond);

void BM_LoadGoEmotionsTrain(benchmark::State& state) {
  for (auto _ : state) {
    auto split = data::load_goemotions(data_dir(), data::Split::train);
    benchmark::DoNotOptimize(split.rows.data());
  }
}
BENCHMARK(BM_LoadGoEmotionsTrain)->Unit(benchmark::kMillisecond);

void BM_BuildTrainSet(benchmark::State& state) {
  const auto wassa = data::load_wassa(data_dir(), data::Split::train);
  const auto goemotions = data::load_goemotions(data_dir(), data::Split::train);
  const auto mode = static_cast<data::AugmentMode>(state.range(0));
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto set = data::build_train_set(wassa, goemotions, {mode, 0, ++seed});
    benchmark::DoNotOptimize(set.examples.data());
  }
  state.SetLabel(std::string(data::augment_mode_name(mode)));
}
BENCHMARK(BM_BuildTrainSet)
    ->Arg(static_cast<int>(data::AugmentMode::balanced))
    ->Arg(static_cast<int>(data::AugmentMode::random))
    ->Unit(benchmark::kMillisecond);

void BM_CountWords(benchmark::State& state) {
  const auto wassa = data::load_wassa(data_dir(), data::Split::train);
  for (auto _ : state) {
    std::size_t words = 0;
    for (const auto& row : wassa.rows) words += data::count_words(row.text);
    benchmark::DoNotOptimize(words);
  }
}
BENCHMARK(BM_CountWords)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
