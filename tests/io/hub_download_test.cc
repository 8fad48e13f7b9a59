#include "io/hub_download.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"

namespace emotune::io {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;
using ::testing::HasSubstr;

struct HubFile {
  std::string content;
  bool lfs = false;                             // served through a redirect, named by its sha256
  std::optional<std::string> announced_sha256;  // what X-Linked-Etag claims (default: the truth)
  // The storage's first answer breaks off the connection after this many bytes.
  std::optional<std::size_t> first_transfer_breaks_at;
  // The storage URL redirects once more (with a body), as CDNs may.
  bool storage_redirects = false;
};

HubFile git_file(std::string content) {
  return {std::move(content), false, std::nullopt, std::nullopt, false};
}
HubFile lfs_file(std::string content) {
  return {std::move(content), true, std::nullopt, std::nullopt, false};
}

struct HubRepo {
  std::string commit;
  std::map<std::string, HubFile> files;
  std::optional<std::string> required_token;
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::string range;
  std::string authorization;
  int status = 0;
};

// A stand-in for huggingface.co on 127.0.0.1: the model API listing, `resolve` URLs that
// redirect LFS files to a storage path (with X-Linked-Etag / X-Linked-Size on the redirect,
// as the hub does), Range requests, the hub's X-Error-Code headers and renamed repositories.
class FakeHub {
 public:
  FakeHub() {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/revision/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { api(req, res); });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) { resolve(req, res); });
    server_.Get(R"(/storage/([0-9a-f]{64}))",
                [this](const httplib::Request& req, httplib::Response& res) { storage(req, res); });
    server_.Get(R"(/hop/([0-9a-f]{64}))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  res.status = 302;
                  res.set_header("Location", endpoint() + "/storage/" + req.matches[1].str());
                  res.set_content("<html>moved</html>", "text/html");
                });
    // httplib calls the logger after the response has gone out, so a client can see its answer
    // before the request is recorded; requests() and clear_requests() first wait until every
    // request that has begun is logged (a late log once landed after a clear, under load).
    server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
      std::lock_guard lock(mutex_);
      ++begun_;
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      std::lock_guard lock(mutex_);
      requests_.push_back({req.method, req.path, req.get_header_value("Range"),
                           req.get_header_value("Authorization"), res.status});
      ++logged_;
      all_logged_.notify_all();
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void add_repo(const std::string& id, HubRepo repo) {
    std::lock_guard lock(mutex_);
    repos_[id] = std::move(repo);
  }
  void add_rename(const std::string& old_id, const std::string& new_id) {
    std::lock_guard lock(mutex_);
    renames_[old_id] = new_id;
  }
  std::vector<RecordedRequest> requests() const {
    std::unique_lock lock(mutex_);
    wait_for_logs(lock);
    return requests_;
  }
  void clear_requests() {
    std::unique_lock lock(mutex_);
    wait_for_logs(lock);
    requests_.clear();
  }

 private:
  static void error(httplib::Response& res, int status, const std::string& code,
                    const std::string& message) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", message);
    res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
  }

  // Finds the repository and checks the token; answers the request itself when it fails.
  const HubRepo* lookup(const httplib::Request& req, httplib::Response& res,
                        const std::string& id) {
    const auto it = repos_.find(id);
    if (it == repos_.end()) {
      error(res, 401, "RepoNotFound", "Repository not found");
      return nullptr;
    }
    if (it->second.required_token &&
        req.get_header_value("Authorization") != "Bearer " + *it->second.required_token) {
      error(res, 401, "RepoNotFound", "Invalid username or password.");
      return nullptr;
    }
    return &it->second;
  }

  bool redirect_renamed(const httplib::Request& req, httplib::Response& res,
                        const std::string& id) {
    const auto renamed = renames_.find(id);
    if (renamed == renames_.end()) return false;
    std::string path = req.path;
    path.replace(path.find(id), id.size(), renamed->second);
    res.status = 307;
    res.set_header("Location", path);  // relative, as the hub sends it
    return true;
  }

  void api(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const std::string id = req.matches[1];
    const std::string revision = req.matches[2];
    if (redirect_renamed(req, res, id)) return;
    const auto* repo = lookup(req, res, id);
    if (repo == nullptr) return;
    if (revision != "main" && revision != repo->commit) {
      return error(res, 404, "RevisionNotFound", "Invalid rev id: " + revision);
    }
    nlohmann::json siblings = nlohmann::json::array();
    for (const auto& [name, file] : repo->files) siblings.push_back({{"rfilename", name}});
    res.set_content(
        nlohmann::json{{"id", id}, {"sha", repo->commit}, {"siblings", siblings}}.dump(),
        "application/json");
  }

  void resolve(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const std::string id = req.matches[1];
    const std::string revision = req.matches[2];
    const std::string name = req.matches[3];
    if (redirect_renamed(req, res, id)) return;
    const auto* repo = lookup(req, res, id);
    if (repo == nullptr) return;
    if (revision != "main" && revision != repo->commit) {
      return error(res, 404, "RevisionNotFound", "Invalid rev id: " + revision);
    }
    const auto file = repo->files.find(name);
    if (file == repo->files.end()) return error(res, 404, "EntryNotFound", "Entry not found");
    res.set_header("X-Repo-Commit", repo->commit);
    const auto sha256 = sha256_hex(file->second.content);
    if (file->second.lfs) {
      blobs_[sha256] = file->second.content;
      if (file->second.first_transfer_breaks_at && !broken_once_.contains(id + "/" + name)) {
        break_at_[sha256] = *file->second.first_transfer_breaks_at;
        broken_once_.insert(id + "/" + name);
      }
      res.status = 302;
      res.set_header(
          "Location",
          endpoint() + (file->second.storage_redirects ? "/hop/" : "/storage/") + sha256);
      res.set_header("ETag", "\"" + sha256.substr(0, 40) + "\"");  // the pointer's git oid
      res.set_header("X-Linked-Etag", "\"" + file->second.announced_sha256.value_or(sha256) + "\"");
      res.set_header("X-Linked-Size", std::to_string(file->second.content.size()));
      return;
    }
    res.set_header("ETag", "\"" + sha256.substr(0, 40) + "\"");  // a git blob oid: 40 hex
    res.set_content(file->second.content, "application/octet-stream");
  }

  void storage(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const auto blob = blobs_.find(req.matches[1]);
    if (blob == blobs_.end()) {
      res.status = 404;
      return;
    }
    const auto cut = break_at_.find(blob->first);
    if (cut != break_at_.end()) {
      // Sends the first bytes, then drops the connection, as a flaky network would.
      res.set_content_provider(
          blob->second.size(), "application/octet-stream",
          [content = blob->second, cut_at = cut->second](std::size_t offset, std::size_t length,
                                                         httplib::DataSink& sink) {
            if (offset >= cut_at) return false;
            sink.write(content.data() + offset, std::min(length, cut_at - offset));
            return true;
          });
      break_at_.erase(cut);
      return;
    }
    // set_content lets the server answer Range requests with 206 and the asked-for bytes.
    res.set_content(blob->second, "application/octet-stream");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, HubRepo> repos_;
  std::map<std::string, std::string> renames_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::size_t> break_at_;
  std::set<std::string> broken_once_;
  void wait_for_logs(std::unique_lock<std::mutex>& lock) const {
    all_logged_.wait_for(lock, std::chrono::seconds(10), [this] { return logged_ >= begun_; });
  }
  std::vector<RecordedRequest> requests_;
  std::size_t begun_ = 0, logged_ = 0;
  mutable std::condition_variable all_logged_;
};

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

