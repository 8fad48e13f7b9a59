// The data-parallel gradient exchange alone: DataParallel::average_gradients (flatten into
// 25 MB buckets, Gloo all-reduce, average, copy back) between 2 ranks over 127.0.0.1, for the
// gradients of an ELECTRA-small-shaped (13.5 M parameters) and an ELECTRA-base-shaped
// (109 M) encoder. The two ranks are two threads of this process with their own Gloo groups
// (the same TCP transport as two processes). One intra-op thread. Each iteration also pays
// three tiny broadcasts that keep the ranks in step (well under a millisecond).
//   build/allreduce_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// bytes_per_second = gradient bytes exchanged per rank per step.

#include <benchmark/benchmark.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "runtime/threads.h"
#include "train/distributed.h"
#include "bench_main.h"

namespace {

using namespace emotune;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Parameter shapes of an ELECTRA encoder (embeddings, then per layer Q, K, V, O, FFN, norms).
std::vector<std::vector<std::int64_t>> electra_shapes(std::int64_t hidden, std::int64_t layers,
                                                      std::int64_t ffn, std::int64_t embedding) {
  std::vector<std::vector<std::int64_t>> shapes{
      {30522, embedding}, {512, embedding}, {2, embedding}, {embedding}, {embedding}};
  if (embedding != hidden) shapes.push_back({hidden, embedding});
  for (std::int64_t l = 0; l < layers; ++l) {
    for (int i = 0; i < 4; ++i) {
      shapes.push_back({hidden, hidden});
      shapes.push_back({hidden});
    }
    shapes.push_back({hidden});
    shapes.push_back({hidden});
    shapes.push_back({ffn, hidden});
    shapes.push_back({ffn});
    shapes.push_back({hidden, ffn});
    shapes.push_back({hidden});
    shapes.push_back({hidden});
    shapes.push_back({hidden});
  }
  return shapes;
}

void exchange_gradients(benchmark::State& state,
                        const std::vector<std::vector<std::int64_t>>& shapes) {
  runtime::configure_threads(1);
  const int port = free_port();
  std::int64_t bytes = 0;
  for (const auto& shape : shapes) {
    std::int64_t n = 1;
    for (const auto d : shape) n *= d;
    bytes += 4 * n;
  }
  auto make = [&](int rank) {
    train::WorkerEnvironment environment;
    environment.rank = rank;
    environment.world_size = 2;
    environment.master_addr = "127.0.0.1";
    environment.master_port = port;
    environment.source = "bench";
    return train::join_process_group(environment, {});
  };
  auto parameters_for = [&] {
    std::vector<torch::Tensor> parameters;
    for (const auto& shape : shapes) {
      auto p = torch::zeros(shape, torch::requires_grad());
      p.mutable_grad() = torch::randn(shape);
      parameters.push_back(p);
    }
    return parameters;
  };
  // Rank 1 mirrors rank 0 step for step; it learns how many steps from a first all-reduce.
  auto other = std::async(std::launch::async, [&] {
    auto group = make(1);
    auto parameters = parameters_for();
    std::string none = "step";  // (a few bytes, like the trainer's position)
    for (;;) {
      std::vector<torch::Tensor> go{torch::zeros({1})};
      group->broadcast_from_coordinator(go, none);
      if (go[0].item<float>() == 0.0f) break;
      group->average_gradients(parameters, 1.0, 8, 16, 1);
    }
  });
  auto group = make(0);
  auto parameters = parameters_for();
  std::string none = "step";  // (a few bytes, like the trainer's position)
  for (auto _ : state) {
    std::vector<torch::Tensor> go{torch::ones({1})};
    group->broadcast_from_coordinator(go, none);
    group->average_gradients(parameters, 1.0, 8, 16, 1);
  }
  std::vector<torch::Tensor> go{torch::zeros({1})};
  group->broadcast_from_coordinator(go, none);
  other.get();
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}

void BM_ExchangeElectraSmall(benchmark::State& state) {
  exchange_gradients(state, electra_shapes(256, 12, 1024, 128));
}
void BM_ExchangeElectraBase(benchmark::State& state) {
  exchange_gradients(state, electra_shapes(768, 12, 3072, 768));
}
BENCHMARK(BM_ExchangeElectraSmall)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ExchangeElectraBase)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

EMOTUNE_BENCHMARK_MAIN()
