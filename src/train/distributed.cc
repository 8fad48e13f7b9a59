#include "train/distributed.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

// Debian's libtorch is built with USE_C10D_GLOO and links the system gloo (libgloo0), whose
// headers come with libgloo-dev; ProcessGroupGloo.hpp needs them for its class layout.
// PyTorch's libtorch 2.x has gloo inside libtorch_cpu but ships no gloo headers: CMake then
// puts third_party/gloo (the headers of the gloo that 2.x's ProcessGroupGloo.hpp expects)
// first on this file's include path. Without any, everything else still builds and asking
// for Gloo says what to install.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#if __has_include(<gloo/context.h>)
#define EMOTUNE_WITH_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef EMOTUNE_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"
#include "runtime/device.h"
#include "runtime/torch_compat.h"

extern char** environ;

namespace emotune::train {
namespace {

constexpr const char* kLaunchedVariable = "EMOTUNE_DIST_LAUNCHED";
// Test hook: "RANK:STEP:exit|kill|hang" makes that rank exit with status 3, SIGKILL itself or
// hang when it reaches the gradient exchange of optimizer step STEP.
constexpr const char* kFaultVariable = "EMOTUNE_TEST_DIST_FAULT";

int parse_int(const std::string& name, const char* text, int low, int high) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
    throw Error(fmt::format("environment variable {}={}: expected an integer in {}..{}", name, text,
                            low, high));
  }
  return static_cast<int>(value);
}