// The BERT checkpoint folder of the HF fixtures, as a hub repository would hold it, plus
// files emotune does not need.
HubRepo fixture_repo(const std::string& family = "bert") {
  HubRepo repo;
  repo.commit = kCommit;
  for (const auto& entry : fs::directory_iterator(emotune::testing::hf_fixtures_dir() / family)) {
    if (!entry.is_regular_file()) continue;
    const auto name = entry.path().filename().string();
    auto content = read_file(entry.path());
    repo.files[name] = name.ends_with(".safetensors") ? lfs_file(std::move(content))
                                                      : git_file(std::move(content));
  }
  repo.files["README.md"] = git_file("# tiny\n");
  repo.files["pytorch_model.bin"] = lfs_file(std::string(1000, 'x'));
  repo.files["onnx/model.onnx"] = lfs_file("onnx bytes");
  return repo;
}

std::vector<std::string> names_of(const DownloadResult& result) {
  std::vector<std::string> names;
  for (const auto& file : result.files) names.push_back(file.name);
  return names;
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

using emotune::testing::error_of;

class HubDownloadTest : public ::testing::Test {
 protected:
  HubDownloadTest() {
    hub.add_repo("org/tiny-bert", fixture_repo());
    settings.endpoint = hub.endpoint();
    settings.connect_timeout_s = 5;
    settings.stall_timeout_s = 10;
  }

  DownloadResult download(const std::string& repo_id, std::vector<std::string> include = {},
                          const std::string& revision = "main") {
    return download_repo(settings, {repo_id, revision, dir.path() / "out", std::move(include)});
  }

  std::vector<RecordedRequest> requests_to(const std::string& prefix) const {
    std::vector<RecordedRequest> out;
    for (const auto& request : hub.requests()) {
      if (request.path.starts_with(prefix)) out.push_back(request);
    }
    return out;
  }

  FakeHub hub;
  HubSettings settings;
  TempDir dir;
};

TEST_F(HubDownloadTest, DownloadsWhatEmotuneNeedsAndMatchesTheHubBytes) {
  const auto source = fixture_repo();
  const auto result = download("org/tiny-bert");
  EXPECT_EQ(result.commit, kCommit);
  EXPECT_EQ(result.dir, dir.path() / "out");

  const std::set<std::string> needed{"config.json",
                                     "model.safetensors",
                                     "vocab.txt",
                                     "vocab.json",
                                     "merges.txt",
                                     "spiece.model",
                                     "tokenizer.json",
                                     "tokenizer_config.json",
                                     "special_tokens_map.json"};
  std::vector<std::string> expected;
  for (const auto& [name, file] : source.files) {
    if (needed.contains(name)) expected.push_back(name);
  }
  EXPECT_EQ(files_under(result.dir), expected);
  EXPECT_THAT(expected, ::testing::Contains("model.safetensors"));
  EXPECT_THAT(expected, ::testing::Contains("config.json"));
  for (const auto& file : result.files) {
    EXPECT_EQ(read_file(result.dir / file.name), source.files.at(file.name).content) << file.name;
    EXPECT_EQ(file.bytes, source.files.at(file.name).content.size());
    EXPECT_EQ(file.outcome, FileOutcome::downloaded);
    EXPECT_EQ(file.sha256_verified, file.name == "model.safetensors") << file.name;
  }
  // Files come from the commit the listing named, the LFS file through its redirect.
  EXPECT_EQ(requests_to("/org/tiny-bert/resolve/main/").size(), 0u);
  EXPECT_GE(requests_to(std::string("/org/tiny-bert/resolve/") + kCommit + "/").size(),
            2 * result.files.size() - 1);
  const auto storage = requests_to("/storage/");
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_EQ(storage[0].method, "GET");
  EXPECT_EQ(storage[0].range, "");
  for (const auto& request : hub.requests()) EXPECT_EQ(request.authorization, "") << request.path;
}

TEST_F(HubDownloadTest, ResumesAnIncompleteFileWithARangeRequest) {
  const auto weights = fixture_repo().files.at("model.safetensors").content;
  ASSERT_GT(weights.size(), 100u);
  const auto half = weights.size() / 2;
  fs::create_directories(dir.path() / "out");
  write_file_atomic(dir.path() / "out" / "model.safetensors.incomplete", weights.substr(0, half));

  const auto result = download("org/tiny-bert", {"model.safetensors"});
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files[0].outcome, FileOutcome::resumed);
  EXPECT_TRUE(result.files[0].sha256_verified);
  EXPECT_EQ(read_file(dir.path() / "out" / "model.safetensors"), weights);
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "model.safetensors.incomplete"));
  const auto storage = requests_to("/storage/");
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_EQ(storage[0].range, "bytes=" + std::to_string(half) + "-");
  EXPECT_EQ(storage[0].status, 206);
}

