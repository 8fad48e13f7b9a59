#include "train/run_dir.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"

namespace emotune::train {
namespace fs = std::filesystem;
namespace {

void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw error_in(path, fmt::format("cannot open to sync: {}", std::strerror(errno)));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw error_in(path, fmt::format("fsync failed: {}", std::strerror(errno)));
}

fs::path staging_of(const fs::path& target) {
  return fs::path(target.string() + ".staging");
}

}  // namespace

void write_folder_atomic(const fs::path& target, const std::function<void(const fs::path&)>& fill) {
  const auto staging = staging_of(target);
  fs::remove_all(staging);
  fs::create_directories(staging);
  fill(staging);
  for (const auto& entry : fs::directory_iterator(staging)) {
    if (entry.is_regular_file()) fsync_path(entry.path(), false);
  }
  fsync_path(staging, true);
  if (fs::exists(target)) {
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
      throw error_in(target,
                     fmt::format("cannot swap in the new snapshot: {}", std::strerror(errno)));
    }
    fs::remove_all(staging);  // now holds the previous snapshot
  } else {
    fs::rename(staging, target);
  }
  fsync_path(target.parent_path().empty() ? fs::path(".") : target.parent_path(), true);
}

fs::path existing_snapshot(const fs::path& target) {
  if (fs::exists(target / "state.json")) return target;
  return {};
}

std::map<std::string, std::string> fingerprint_folder(const fs::path& dir) {
  std::map<std::string, std::string> digests;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file())
      digests[entry.path().filename().string()] = sha256_file(entry.path());
  }
  return digests;
}

void copy_tokenizer_files(const fs::path& from, const fs::path& to) {
  for (const char* name :
       {"vocab.txt", "vocab.json", "merges.txt", "spiece.model", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}) {
    if (fs::exists(from / name))
      fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing);
  }
}

void keep_first_lines(const fs::path& file, std::int64_t lines) {
  std::string kept;
  if (fs::exists(file)) {
    std::istringstream in(read_file(file));
    std::string line;
    for (std::int64_t i = 0; i < lines && std::getline(in, line); ++i) kept += line + "\n";
  }
  write_file_atomic(file, kept);
}

void append_line(const fs::path& file, const std::string& line) {
  std::ofstream out(file, std::ios::app);
  out << line << "\n";
  out.flush();
  if (!out) throw error_in(file, "cannot append a line");
}

}  // namespace emotune::train
