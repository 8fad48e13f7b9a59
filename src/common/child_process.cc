#include "common/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"

extern char** environ;

namespace emotune {

pid_t spawn_child(const std::vector<std::string>& command, const std::filesystem::path* log) {
  if (command.empty()) throw Error("spawn_child: empty command");
  std::vector<std::string> owned = command;
  std::vector<char*> argv;
  for (auto& word : owned) argv.push_back(word.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (log) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log->c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  pid_t pid = -1;
  const int result = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (result != 0)
    throw Error(fmt::format("cannot start {}: {}", command.front(), std::strerror(result)));
  return pid;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
  return exit_code_of(status);
}

std::optional<std::pair<pid_t, int>> wait_any_child() {
  int status = 0;
  for (;;) {
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid >= 0) return std::pair{pid, exit_code_of(status)};
    if (errno == ECHILD) return std::nullopt;
    if (errno != EINTR) throw Error(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
}

std::string tail_of_file(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  std::vector<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.erase(last.begin());
  }
  std::string out;
  for (const auto& line : last) out += line + "\n";
  return out;
}

}  // namespace emotune