TEST_F(HubDownloadTest, ABrokenTransferIsResumedWithoutStartingOver) {
  auto repo = fixture_repo();
  auto& weights = repo.files.at("model.safetensors");
  const auto cut = weights.content.size() / 3;
  weights.first_transfer_breaks_at = cut;
  hub.add_repo("org/flaky", repo);
  const auto result = download("org/flaky", {"model.safetensors"});
  EXPECT_EQ(read_file(result.dir / "model.safetensors"), weights.content);
  const auto storage = requests_to("/storage/");
  ASSERT_EQ(storage.size(), 2u);
  EXPECT_EQ(storage[0].range, "");
  EXPECT_EQ(storage[1].range, "bytes=" + std::to_string(cut) + "-");

  // With one attempt only, the error says how to resume and the partial file stays.
  hub.add_repo("org/flaky-again", repo);
  settings.max_attempts = 1;
  const auto message = error_of([&] {
    download_repo(settings,
                  {"org/flaky-again", "main", dir.path() / "again", {"model.safetensors"}});
  });
  EXPECT_THAT(message, HasSubstr("run the same command again to resume"));
  EXPECT_EQ(fs::file_size(dir.path() / "again" / "model.safetensors.incomplete"), cut);
  EXPECT_FALSE(fs::exists(dir.path() / "again" / "model.safetensors"));
}

