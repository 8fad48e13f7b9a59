// Training throughput (forward + backward + AdamW) at ELECTRA-base shape, random weights,
// batch 8 of real WASSA train essays (max_length 512): dynamic padding to the longest in each
// batch vs padding every batch to 512, in the same run.
//   build/train_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// essays/s = items_per_second. EMOTUNE_BENCH_DEVICE=cuda (or cuda:N) times it on a GPU
// (scripts/gpu_check.sh); the default is the CPU.

#include <benchmark/benchmark.h>

#include <filesystem>

#include <torch/cuda.h>

#include "common/files.h"
#include "data/wassa.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "runtime/device.h"
#include "runtime/threads.h"
#include "text/tokenizer.h"
#include "train/batcher.h"
#include "train/optim.h"
#include "bench_main.h"

namespace {

using namespace emotune;
namespace fs = std::filesystem;

constexpr std::int64_t kBatch = 8;
constexpr int kThreads = 2;

struct Fixture {
  std::vector<train::Example> examples;
  std::vector<train::EncodedExample> encoded;
  fs::path config_file;
  std::int64_t pad_id = 0;
};

// $EMOTUNE_DATA / $EMOTUNE_HF_FIXTURES, else the shared folder beside the source tree.
fs::path shared_path(const char* variable, const char* relative) {
  if (const auto value = env(variable)) return *value;
  return fs::path(__FILE__).parent_path() / ".." / ".." / "shared" / relative;
}

const Fixture& fixture() {
  static const Fixture value = [] {
    Fixture f;
    const auto wassa = data::load_wassa(shared_path("EMOTUNE_DATA", "data"), data::Split::train);
    const auto tokenizer =
        text::load_tokenizer(shared_path("EMOTUNE_HF_FIXTURES", "fixtures/hf") / "electra");
    f.pad_id = tokenizer->special_ids().pad;
    for (const auto& row : wassa.rows) {
      f.examples.push_back({row.id, row.text, row.empathy, row.distress, row.emotion});
      f.encoded.push_back({tokenizer->encode(row.text, 512).input_ids, f.encoded.size()});
    }
    f.config_file = fs::temp_directory_path() / "emotune_train_bench_electra_base.json";
    write_file_atomic(f.config_file, R"({
      "model_type": "electra", "vocab_size": 30522, "embedding_size": 768, "hidden_size": 768,
      "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
      "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
      "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
      "pad_token_id": 0})");
    return f;
  }();
  return value;
}

void BM_TrainStep(benchmark::State& state) {
  const bool pad_to_512 = state.range(0) == 1;
  runtime::configure_threads(kThreads);
  const auto& f = fixture();
  torch::manual_seed(0);
  model::TaskModel task_model(model::create_encoder(f.config_file),
                              std::vector<model::Task>{model::Task::empathy, model::Task::distress},
                              0.1);
  const auto device = runtime::parse_device(env("EMOTUNE_BENCH_DEVICE").value_or("cpu"));
  task_model->to(device);
  task_model->train();
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : task_model->named_parameters())
    named.emplace_back(item.key(), item.value());
  train::AdamW optimizer(named, train::AdamWOptions{});
  const auto order = train::epoch_order(f.encoded.size(), 1, 0);
  const auto batches = train::make_batches(order, kBatch, f.encoded, false, 1, 0);
  std::size_t next = 0;
  std::int64_t tokens = 0;
  for (auto _ : state) {
    const auto batch = train::collate(batches[next++ % batches.size()], f.encoded, f.examples,
                                      task_model->tasks(), f.pad_id, pad_to_512 ? 512 : 0);
    tokens += batch.input_ids.numel();
    optimizer.zero_grad();
    const auto outputs = task_model->forward(
        batch.input_ids.to(device), batch.attention_mask.to(device), batch.token_type_ids.to(device));
    model::TaskTargets targets;
    for (const auto& [task, target] : batch.targets) targets[task] = target.to(device);
    model::task_loss(outputs, targets).backward();
    optimizer.step();
    if (device.is_cuda()) torch::cuda::synchronize();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["padded_tokens_per_batch"] =
      static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

// Few iterations: one padded-to-512 step at ELECTRA-base shape takes minutes on 2 shared cores.
BENCHMARK(BM_TrainStep)
    ->Arg(0)
    ->ArgName("pad512")
    ->Iterations(3)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_TrainStep)
    ->Arg(1)
    ->ArgName("pad512")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

EMOTUNE_BENCHMARK_MAIN()
