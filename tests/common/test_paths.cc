#include "common/test_paths.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "common/files.h"

namespace emotune::testing {
namespace {

std::filesystem::path from_env_or(const char* name, const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') return std::filesystem::absolute(value);
  return fallback;
}

// The emotune programs the tests start must use the BLAS kernels of the test process itself:
// several tests compare a CLI run with an in-process one bit for bit, and the CLI would
// otherwise re-execute itself with other OpenBLAS kernels (runtime::preferred_openblas_coretype).
[[maybe_unused]] const bool keep_blas_core_in_children = [] {
  ::setenv("EMOTUNE_KEEP_BLAS_CORE", "1", /*overwrite=*/0);
  return true;
}();

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::filesystem::path source_dir() {
  return std::filesystem::path(EMOTUNE_SOURCE_DIR);
}

std::filesystem::path data_dir() {
  return from_env_or("EMOTUNE_DATA",
                     std::filesystem::path(EMOTUNE_SOURCE_DIR) / ".." / "shared" / "data");
}

std::filesystem::path hf_fixtures_dir() {
  return from_env_or("EMOTUNE_HF_FIXTURES", std::filesystem::path(EMOTUNE_SOURCE_DIR) / ".." /
                                                "shared" / "fixtures" / "hf");
}

std::filesystem::path cli_path() {
  return from_env_or("EMOTUNE_CLI", std::filesystem::path(EMOTUNE_BINARY_DIR) / "emotune");
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::path(EMOTUNE_BINARY_DIR) / "test-tmp" /
          (std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() { remove_all_quietly(path_); }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult run_command(const std::string& command_line) {
  TempDir capture;
  const auto out_path = capture / "stdout";
  const auto err_path = capture / "stderr";
  const std::string full =
      command_line + " >" + shell_quote(out_path.string()) + " 2>" + shell_quote(err_path.string());
  const int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

CommandResult run_cli(const std::string& arguments) {
  return run_command(shell_quote(cli_path().string()) + " " + arguments);
}

std::string tiny_electra_config(int max_length, const std::string& extra) {
  return "backbone = \"" + (hf_fixtures_dir() / "electra").string() +
         "\"\n"
         "tasks = [\"empathy\", \"distress\", \"emotion\"]\n"
         "batch_size = 8\nepochs = 1\nmax_length = " +
         std::to_string(max_length) +
         "\nlearning_rate = 1e-3\n"
         "train_limit = 16\ndev_limit = 8\n" +
         extra;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace emotune::testing