TEST_F(HubDownloadTest, KeepsFilesWhoseSha256AlreadyMatches) {
  download("org/tiny-bert");
  hub.clear_requests();
  const auto again = download("org/tiny-bert");
  for (const auto& file : again.files) {
    if (file.name == "model.safetensors") {
      EXPECT_EQ(file.outcome, FileOutcome::up_to_date);
    }
  }
  EXPECT_TRUE(requests_to("/storage/").empty());
}

TEST_F(HubDownloadTest, ChecksumMismatchDeletesTheDownloadAndFails) {
  auto repo = fixture_repo();
  repo.files.at("model.safetensors").announced_sha256 = std::string(64, 'a');
  hub.add_repo("org/corrupt", repo);
  const auto message = error_of([&] { download("org/corrupt"); });
  EXPECT_THAT(message, HasSubstr("checksum mismatch"));
  EXPECT_THAT(message, HasSubstr(std::string(64, 'a')));
  EXPECT_THAT(message, HasSubstr(sha256_hex(repo.files.at("model.safetensors").content)));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "model.safetensors.incomplete"));
}

TEST_F(HubDownloadTest, ACorruptPartialFileIsCaughtByTheChecksum) {
  const auto weights = fixture_repo().files.at("model.safetensors").content;
  fs::create_directories(dir.path() / "out");
  write_file_atomic(dir.path() / "out" / "model.safetensors.incomplete",
                    std::string(weights.size() / 2, '\0'));
  const auto message = error_of([&] { download("org/tiny-bert", {"model.safetensors"}); });
  EXPECT_THAT(message, HasSubstr("checksum mismatch"));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "model.safetensors.incomplete"));
  // Running again starts from scratch and succeeds.
  download("org/tiny-bert", {"model.safetensors"});
  EXPECT_EQ(read_file(dir.path() / "out" / "model.safetensors"), weights);
}

TEST_F(HubDownloadTest, MissingRepositoryOrRevisionIsAClearError) {
  const auto missing = error_of([&] { download("org/no-such-model"); });
  EXPECT_THAT(missing, HasSubstr("repository 'org/no-such-model' not found"));
  EXPECT_THAT(missing, HasSubstr(hub.endpoint() + "/api/models/org/no-such-model/revision/main"));
  EXPECT_THAT(missing, HasSubstr("HF_TOKEN"));

  const auto revision = error_of([&] { download("org/tiny-bert", {}, "v9"); });
  EXPECT_THAT(revision, HasSubstr("revision 'v9' not found in repository 'org/tiny-bert'"));
}

TEST_F(HubDownloadTest, PrivateRepositoryNeedsTheToken) {
  auto repo = fixture_repo();
  repo.required_token = "hf_secret";
  hub.add_repo("org/private", repo);
  const auto message = error_of([&] { download("org/private"); });
  EXPECT_THAT(message, HasSubstr("HTTP 401"));
  EXPECT_THAT(message, HasSubstr("set HF_TOKEN"));

  settings.token = "hf_wrong";
  EXPECT_THAT(error_of([&] { download("org/private"); }), HasSubstr("check that it is valid"));

  settings.token = "hf_secret";
  hub.clear_requests();
  const auto result = download("org/private");
  EXPECT_EQ(files_under(result.dir).size(), result.files.size());
  for (const auto& request : hub.requests()) {
    EXPECT_EQ(request.authorization, "Bearer hf_secret") << request.path;
  }
}

TEST_F(HubDownloadTest, UnreachableEndpointNamesTheUrl) {
  // A port that was free a moment ago: nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  settings.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const auto message = error_of([&] { download("org/tiny-bert"); });
  EXPECT_THAT(message,
              HasSubstr("cannot reach " + settings.endpoint + "/api/models/org/tiny-bert"));
}

