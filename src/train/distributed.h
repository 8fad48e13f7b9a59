#pragma once

// Data-parallel training over PyTorch's c10d: a TCPStore rendezvous, then ProcessGroupGloo
// (CPU tensors) or ProcessGroupNCCL (CUDA tensors, when this libtorch has it) for the gradient
// all-reduce. Workers are started by `emotune train --nproc N` (launch_local_workers), by
// torchrun, or by Slurm's srun; each finds its place from the environment.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "train/data_parallel.h"

namespace emotune::train {

// Where this process stands in a multi-process job.
struct WorkerEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // rank among the processes of this machine (picks the GPU)
  std::string master_addr;
  int master_port = 0;
  // The rendezvous store is hosted outside the ranks (by `emotune train --nproc` or by
  // torchrun's agent, TORCHELASTIC_USE_AGENT_STORE=True); otherwise rank 0 hosts it.
  bool external_store = false;
  std::string source;  // "emotune --nproc", "torchrun environment" or "Slurm"
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (as torchrun sets them), else
// in an srun step of several tasks SLURM_PROCID, SLURM_STEP_NUM_TASKS (> 1), SLURM_LOCALID
// with MASTER_ADDR (MASTER_PORT default 29500).
// nullopt when neither is set: one process. Malformed or missing values: Error naming the
// variable. `lookup` stands in for getenv in tests.
std::optional<WorkerEnvironment> worker_environment(
    const std::function<const char*(const char*)>& lookup);
std::optional<WorkerEnvironment> worker_environment();

// True in a worker started by launch_local_workers.
bool launched_by_emotune();

struct DistributedOptions {
  std::string backend =
      "auto";  // auto (NCCL for CUDA devices when available, else Gloo) | gloo | nccl
  std::string device = "cpu";  // the training device of this rank (see device_for_rank)
  // Rendezvous and every collective of a training step: a rank that died or hangs makes the
  // others fail with an Error after at most this long.
  std::chrono::seconds timeout{300};
  // How long the other ranks wait for rank 0 to evaluate on dev and write snapshots.
  std::chrono::seconds coordinator_timeout{3600};
  std::size_t bucket_bytes = 25u << 20;  // gradients are all-reduced in flat buckets this big
};

// Whether this build has the NCCL process group (an official CUDA libtorch with
// -DEMOTUNE_WITH_NCCL=ON); Debian's CPU libtorch has Gloo only.
bool nccl_available();

// The device a rank trains on: "cuda" (no index) becomes cuda:<local_rank>, so the processes
// of a machine take one GPU each; anything else is kept.
std::string device_for_rank(const std::string& device, const WorkerEnvironment& environment);

// Joins the job's process group (blocks until all world_size ranks have joined, at most
// options.timeout). Errors name the rank, the address and what to check.
std::unique_ptr<DataParallel> join_process_group(const WorkerEnvironment& environment,
                                                 const DistributedOptions& options);

struct LocalLaunch {
  std::filesystem::path program;       // the program to run once per rank (this one)
  std::vector<std::string> arguments;  // its arguments (argv[1..])
  int processes = 1;
  std::chrono::seconds timeout{300};  // for the rendezvous store
  // After one rank fails: how long the others get between SIGTERM and SIGKILL.
  std::chrono::seconds stop_grace{10};
  std::string resume_hint;  // ends the failure message (how to continue the run)
};

// Runs `processes` copies of `program` on this machine with RANK, LOCAL_RANK, WORLD_SIZE,
// MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free port: this process hosts the rendezvous
// store on port 0 and hands its port on), so ports never collide between jobs. Returns when
// every rank exited 0. When a rank exits non-zero or dies from a signal, the others are
// stopped and an Error names the rank, its pid and how it ended. SIGTERM/SIGINT to this
// process are passed on to the ranks; the ranks die with it (PR_SET_PDEATHSIG).
void launch_local_workers(const LocalLaunch& launch);

}  // namespace emotune::train
