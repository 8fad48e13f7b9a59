#pragma once

#include <filesystem>
#include <string>

namespace emotune::testing {

// The repository checkout the tests were built from (configs/, scripts/).
std::filesystem::path source_dir();

// $EMOTUNE_DATA, else <source>/../shared/data.
std::filesystem::path data_dir();

// $EMOTUNE_HF_FIXTURES, else <source>/../shared/fixtures/hf.
std::filesystem::path hf_fixtures_dir();

// The built `emotune` program ($EMOTUNE_CLI, set by CTest).
std::filesystem::path cli_path();

// A fresh empty directory under the build tree, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);

// Runs the emotune CLI with the given (already shell-quoted) arguments.
CommandResult run_cli(const std::string& arguments);

// Single-quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

// A training config (TOML text) for the tiny ELECTRA fixture: all three tasks, batch 8, one
// epoch over 16 train and 8 dev essays of at most `max_length` tokens, then `extra` (lines).
std::string tiny_electra_config(int max_length, const std::string& extra = "");

// A free TCP port on 127.0.0.1: bound and closed again, so nothing listens there until a
// server (or a child process) takes it.
int free_port();

}  // namespace emotune::testing
