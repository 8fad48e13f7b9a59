#pragma once

// Steps of a pipeline run as child processes of this program, a few at a time, each once the
// steps it needs have succeeded. The quick start uses it to fine-tune from random init while
// pre-training runs, since one small model leaves the second core idle.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace emotune::pipeline {

struct ChildJob {
  std::string name;                // in messages, and its log file's stem
  std::vector<std::string> after;  // names of jobs that must have succeeded first
  // Called when the job may start (so it sees what the jobs before it wrote): the command,
  // program first, or nullopt when there is nothing left to do.
  std::function<std::optional<std::vector<std::string>>()> command;
  // Called when the job has succeeded: ran = false when there was nothing to do.
  std::function<void(bool ran, double seconds)> finished;
};

struct ChildJobsOptions {
  std::size_t max_parallel = 2;
  std::filesystem::path log_dir;  // each job's stdout and stderr: <log_dir>/<name>.log, appended
};

// Runs every job: whenever fewer than max_parallel run, the first job in `jobs` whose `after`
// jobs have all succeeded starts. A job that fails stops the whole run: no other job starts,
// the running ones get SIGTERM (everything they checkpointed stays) and are waited for, and
// an Error names the job, its exit code, its log file and the log's last lines. An exception
// from a callback stops the run the same way. Duplicate names, an `after` naming no job, or
// jobs waiting on each other are Errors.
void run_child_jobs(const std::vector<ChildJob>& jobs, const ChildJobsOptions& options);

}  // namespace emotune::pipeline
