#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "io/hub_download.h"

namespace emotune::cli {
namespace {

struct DownloadOptions {
  std::string repo_id;
  std::string revision = "main";
  std::string dir;
  std::vector<std::string> include;
};

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

// A redrawn progress bar per file on a terminal; one line per file otherwise (logs, CI).
class ProgressReporter : public io::DownloadObserver {
 public:
  explicit ProgressReporter(bool terminal) : terminal_(terminal) {}

  void file_started(const std::string& name, std::optional<std::uint64_t> total,
                    std::uint64_t resumed_from) override {
    started_ = Clock::now();
    last_draw_ = {};
    resumed_from_ = resumed_from;
    if (terminal_) draw(name, resumed_from, total, true);
  }

  void file_progress(const std::string& name, std::uint64_t done,
                     std::optional<std::uint64_t> total) override {
    if (terminal_) draw(name, done, total, false);
  }

  void file_finished(const io::DownloadedFile& file) override {
    const bool fetched = file.outcome != io::FileOutcome::up_to_date;
    if (terminal_ && fetched) {
      draw(file.name, file.bytes, file.bytes, true);
      fmt::print(stderr, "{}\n", file.sha256_verified ? " sha256 ok" : "");
    } else {
      const std::string how = file.outcome == io::FileOutcome::up_to_date ? "already present"
                              : file.outcome == io::FileOutcome::resumed
                                  ? fmt::format("resumed at {}", human_bytes(resumed_from_))
                                  : "downloaded";
      fmt::print(stderr, "{} {} ({}){}\n", file.name, how, human_bytes(file.bytes),
                 file.sha256_verified ? ", sha256 ok" : "");
    }
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void draw(const std::string& name, std::uint64_t done, std::optional<std::uint64_t> total,
            bool force) {
    const auto now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = seconds > 0 ? (done - std::min(done, resumed_from_)) / seconds : 0.0;
    constexpr int kWidth = 30;
    std::string bar;
    std::string amount;
    if (total && *total > 0) {
      const double fraction = std::min(1.0, static_cast<double>(done) / *total);
      const int filled = static_cast<int>(fraction * kWidth);
      bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
      amount =
          fmt::format("{:3.0f}% {}/{}", fraction * 100, human_bytes(done), human_bytes(*total));
    } else {
      bar = std::string(kWidth, '?');
      amount = human_bytes(done);
    }
    const auto shown = name.size() > 32 ? "..." + name.substr(name.size() - 29) : name;
    fmt::print(stderr, "\r{:<32} [{}] {} {}/s\x1b[K", shown, bar, amount,
               human_bytes(static_cast<std::uint64_t>(rate)));
    std::fflush(stderr);
  }

  bool terminal_;
  Clock::time_point started_{};
  Clock::time_point last_draw_{};
  std::uint64_t resumed_from_ = 0;
};

void run_download(const DownloadOptions& options) {
  const auto settings = io::hub_settings_from_env();
  io::DownloadRequest request;
  request.repo_id = options.repo_id;
  request.revision = options.revision;
  request.dir = options.dir;
  request.include = options.include;
  ProgressReporter progress(::isatty(STDERR_FILENO) == 1);
  const auto result = io::download_repo(settings, request, &progress);
  std::uint64_t total = 0;
  for (const auto& file : result.files) total += file.bytes;
  fmt::print("{} ({}) -> {}: {} files, {}\n", options.repo_id,
             result.commit.empty() ? options.revision : result.commit, result.dir.string(),
             result.files.size(), human_bytes(total));
}

[[maybe_unused]] const bool registered = register_command(
    "download",
    "Download a checkpoint folder (config, weights: safetensors, else PyTorch .bin; tokenizer "
    "files) from the "
    "HuggingFace hub. Honours HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN (for "
    "gated or private repositories; also HUGGING_FACE_HUB_TOKEN or the token file that "
    "`huggingface-cli login` writes). Interrupted downloads resume where they stopped.",
    [](CLI::App& command, const GlobalOptions&) {
      auto options = std::make_shared<DownloadOptions>();
      command
          .add_option("repo_id", options->repo_id,
                      "Repository on the hub, e.g. google/electra-base-discriminator")
          ->required();
      command
          .add_option("--revision", options->revision,
                      "Branch, tag or commit to download (e.g. main, v1.0, refs/pr/3)")
          ->capture_default_str();
      command.add_option("--dir", options->dir,
                         "Folder to write the files into (default: models/<repository name>); "
                         "files already there and matching the hub's sha256 are kept");
      command
          .add_option("--include", options->include,
                      "Download only the files matching these glob patterns (e.g. '*.json' "
                      "vocab.txt) instead of what emotune needs: config.json, the tokenizer files and "
                      "model.safetensors (or its index and shards; pytorch_model.bin or its "
                      "index and shards when the revision has no safetensors)")
          ->expected(1, -1);
      command.callback([options] { run_download(*options); });
    });

}  // namespace
}  // namespace emotune::cli
