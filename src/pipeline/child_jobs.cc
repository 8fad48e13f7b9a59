#include "pipeline/child_jobs.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/child_process.h"
#include "common/error.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;

namespace {

enum class JobState { waiting, running, succeeded };

void check_jobs(const std::vector<ChildJob>& jobs, const ChildJobsOptions& options) {
  if (options.max_parallel < 1) throw Error("child jobs: max_parallel must be at least 1");
  std::set<std::string> names;
  for (const auto& job : jobs) {
    if (!names.insert(job.name).second)
      throw Error(fmt::format("child jobs: two jobs are named {}", job.name));
  }
  for (const auto& job : jobs) {
    for (const auto& needed : job.after) {
      if (!names.count(needed))
        throw Error(fmt::format("child jobs: {} waits for {}, which is no job", job.name, needed));
    }
  }
}

}  // namespace

void run_child_jobs(const std::vector<ChildJob>& jobs, const ChildJobsOptions& options) {
  check_jobs(jobs, options);
  fs::create_directories(options.log_dir);
  using Clock = std::chrono::steady_clock;
  struct Running {
    std::size_t job;
    Clock::time_point start;
  };
  std::vector<JobState> state(jobs.size(), JobState::waiting);
  std::map<pid_t, Running> running;
  const auto log_of = [&](const ChildJob& job) { return options.log_dir / (job.name + ".log"); };
  const auto ready = [&](const ChildJob& job) {
    return std::all_of(job.after.begin(), job.after.end(), [&](const std::string& name) {
      for (std::size_t i = 0; i < jobs.size(); ++i)
        if (jobs[i].name == name) return state[i] == JobState::succeeded;
      return false;
    });
  };
  const auto stop_running = [&] {
    for (const auto& [pid, run] : running) ::kill(pid, SIGTERM);
    for (const auto& [pid, run] : running) {
      try {
        (void)wait_child(pid);
      } catch (const Error&) {
      }
    }
    running.clear();
  };
  // Starts the first ready job; false when none can start now.
  const auto start_one = [&] {
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const auto& job = jobs[i];
      if (state[i] != JobState::waiting || !ready(job)) continue;
      const auto command = job.command ? job.command() : std::nullopt;
      if (!command) {
        state[i] = JobState::succeeded;
        if (job.finished) job.finished(false, 0.0);
        return true;
      }
      const auto log = log_of(job);
      const pid_t pid = spawn_child(*command, &log);
      running.emplace(pid, Running{i, Clock::now()});
      state[i] = JobState::running;
      spdlog::info("{}: started as process {} (log: {})", job.name, pid, log.string());
      return true;
    }
    return false;
  };
  try {
    for (;;) {
      while (running.size() < options.max_parallel && start_one()) {
      }
      if (running.empty()) break;
      const auto ended = wait_any_child();
      if (!ended) break;
      const auto found = running.find(ended->first);
      if (found == running.end()) continue;  // a child started by someone else
      const auto [index, start] = found->second;
      running.erase(found);
      const auto& job = jobs[index];
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (ended->second != 0) {
        stop_running();
        const auto log = log_of(job);
        throw Error(fmt::format(
            "{} failed (exit code {}) after {:.1f} min; its log, {}, ends with:\n{}Run the same "
            "command again to continue from what was saved.",
            job.name, ended->second, seconds / 60.0, log.string(), tail_of_file(log, 15)));
      }
      state[index] = JobState::succeeded;
      spdlog::info("{}: finished in {:.1f} min", job.name, seconds / 60.0);
      if (job.finished) job.finished(true, seconds);
    }
  } catch (...) {
    stop_running();
    throw;
  }
  std::vector<std::string> stuck;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (state[i] != JobState::succeeded) stuck.push_back(jobs[i].name);
  if (!stuck.empty())
    throw Error(fmt::format("child jobs: {} wait for each other", fmt::join(stuck, ", ")));
}

}  // namespace emotune::pipeline
