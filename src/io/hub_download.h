#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Fetches checkpoint folders from the HuggingFace hub (or a mirror speaking its protocol)
// into a plain directory, the way huggingface_hub's snapshot_download does: list the files
// of a revision, then fetch each from its `resolve` URL, resumable and checksum-verified.
namespace emotune::io {

struct HubSettings {
  std::string endpoint = "https://huggingface.co";  // without a trailing slash
  std::optional<std::string> token;                 // sent as "Authorization: Bearer ..."
  long connect_timeout_s = 10;
  // A transfer that receives nothing for this long is abandoned (and can be resumed).
  long stall_timeout_s = 60;
  // Attempts per file when a transfer breaks midway; each retry resumes where it stopped.
  int max_attempts = 3;
};

// The settings the hub clients read: HF_ENDPOINT; the token from HF_TOKEN, else
// HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login` writes ($HF_TOKEN_PATH, else
// $HF_HOME/token, else ~/.cache/huggingface/token).
HubSettings hub_settings_from_env();

// Error unless `repo_id` is "name" or "namespace/name" in the hub's allowed characters.
void validate_repo_id(const std::string& repo_id);

// models/<name> for "namespace/name".
std::filesystem::path default_download_dir(const std::string& repo_id);

// {endpoint}/{repo_id}/resolve/{revision}/{filename}, percent-encoded as the hub expects.
std::string hub_file_url(const std::string& endpoint, const std::string& repo_id,
                         const std::string& revision, const std::string& filename);

struct RepoListing {
  std::string commit;              // the commit the revision points at ("" if not given)
  std::vector<std::string> files;  // siblings[].rfilename, in the hub's order
};

// GET {endpoint}/api/models/{repo_id}/revision/{revision}.
RepoListing list_repo_files(const HubSettings& settings, const std::string& repo_id,
                            const std::string& revision);

// The files emotune reads from a checkpoint folder that `files` has: config.json, the
// tokenizer files and the weights transformers would load: model.safetensors, else
// model.safetensors.index.json, else pytorch_model.bin, else pytorch_model.bin.index.json (an
// index's shards the caller adds after reading it). Error when there are no such weights.
std::vector<std::string> checkpoint_files(const std::vector<std::string>& files,
                                          const std::string& repo_id);

// The distinct shard file names a sharded index's weight_map points at, sorted.
std::vector<std::string> index_shards(const std::filesystem::path& index_file);

struct DownloadRequest {
  std::string repo_id;
  std::string revision = "main";
  std::filesystem::path dir;         // empty: default_download_dir(repo_id)
  std::vector<std::string> include;  // glob patterns; empty: checkpoint_files(...)
};

enum class FileOutcome { downloaded, resumed, up_to_date };

struct DownloadedFile {
  std::string name;
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  FileOutcome outcome = FileOutcome::downloaded;
  bool sha256_verified = false;  // the hub gave a sha256 (LFS files) and it matched
};

// Told about each file as it goes, e.g. to draw a progress bar. Called on the calling thread.
class DownloadObserver {
 public:
  virtual ~DownloadObserver() = default;
  virtual void file_started(const std::string& name, std::optional<std::uint64_t> total_bytes,
                            std::uint64_t resumed_from) {}
  virtual void file_progress(const std::string& name, std::uint64_t bytes_done,
                             std::optional<std::uint64_t> total_bytes) {}
  virtual void file_finished(const DownloadedFile& file) {}
};

struct DownloadResult {
  std::string commit;
  std::filesystem::path dir;
  std::vector<DownloadedFile> files;
};

// Downloads the selected files of a revision into request.dir. Each file is written to
// FILE.incomplete and renamed once complete and verified; an .incomplete left by an earlier
// run is resumed with a Range request. A file already present whose sha256 matches the hub's
// is kept. Errors name the URL and say what to do (HF_TOKEN for gated or private repos, ...);
// a checksum mismatch deletes the partial file.
DownloadResult download_repo(const HubSettings& settings, const DownloadRequest& request,
                             DownloadObserver* observer = nullptr);

}  // namespace emotune::io
