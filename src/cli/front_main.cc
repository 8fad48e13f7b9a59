// `emotune`: the program users run. Loading libtorch costs about half a second of CPU before
// main, so the commands that need no tensors (score, data, tokenize, download: the cmd_*.cc
// files linked into this program) run here without it; every other command, and the top-level
// --help and --version, is handed to emotune-torch beside this program (main.cc), exec'd with
// the same arguments, so both programs answer exactly as one would.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "cli/app.h"

namespace {

// The subcommand argv names: the first word after the global options, or nullopt when an
// option this program does not know (--help, --version, a typo) comes first.
std::optional<std::string_view> subcommand_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--threads" || word == "--log-level") {
      ++i;  // its value
      continue;
    }
    if (word.starts_with("--threads=") || word.starts_with("--log-level=")) continue;
    if (word.starts_with("-")) return std::nullopt;
    return word;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  const auto command = subcommand_of(argc, argv);
  if (command && emotune::cli::has_command(*command)) {
    return emotune::cli::run_app(argc, argv);
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto full = (error ? std::filesystem::path(argv[0]) : self).parent_path() / "emotune-torch";
  ::execv(full.c_str(), argv);
  std::fprintf(stderr,
               "emotune: error: cannot run %s (%s): it runs every command but score, data, "
               "tokenize and download, and belongs beside this program; rebuild or reinstall "
               "emotune\n",
               full.c_str(), std::strerror(errno));
  return 1;
}