TEST_F(HubDownloadTest, ShardedCheckpointBringsEveryShardOfTheIndex) {
  HubRepo repo;
  repo.commit = kCommit;
  repo.files["config.json"] = git_file(R"({"model_type": "bert"})");
  repo.files["vocab.txt"] = git_file("[PAD]\n[UNK]\n");
  repo.files["model.safetensors.index.json"] = git_file(
      R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
          "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}})");
  repo.files["model-00001-of-00002.safetensors"] = lfs_file("first shard");
  repo.files["model-00002-of-00002.safetensors"] = lfs_file("second shard");
  repo.files["model-00001-of-00009.safetensors"] = lfs_file("a shard of something else");
  hub.add_repo("org/sharded", repo);
  const auto result = download("org/sharded");
  EXPECT_THAT(names_of(result),
              ::testing::ElementsAre("config.json", "vocab.txt", "model.safetensors.index.json",
                                     "model-00001-of-00002.safetensors",
                                     "model-00002-of-00002.safetensors"));
  EXPECT_EQ(read_file(result.dir / "model-00002-of-00002.safetensors"), "second shard");
}

TEST_F(HubDownloadTest, IncludePatternsSelectFilesAndFolders) {
  auto result = download("org/tiny-bert", {"*.json"});
  for (const auto& name : names_of(result)) EXPECT_TRUE(name.ends_with(".json")) << name;
  EXPECT_THAT(names_of(result), ::testing::Contains("config.json"));

  result = download("org/tiny-bert", {"onnx/"});
  EXPECT_THAT(names_of(result), ::testing::ElementsAre("onnx/model.onnx"));
  EXPECT_EQ(read_file(result.dir / "onnx" / "model.onnx"), "onnx bytes");

  EXPECT_THAT(error_of([&] { download("org/tiny-bert", {"*.gguf"}); }),
              HasSubstr("no file of 'org/tiny-bert' at revision 'main' matches --include *.gguf"));
}

TEST_F(HubDownloadTest, StorageRedirectsAreFollowedWithoutTheirBodies) {
  auto repo = fixture_repo();
  repo.files.at("model.safetensors").storage_redirects = true;
  hub.add_repo("org/hopping", repo);
  const auto result = download("org/hopping", {"model.safetensors"});
  EXPECT_EQ(read_file(result.dir / "model.safetensors"),
            repo.files.at("model.safetensors").content);
  EXPECT_EQ(requests_to("/hop/").size(), 1u);
  EXPECT_EQ(requests_to("/storage/").size(), 1u);
}

TEST_F(HubDownloadTest, AFileInTheWayOfTheFolderIsAClearError) {
  write_file_atomic(dir.path() / "out", "not a folder");
  EXPECT_THAT(error_of([&] { download("org/tiny-bert"); }), HasSubstr("cannot create this folder"));
}

TEST_F(HubDownloadTest, RenamedRepositoryIsFollowed) {
  hub.add_rename("old-org/tiny", "org/tiny-bert");
  const auto result = download("old-org/tiny", {"config.json", "model.safetensors"});
  EXPECT_EQ(read_file(result.dir / "config.json"), fixture_repo().files.at("config.json").content);
  EXPECT_TRUE(result.files.at(1).sha256_verified);
}

TEST_F(HubDownloadTest, RefusesListingsThatEscapeTheFolderAndRepositoriesWithoutWeights) {
  HubRepo escaping;
  escaping.commit = kCommit;
  escaping.files["../evil"] = git_file("x");
  hub.add_repo("org/escaping", escaping);
  EXPECT_THAT(error_of([&] { download("org/escaping"); }),
              HasSubstr("would land outside the download folder"));

  HubRepo flax;
  flax.commit = kCommit;
  flax.files["config.json"] = git_file("{}");
  flax.files["flax_model.msgpack"] = lfs_file("msgpack");
  hub.add_repo("org/flax", flax);
  const auto message = error_of([&] { download("org/flax"); });
  EXPECT_THAT(message, HasSubstr("has no weights emotune reads"));
  EXPECT_THAT(message, HasSubstr("pytorch_model.bin"));
  EXPECT_THAT(message, HasSubstr("flax_model.msgpack"));
}