double seconds(std::chrono::milliseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

void inject_test_fault(int rank, std::int64_t step) {
  const char* fault = std::getenv(kFaultVariable);
  if (!fault) return;
  int fault_rank = -1;
  long long fault_step = -1;
  char action[16] = {};
  if (std::sscanf(fault, "%d:%lld:%15s", &fault_rank, &fault_step, action) != 3) return;
  if (fault_rank != rank || fault_step != step) return;
  std::fprintf(stderr, "emotune: test fault: rank %d %s at step %lld\n", rank, action, fault_step);
  std::fflush(stderr);
  if (std::strcmp(action, "kill") == 0) ::kill(::getpid(), SIGKILL);
  if (std::strcmp(action, "hang") == 0) {
    for (;;) ::pause();
  }
  std::_Exit(3);
}

class ProcessGroupTraining final : public DataParallel {
 public:
  ProcessGroupTraining(c10::intrusive_ptr<c10d::Store> store,
                       c10::intrusive_ptr<runtime::CollectiveGroup> group, std::string backend,
                       const DistributedOptions& options, int local_rank)
      : store_(std::move(store)),
        group_(std::move(group)),
        backend_(std::move(backend)),
        options_(options),
        device_(runtime::parse_device(options.device)),
        local_rank_(local_rank) {}

  int rank() const override { return group_->getRank(); }
  int world_size() const override { return group_->getSize(); }

  double average_gradients(const std::vector<torch::Tensor>& parameters, double local_loss,
                           std::int64_t local_rows, std::int64_t global_rows,
                           std::int64_t step) override {
    inject_test_fault(rank(), step);
    torch::NoGradGuard no_grad;
    // Each rank's loss is a mean over its rows; weighting by rows·world/global makes the
    // average over ranks the mean over the global batch. With equal shards the weight is
    // exactly 1 and nothing is multiplied, so one process gives bit-identical results.
    const double weight = global_rows > 0 ? static_cast<double>(local_rows * world_size()) /
                                                static_cast<double>(global_rows)
                                          : 0.0;
    std::vector<Bucket> buckets;
    for (const auto& parameter : parameters) {
      const auto& grad = parameter.grad();
      if (!grad.defined()) continue;
      const auto bytes = static_cast<std::size_t>(grad.numel() * grad.element_size());
      if (buckets.empty() || buckets.back().bytes + bytes > options_.bucket_bytes ||
          buckets.back().grads.front().scalar_type() != grad.scalar_type() ||
          buckets.back().grads.front().device() != grad.device()) {
        buckets.emplace_back();
      }
      buckets.back().grads.push_back(grad);
      buckets.back().bytes += bytes;
    }
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    std::vector<std::vector<at::Tensor>> flats;
    flats.reserve(buckets.size() + 1);
    for (auto& bucket : buckets) {
      std::vector<torch::Tensor> pieces;
      for (const auto& grad : bucket.grads) pieces.push_back(grad.reshape({-1}));
      auto flat = torch::cat(pieces);
      if (weight != 1.0) flat.mul_(weight);
      flats.push_back({flat});
      works.push_back(group_->allreduce(flats.back()));
    }
    flats.push_back(
        {torch::tensor({local_loss * weight}, torch::dtype(torch::kFloat64)).to(device_)});
    works.push_back(group_->allreduce(flats.back()));
    wait_all(works, fmt::format("the gradient all-reduce of step {}", step), options_.timeout);
    const double world = static_cast<double>(world_size());
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      auto& flat = flats[b].front();
      flat.div_(world);
      std::int64_t offset = 0;
      for (auto& grad : buckets[b].grads) {
        grad.copy_(flat.narrow(0, offset, grad.numel()).view_as(grad));
        offset += grad.numel();
      }
    }
    return flats.back().front().to(torch::kCPU).item<double>() / world;
  }

  void broadcast_from_coordinator(const std::vector<torch::Tensor>& tensors,
                                  std::string& document) override {
    torch::NoGradGuard no_grad;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    std::vector<std::vector<at::Tensor>> held;
    // NCCL moves only tensors on the job's device; state kept elsewhere (the optimizer's step
    // count lives on the CPU) travels as a copy on the device and is written back afterwards.
    std::vector<std::pair<at::Tensor, std::size_t>> moved;
    held.reserve(tensors.size());
    for (const auto& tensor : tensors) {
      auto detached = tensor.detach();
      if (detached.device().type() != device_.type()) {
        moved.emplace_back(detached, held.size());
        detached = detached.to(device_);
      }
      held.push_back({detached});
      works.push_back(group_->broadcast(held.back()));
    }
    wait_all(works, "the broadcast of rank 0's weights and optimizer state", options_.timeout);
    for (auto& [original, index] : moved) original.copy_(held[index].front());

    std::vector<at::Tensor> length{
        torch::tensor({static_cast<std::int64_t>(document.size())}, torch::kInt64).to(device_)};
    wait_all({group_->broadcast(length)}, "the broadcast of rank 0's position", options_.timeout);
    const auto size = length.front().to(torch::kCPU).item<std::int64_t>();
    auto bytes = torch::zeros({size}, torch::kUInt8);
    if (is_coordinator()) std::memcpy(bytes.data_ptr(), document.data(), document.size());
    std::vector<at::Tensor> payload{bytes.to(device_)};
    wait_all({group_->broadcast(payload)}, "the broadcast of rank 0's position", options_.timeout);
    const auto received = payload.front().to(torch::kCPU).contiguous();
    document.assign(static_cast<const char*>(received.data_ptr()), static_cast<std::size_t>(size));
  }

  void wait_for_coordinator() override {
    c10d::BarrierOptions barrier;
    barrier.timeout = options_.coordinator_timeout;
    if (backend_ == "nccl") barrier.device_ids = {local_rank_};
    wait_all({group_->barrier(barrier)}, "waiting for rank 0's evaluation and snapshots",
             options_.coordinator_timeout, "--dist-eval-timeout-s");
  }

 private:
  struct Bucket {
    std::vector<torch::Tensor> grads;
    std::size_t bytes = 0;
  };

  void wait_all(const std::vector<c10::intrusive_ptr<c10d::Work>>& works, const std::string& what,
                std::chrono::seconds timeout, const char* option = "--dist-timeout-s") {
    for (const auto& work : works) {
      try {
        work->wait();
      } catch (const std::exception& e) {
        throw Error(fmt::format(
            "rank {} of {}: {} failed ({}): another process of the job died or did not respond "
            "within {} s ({})",
            rank(), world_size(), what, first_line(e.what()), timeout.count(), option));
      }
    }
  }

  static std::string first_line(const std::string& text) {
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<runtime::CollectiveGroup> group_;
  std::string backend_;
  DistributedOptions options_;
  c10::Device device_;
  int local_rank_;
};

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

#ifdef EMOTUNE_WITH_GLOO
std::shared_ptr<::gloo::transport::Device> gloo_device(const WorkerEnvironment& environment) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
    std::string first(interface);
    first = first.substr(0, first.find(','));
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  if (is_loopback(environment.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

// --- launching local workers ---------------------------------------------------------------

std::atomic<int> forwarded_signal{0};

void remember_signal(int signal) {
  forwarded_signal.store(signal);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("ended with wait status {}", status);
}

bool failed(int status) {
  return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

// Installs handlers for SIGINT/SIGTERM (so they reach the ranks) for the launch's lifetime.
class SignalForwarding {
 public:
  SignalForwarding() {
    forwarded_signal.store(0);
    struct sigaction action {};
    action.sa_handler = remember_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR and the loop forwards it
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalForwarding() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

std::optional<WorkerEnvironment> worker_environment(
    const std::function<const char*(const char*)>& lookup) {
  const auto get = [&](const char* name) -> std::optional<std::string> {
    const char* value = lookup(name);
    if (!value || !*value) return std::nullopt;
    return std::string(value);
  };
  const auto require = [&](const char* name, const std::string& why) {
    const auto value = get(name);
    if (!value) throw Error(fmt::format("environment variable {} is not set ({})", name, why));
    return *value;
  };
  WorkerEnvironment environment;
  if (get("WORLD_SIZE") || get("RANK")) {
    const std::string why =
        "torchrun-style workers need RANK, WORLD_SIZE, MASTER_ADDR and "
        "MASTER_PORT";
    environment.world_size =
        parse_int("WORLD_SIZE", require("WORLD_SIZE", why).c_str(), 1, 1 << 20);
    environment.rank =
        parse_int("RANK", require("RANK", why).c_str(), 0, environment.world_size - 1);
    environment.local_rank =
        get("LOCAL_RANK") ? parse_int("LOCAL_RANK", get("LOCAL_RANK")->c_str(), 0, 1 << 20) : 0;
    environment.master_addr = require("MASTER_ADDR", why);
    environment.master_port =
        parse_int("MASTER_PORT", require("MASTER_PORT", why).c_str(), 1, 65535);
    const bool launched = get(kLaunchedVariable).value_or("") == "1";
    environment.external_store =
        launched || get("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    environment.source = launched ? "emotune --nproc" : "torchrun environment";
    return environment;
  }
  // SLURM_STEP_NUM_TASKS, not SLURM_NTASKS: the batch script itself also sees SLURM_NTASKS
  // and SLURM_PROCID=0, but only the tasks of an srun step are ranks.
  const auto tasks = get("SLURM_STEP_NUM_TASKS");
  if (tasks && get("SLURM_PROCID") &&
      parse_int("SLURM_STEP_NUM_TASKS", tasks->c_str(), 1, 1 << 20) > 1) {
    environment.world_size = parse_int("SLURM_STEP_NUM_TASKS", tasks->c_str(), 1, 1 << 20);
    environment.rank =
        parse_int("SLURM_PROCID", get("SLURM_PROCID")->c_str(), 0, environment.world_size - 1);
    environment.local_rank =
        get("SLURM_LOCALID") ? parse_int("SLURM_LOCALID", get("SLURM_LOCALID")->c_str(), 0, 1 << 20)
                             : 0;
    environment.master_addr =
        require("MASTER_ADDR",
                "under srun with several tasks, export MASTER_ADDR=$(scontrol show "
                "hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)");
    environment.master_port = get("MASTER_PORT")
                                  ? parse_int("MASTER_PORT", get("MASTER_PORT")->c_str(), 1, 65535)
                                  : 29500;
    environment.source = "Slurm";
    return environment;
  }
  return std::nullopt;
}

std::optional<WorkerEnvironment> worker_environment() {
  return worker_environment([](const char* name) { return std::getenv(name); });
}

bool launched_by_emotune() {
  const char* value = std::getenv(kLaunchedVariable);
  return value && std::string(value) == "1";
}

bool nccl_available() {
#ifdef EMOTUNE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::string device_for_rank(const std::string& device, const WorkerEnvironment& environment) {
  if (device == "cuda") return fmt::format("cuda:{}", environment.local_rank);
  return device;
}

std::unique_ptr<DataParallel> join_process_group(const WorkerEnvironment& environment,
                                                 const DistributedOptions& options) {
  const auto device = runtime::parse_device(options.device);
  std::string backend = options.backend;
  if (backend == "auto") backend = device.is_cuda() && nccl_available() ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl") {
    throw Error(fmt::format("--dist-backend {}: expected auto, gloo or nccl", backend));
  }
  if (backend == "nccl" && !nccl_available()) {
    throw Error(
        "--dist-backend nccl: this emotune was built without NCCL (it needs a CUDA "
        "libtorch and -DEMOTUNE_WITH_NCCL=ON); use --dist-backend gloo");
  }
#ifndef EMOTUNE_WITH_GLOO
  if (backend == "gloo") {
    throw Error(
        "this emotune was built without gloo's headers (Debian: apt-get install "
        "libgloo-dev, then rebuild), so it has no Gloo process group");
  }
#endif
  if (backend == "nccl" && !device.is_cuda()) {
    throw Error("--dist-backend nccl needs a CUDA device (--device cuda)");
  }
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout);
  const auto where = fmt::format("{}:{}", environment.master_addr, environment.master_port);
  const auto context = fmt::format("rank {} of {} ({})", environment.rank, environment.world_size,
                                   environment.source);

  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(environment.master_port);
    store_options.isServer = !environment.external_store && environment.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(environment.world_size);
    store_options.waitWorkers = false;
    store_options.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: cannot {} the rendezvous store at {} within {} s: {}", context,
                            environment.rank == 0 && !environment.external_store ? "host" : "reach",
                            where, options.timeout.count(), e.what()));
  }
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("emotune/train", store);

  c10::intrusive_ptr<runtime::CollectiveGroup> group;
  try {
    if (backend == "gloo") {
#ifdef EMOTUNE_WITH_GLOO
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo_options->devices.push_back(gloo_device(environment));
      gloo_options->threads = 2;
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, environment.rank,
                                                          environment.world_size, gloo_options);
#endif
    } else {
#ifdef EMOTUNE_WITH_NCCL
      // Without async error handling a dead peer leaves NCCL kernels spinning for ever.
      ::setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      group = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, environment.rank,
                                                          environment.world_size, nccl_options);
#endif
    }
  } catch (const std::exception& e) {
    throw Error(fmt::format(
        "{}: the {} ranks did not all join the {} process group at {} within {} s (is every "
        "rank started, with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT?): {}",
        context, environment.world_size, backend, where, options.timeout.count(), e.what()));
  }
  spdlog::info("{}: joined the {} process group at {} (timeout {} s)", context, backend, where,
               seconds(timeout));
  return std::make_unique<ProcessGroupTraining>(store, group, backend, options,
                                                environment.local_rank);
}

