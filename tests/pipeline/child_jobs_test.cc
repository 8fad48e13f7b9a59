// Child jobs: order by dependencies, a bound on how many run at once, jobs with nothing to do,
// and a failure that stops the others and quotes the failed job's log.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "pipeline/child_jobs.h"

namespace emotune::pipeline {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A job running `script` with /bin/sh.
ChildJob shell_job(std::string name, std::string script, std::vector<std::string> after = {}) {
  ChildJob job;
  job.name = std::move(name);
  job.after = std::move(after);
  job.command = [script] {
    return std::optional(std::vector<std::string>{"/bin/sh", "-c", script});
  };
  return job;
}

std::string error_of(const std::vector<ChildJob>& jobs, const ChildJobsOptions& options) {
  try {
    run_child_jobs(jobs, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class ChildJobsTest : public ::testing::Test {
 protected:
  std::string record(const std::string& name, const std::string& sleep = "0") const {
    const auto file = temp_.path() / "events";
    return fmt::format("echo start {0} >> {1}; sleep {2}; echo end {0} >> {1}", name, file.string(),
                       sleep);
  }
  std::string events() const { return read_file(temp_.path() / "events"); }
  ChildJobsOptions options(std::size_t parallel) const {
    ChildJobsOptions o;
    o.max_parallel = parallel;
    o.log_dir = temp_.path() / "logs";
    return o;
  }
  testing::TempDir temp_;
};

TEST_F(ChildJobsTest, AJobStartsOnlyAfterTheJobsItWaitsFor) {
  std::vector<ChildJob> jobs{shell_job("second", record("second"), {"first"}),
                             shell_job("first", record("first", "0.3")),
                             shell_job("beside", record("beside"))};
  std::vector<std::string> finished;
  for (auto& job : jobs)
    job.finished = [&, name = job.name](bool ran, double) {
      EXPECT_TRUE(ran);
      finished.push_back(name);
    };
  run_child_jobs(jobs, options(2));
  const auto text = events();
  EXPECT_LT(text.find("end first"), text.find("start second")) << text;
  EXPECT_EQ(finished.size(), 3u);
  EXPECT_TRUE(fs::is_regular_file(temp_.path() / "logs" / "first.log"));
}

TEST_F(ChildJobsTest, NoMoreThanMaxParallelRunAtOnce) {
  std::vector<ChildJob> jobs{shell_job("a", record("a", "0.2")), shell_job("b", record("b", "0.2")),
                             shell_job("c", record("c", "0.2"))};
  run_child_jobs(jobs, options(1));
  EXPECT_EQ(events(), "start a\nend a\nstart b\nend b\nstart c\nend c\n");
}

TEST_F(ChildJobsTest, AJobWithNothingToDoSucceedsAtOnce) {
  ChildJob done;
  done.name = "done";
  done.command = [] { return std::optional<std::vector<std::string>>(); };
  bool ran_flag = true;
  done.finished = [&](bool ran, double) { ran_flag = ran; };
  std::vector<ChildJob> jobs{done, shell_job("next", record("next"), {"done"})};
  run_child_jobs(jobs, options(2));
  EXPECT_FALSE(ran_flag);
  EXPECT_EQ(events(), "start next\nend next\n");
}

TEST_F(ChildJobsTest, AFailureStopsTheOthersAndQuotesItsLog) {
  std::vector<ChildJob> jobs{
      shell_job("slow", record("slow", "30")),
      shell_job("broken", "sleep 0.3; echo 'bad input on line 3' >&2; exit 3"),
      shell_job("later", record("later"), {"broken"})};
  const auto error = error_of(jobs, options(2));
  EXPECT_THAT(error, HasSubstr("broken failed (exit code 3)"));
  EXPECT_THAT(error, HasSubstr("bad input on line 3"));
  EXPECT_THAT(error, HasSubstr("broken.log"));
  const auto text = events();
  EXPECT_THAT(text, HasSubstr("start slow"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("end slow"))) << "the running job was stopped";
  EXPECT_THAT(text, ::testing::Not(HasSubstr("later"))) << "no job started after the failure";
}

TEST_F(ChildJobsTest, MistakesInTheJobListAreErrors) {
  EXPECT_THAT(error_of({shell_job("a", "true", {"nobody"})}, options(2)),
              HasSubstr("a waits for nobody, which is no job"));
  EXPECT_THAT(error_of({shell_job("a", "true"), shell_job("a", "true")}, options(2)),
              HasSubstr("two jobs are named a"));
  EXPECT_THAT(error_of({shell_job("a", "true", {"b"}), shell_job("b", "true", {"a"})}, options(2)),
              HasSubstr("a, b wait for each other"));
  EXPECT_THAT(error_of({shell_job("a", "true")}, options(0)), HasSubstr("at least 1"));
}

}  // namespace
}  // namespace emotune::pipeline