TEST_F(HubDownloadTest, PyTorchWeightsComeWhenARepositoryHasNoSafetensors) {
  HubRepo repo;
  repo.commit = kCommit;
  repo.files["config.json"] = git_file(R"({"model_type": "bert"})");
  repo.files["vocab.txt"] = git_file("[PAD]\n[UNK]\n");
  repo.files["pytorch_model.bin.index.json"] = git_file(
      R"({"metadata": {}, "weight_map": {"a": "pytorch_model-00001-of-00002.bin",
          "b": "pytorch_model-00002-of-00002.bin"}})");
  repo.files["pytorch_model-00001-of-00002.bin"] = lfs_file("first bin shard");
  repo.files["pytorch_model-00002-of-00002.bin"] = lfs_file("second bin shard");
  repo.files["tf_model.h5"] = lfs_file("keras");
  hub.add_repo("org/bin-sharded", repo);
  const auto result = download("org/bin-sharded");
  EXPECT_THAT(names_of(result),
              ::testing::ElementsAre("config.json", "vocab.txt", "pytorch_model.bin.index.json",
                                     "pytorch_model-00001-of-00002.bin",
                                     "pytorch_model-00002-of-00002.bin"));
  EXPECT_EQ(read_file(result.dir / "pytorch_model-00002-of-00002.bin"), "second bin shard");
}

