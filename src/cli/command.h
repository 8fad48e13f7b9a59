#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace emotune::cli {

// Options every subcommand shares; filled in before any subcommand callback runs.
struct GlobalOptions {
  int threads = 0;  // 0 = every core
  std::string log_level = "info";
};

// A subcommand adds its options to `command` and sets its callback. Callbacks report user
// errors by throwing emotune::Error; main turns that into one message and exit status 1.
using CommandSetup = std::function<void(CLI::App& command, const GlobalOptions& globals)>;

// Called from a static initializer in each cmd_<name>.cc, so adding a subcommand touches
// no other file. Returns true so it can initialize a namespace-scope constant.
bool register_command(const std::string& name, const std::string& description,
                      CommandSetup setup);

// Thrown by a callback that wants a specific non-zero exit status without an error message
// (e.g. `doctor` after printing its warnings).
struct ExitStatus {
  int code;
};

// Applies --threads (libtorch intra-op threads) once, for commands that compute.
void apply_thread_option(const GlobalOptions& globals);

}  // namespace emotune::cli
