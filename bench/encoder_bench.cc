// Encoder forward throughput at ELECTRA-base shape with random weights:
//   build/encoder_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// essays/s = items_per_second; gflops = achieved matmul GFLOP/s; gemm_fraction = gflops over
// this machine's fp32 GEMM rate (runtime::measure_gemm, 1024x1024, same thread count).

#include <benchmark/benchmark.h>

#include <chrono>

#include <fmt/format.h>

#include <ATen/Parallel.h>

#include "io/hf_config.h"
#include "model/encoder.h"
#include "model/layers.h"
#include "bench_main.h"
#include "runtime/doctor.h"
#include "runtime/threads.h"

namespace {

using namespace emotune;

constexpr int kThreads = 2;
constexpr std::int64_t kBatch = 8;

io::HfConfig electra_base_config() {
  return io::parse_hf_config(R"({
    "model_type": "electra", "vocab_size": 30522, "embedding_size": 768, "hidden_size": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "pad_token_id": 0})",
                             "electra-base (bench)");
}

double gemm_gflops() {
  static const double value = [] {
    runtime::configure_threads(kThreads);
    return runtime::measure_gemm(1.0, 1024).gflops;
  }();
  return value;
}

// Matmul FLOPs of one forward: per token and layer 8H^2 (q, k, v, output) + 4HI (FFN)
// + 4LH (scores and context).
double forward_flops(const io::HfConfig& c, std::int64_t batch, std::int64_t length) {
  const double h = static_cast<double>(c.hidden_size);
  const double per_token = 8 * h * h + 4 * h * static_cast<double>(c.intermediate_size) +
                           4 * static_cast<double>(length) * h;
  return per_token * static_cast<double>(batch * length * c.num_hidden_layers);
}

void BM_EncoderForward(benchmark::State& state) {
  const auto length = state.range(0);
  const auto dtype = state.range(1) == 0 ? torch::kFloat : torch::kBFloat16;
  const double gemm = gemm_gflops();
  runtime::configure_threads(kThreads);
  const auto config = electra_base_config();
  torch::manual_seed(0);
  auto encoder = model::build_encoder(config);
  model::initialize_weights(*encoder, config.initializer_range);
  encoder->to(dtype);
  encoder->eval();
  const auto ids = torch::randint(1, config.vocab_size, {kBatch, length}, torch::kLong);
  const auto mask = torch::ones({kBatch, length}, torch::kLong);
  torch::InferenceMode inference;
  encoder->forward(ids, mask, {});  // warm-up: allocator, oneDNN primitives
  const auto started = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = encoder->forward(ids, mask, {});
    benchmark::DoNotOptimize(out.data_ptr());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  state.SetItemsProcessed(state.iterations() * kBatch);
  const double gflops = forward_flops(config, kBatch, length) * 1e-9 *
                        static_cast<double>(state.iterations()) / seconds;
  state.counters["essays_per_s"] = static_cast<double>(state.iterations() * kBatch) / seconds;
  state.counters["gflops"] = gflops;
  state.counters["gemm_gflops"] = gemm;
  state.counters["gemm_fraction"] = gflops / gemm;
  state.counters["threads"] = at::get_num_threads();
  state.SetLabel(fmt::format("{}x{} {}", kBatch, length, dtype == torch::kFloat ? "fp32" : "bf16"));
}

BENCHMARK(BM_EncoderForward)
    ->ArgNames({"len", "bf16"})
    ->Args({128, 0})
    ->Args({256, 0})
    ->Args({128, 1})
    ->Args({256, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace

EMOTUNE_BENCHMARK_MAIN()