TEST(CheckpointFiles, WeightsAreChosenAsTransformersChoosesThem) {
  const std::vector<std::string> tokenizer{"config.json", "vocab.txt", "tokenizer.json"};
  const auto select = [&](std::vector<std::string> weights) {
    auto files = tokenizer;
    files.insert(files.end(), weights.begin(), weights.end());
    return checkpoint_files(files, "org/x");
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(select({"pytorch_model.bin", "model.safetensors", "tf_model.h5"}),
              ElementsAre("config.json", "tokenizer.json", "vocab.txt", "model.safetensors"));
  EXPECT_THAT(select({"pytorch_model.bin", "model.safetensors.index.json"}),
              ElementsAre("config.json", "tokenizer.json", "vocab.txt",
                          "model.safetensors.index.json"));
  EXPECT_THAT(select({"pytorch_model.bin.index.json", "pytorch_model.bin"}),
              ElementsAre("config.json", "tokenizer.json", "vocab.txt", "pytorch_model.bin"));
  EXPECT_THAT(select({"pytorch_model.bin.index.json", "flax_model.msgpack"}),
              ElementsAre("config.json", "tokenizer.json", "vocab.txt",
                          "pytorch_model.bin.index.json"));
  EXPECT_THROW(select({"flax_model.msgpack"}), Error);
}

TEST_F(HubDownloadTest, OneDownloadAtATimePerFolder) {
  fs::create_directories(dir.path() / "out");
  const int fd = ::open((dir.path() / "out").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  EXPECT_THAT(error_of([&] { download("org/tiny-bert"); }),
              HasSubstr("another download is writing into this folder"));
  ::close(fd);
  EXPECT_NO_THROW(download("org/tiny-bert"));
}

TEST_F(HubDownloadTest, ServerFailuresNameTheStatus) {
  // The storage path of an unknown blob answers 404 without the hub's error headers.
  settings.endpoint = hub.endpoint() + "/storage";
  const auto message = error_of([&] { download("org/tiny-bert"); });
  EXPECT_THAT(message, HasSubstr("HTTP 404"));
  EXPECT_THAT(message, HasSubstr("'org/tiny-bert' or revision 'main' not found"));
}

TEST(HubUrls, QuoteRevisionAsOneSegmentAndKeepFolders) {
  EXPECT_EQ(hub_file_url("https://huggingface.co", "google/electra-small-discriminator", "main",
                         "config.json"),
            "https://huggingface.co/google/electra-small-discriminator/resolve/main/config.json");
  EXPECT_EQ(hub_file_url("http://h", "a/b", "refs/pr/1", "sub dir/f+1.json"),
            "http://h/a/b/resolve/refs%2Fpr%2F1/sub%20dir/f%2B1.json");
  EXPECT_EQ(default_download_dir("google/electra-small-discriminator"),
            fs::path("models/electra-small-discriminator"));
  EXPECT_EQ(default_download_dir("bert-base-uncased"), fs::path("models/bert-base-uncased"));
}

TEST(HubUrls, RepoIdsAreValidated) {
  EXPECT_NO_THROW(validate_repo_id("bert-base-uncased"));
  EXPECT_NO_THROW(validate_repo_id("google/electra-base-discriminator"));
  EXPECT_NO_THROW(validate_repo_id("org_1/model.v2"));
  for (const char* bad : {"", "a/b/c", "../x", "a/", "/b", "a--b/c", "a/b..c", "a b", "-a/b",
                          "http://huggingface.co/a/b"}) {
    EXPECT_THROW(validate_repo_id(bad), Error) << bad;
  }
}

// Sets environment variables for one test and puts the old values back.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::optional<std::string>& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(HubSettingsFromEnv, ReadsEndpointAndTokenAsTheHubClientsDo) {
  TempDir dir;
  ScopedEnv env;
  env.set("HF_ENDPOINT", "http://127.0.0.1:9/");
  env.set("HF_HUB_OFFLINE", std::nullopt);
  env.set("HF_TOKEN", std::nullopt);
  env.set("HUGGING_FACE_HUB_TOKEN", std::nullopt);
  env.set("HF_TOKEN_PATH", (dir / "token").string());
  auto settings = hub_settings_from_env();
  EXPECT_EQ(settings.endpoint, "http://127.0.0.1:9");
  EXPECT_FALSE(settings.token.has_value());

  write_file_atomic(dir / "token", "hf_from_file\n");
  EXPECT_EQ(hub_settings_from_env().token, "hf_from_file");
  env.set("HUGGING_FACE_HUB_TOKEN", "hf_legacy");
  EXPECT_EQ(hub_settings_from_env().token, "hf_legacy");
  env.set("HF_TOKEN", "hf_new");
  EXPECT_EQ(hub_settings_from_env().token, "hf_new");

  env.set("HF_ENDPOINT", std::nullopt);
  EXPECT_EQ(hub_settings_from_env().endpoint, "https://huggingface.co");
  env.set("HF_ENDPOINT", "huggingface.co");
  EXPECT_THROW(hub_settings_from_env(), Error);
  env.set("HF_ENDPOINT", std::nullopt);
  env.set("HF_HUB_OFFLINE", "1");
  EXPECT_THROW(hub_settings_from_env(), Error);
  env.set("HF_HUB_OFFLINE", "0");
  EXPECT_NO_THROW(hub_settings_from_env());
}

class DownloadCommandTest : public HubDownloadTest {
 protected:
  DownloadCommandTest() {
    env.set("HF_ENDPOINT", hub.endpoint());
    env.set("HF_HUB_OFFLINE", std::nullopt);
    env.set("HF_TOKEN", std::nullopt);
    env.set("HUGGING_FACE_HUB_TOKEN", std::nullopt);
    env.set("HF_TOKEN_PATH", (dir / "no-token").string());
  }
  ScopedEnv env;
};

TEST_F(DownloadCommandTest, DownloadsIntoTheGivenFolderAndSendsHfToken) {
  env.set("HF_TOKEN", "hf_cli_token");
  const auto out = dir / "cli";
  const auto run = emotune::testing::run_cli("download org/tiny-bert --dir " +
                                             emotune::testing::shell_quote(out.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr(std::string("org/tiny-bert (") + kCommit + ")"));
  EXPECT_THAT(run.err, HasSubstr("model.safetensors downloaded"));
  EXPECT_THAT(run.err, HasSubstr("sha256 ok"));
  EXPECT_EQ(read_file(out / "config.json"), fixture_repo().files.at("config.json").content);
  EXPECT_FALSE(fs::exists(out / "README.md"));
  ASSERT_FALSE(hub.requests().empty());
  for (const auto& request : hub.requests()) {
    EXPECT_EQ(request.authorization, "Bearer hf_cli_token") << request.path;
  }
}

TEST_F(DownloadCommandTest, NotFoundExitsWithOneMessage) {
  const auto run = emotune::testing::run_cli("download org/nothing-here --dir " +
                                             emotune::testing::shell_quote((dir / "x").string()));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("emotune: error:"));
  EXPECT_THAT(run.err, HasSubstr("repository 'org/nothing-here' not found"));
}

TEST_F(DownloadCommandTest, HelpExplainsEveryOption) {
  const auto run = emotune::testing::run_cli("download --help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* option : {"--revision", "--dir", "--include", "HF_TOKEN", "HF_ENDPOINT"}) {
    EXPECT_THAT(run.out, HasSubstr(option));
  }
}

}  // namespace
}  // namespace emotune::io
