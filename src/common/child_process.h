#pragma once

// Child processes of this program: started with posix_spawn (no shell), their output appended
// to a log file or left on this process's terminal, waited for without losing EINTR.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace emotune {

// Starts `command` (program path first, then its arguments) with this process's environment.
// With `log`, its stdout and stderr are appended to that file. Error naming the program when it
// cannot be started.
pid_t spawn_child(const std::vector<std::string>& command,
                  const std::filesystem::path* log = nullptr);

// A waitpid status as a shell reports it: the exit code, or 128 + the signal that killed it.
int exit_code_of(int wait_status);

// Blocks until `pid` ends; its exit code (as exit_code_of).
int wait_child(pid_t pid);

// Blocks until any child ends: (pid, exit code), or nullopt when there is no child left.
std::optional<std::pair<pid_t, int>> wait_any_child();

// The last `lines` lines of a text file ("" when it cannot be read), to quote a failed child.
std::string tail_of_file(const std::filesystem::path& file, std::size_t lines);

}  // namespace emotune