void launch_local_workers(const LocalLaunch& launch) {
  if (launch.processes < 1) throw Error("--nproc: expected at least 1 process");
  // This process hosts the rendezvous store on a port the kernel picks, so concurrent jobs
  // (parallel tests, several sweeps) never race for a port.
  c10d::TCPStoreOptions store_options;
  store_options.port = 0;
  store_options.isServer = true;
  store_options.waitWorkers = false;
  store_options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(launch.timeout);
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", store_options);
  const int port = store->getPort();

  std::vector<std::string> arguments{launch.program.string()};
  arguments.insert(arguments.end(), launch.arguments.begin(), launch.arguments.end());
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  const std::vector<std::string> replaced{
      "RANK",        "LOCAL_RANK",  "WORLD_SIZE",     "LOCAL_WORLD_SIZE",
      "MASTER_ADDR", "MASTER_PORT", kLaunchedVariable};
  std::vector<std::string> inherited;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text(*entry);
    const auto name = text.substr(0, text.find('='));
    if (std::find(replaced.begin(), replaced.end(), name) == replaced.end()) {
      inherited.push_back(text);
    }
  }

  struct Rank {
    pid_t pid = -1;
    bool running = false;
    int status = 0;
  };
  std::vector<Rank> ranks(static_cast<std::size_t>(launch.processes));
  SignalForwarding forwarding;
  const pid_t parent = ::getpid();
  const auto stop_all = [&](int signal) {
    for (const auto& rank : ranks) {
      if (rank.running) ::kill(rank.pid, signal);
    }
  };
  for (int r = 0; r < launch.processes; ++r) {
    std::vector<std::string> environment = inherited;
    environment.push_back(fmt::format("RANK={}", r));
    environment.push_back(fmt::format("LOCAL_RANK={}", r));
    environment.push_back(fmt::format("WORLD_SIZE={}", launch.processes));
    environment.push_back(fmt::format("LOCAL_WORLD_SIZE={}", launch.processes));
    environment.push_back("MASTER_ADDR=127.0.0.1");
    environment.push_back(fmt::format("MASTER_PORT={}", port));
    environment.push_back(fmt::format("{}=1", kLaunchedVariable));
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
      stop_all(SIGKILL);
      throw Error(fmt::format("--nproc: cannot start rank {}: {}", r, std::strerror(errno)));
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(125);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ranks[static_cast<std::size_t>(r)] = Rank{pid, true, 0};
  }
  spdlog::info("started {} training processes (ranks 0..{}), rendezvous at 127.0.0.1:{}",
               launch.processes, launch.processes - 1, port);

  const auto find_rank = [&](pid_t pid) -> Rank* {
    for (auto& rank : ranks) {
      if (rank.pid == pid) return &rank;
    }
    return nullptr;
  };
  const auto running = [&] {
    return std::count_if(ranks.begin(), ranks.end(), [](const Rank& r) { return r.running; });
  };
  const auto start = std::chrono::steady_clock::now();
  std::string failure;
  std::ptrdiff_t failed_rank = -1;
  int forwarded = 0;
  std::optional<std::chrono::steady_clock::time_point> kill_deadline;
  while (running() > 0) {
    int status = 0;
    const int flags = kill_deadline ? WNOHANG : 0;
    pid_t pid = ::waitpid(-1, &status, flags);
    if (pid > 0) {
      Rank* rank = find_rank(pid);
      if (!rank) continue;
      rank->running = false;
      rank->status = status;
      if (failed(status) && failure.empty() && !forwarded) {
        const auto elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
        // A peer's death makes the others exit 1 moments later; when several have ended
        // already, blame one killed by a signal over one that exited with an error.
        for (pid_t other = 0;
             !WIFSIGNALED(status) && (other = ::waitpid(-1, &status, WNOHANG)) > 0;) {
          if (Rank* ended = find_rank(other)) {
            ended->running = false;
            ended->status = status;
            if (WIFSIGNALED(status)) rank = ended;
          }
        }
        status = rank->status;
        pid = rank->pid;
        failed_rank = rank - ranks.data();
        failure = fmt::format("rank {} (pid {}) {} after {:.1f} s", failed_rank, pid,
                              describe_status(status), elapsed.count());
        spdlog::error("{}; stopping the other ranks", failure);
        stop_all(SIGTERM);
        kill_deadline = std::chrono::steady_clock::now() + launch.stop_grace;
      }
      continue;
    }
    if (pid < 0 && errno != EINTR && errno != ECHILD) {
      throw Error(fmt::format("--nproc: waitpid failed: {}", std::strerror(errno)));
    }
    if (const int signal = forwarded_signal.exchange(0); signal != 0) {
      forwarded = signal;
      stop_all(signal);
      if (!kill_deadline) kill_deadline = std::chrono::steady_clock::now() + launch.stop_grace;
    }
    if (kill_deadline) {
      if (std::chrono::steady_clock::now() >= *kill_deadline) {
        stop_all(SIGKILL);
        kill_deadline = std::chrono::steady_clock::now() + std::chrono::hours(24);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (forwarded != 0 && failure.empty()) {
    throw Error(fmt::format("training stopped by signal {} ({}); passed on to the {} ranks",
                            forwarded, ::strsignal(forwarded), launch.processes));
  }
  if (!failure.empty()) {
    std::string others;
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      if (static_cast<std::ptrdiff_t>(r) == failed_rank) continue;
      others += fmt::format("; rank {} {}", r, describe_status(ranks[r].status));
    }
    throw Error(fmt::format("distributed training failed: {}{}. The job was stopped{}", failure,
                            others, launch.resume_hint.empty() ? "" : "; " + launch.resume_hint));
  }
}

}  // namespace emotune::train
