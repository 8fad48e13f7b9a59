#include "io/hub_download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/version.h"
#include "io/checkpoint_files.h"

namespace emotune::io {
namespace {

namespace fs = std::filesystem;

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool is_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

// Percent-encodes every byte outside RFC 3986's unreserved set and `keep`, as Python's
// urllib.parse.quote does (the hub clients quote revisions with nothing kept, so that
// "refs/pr/1" stays one path segment, and file names keeping '/').
std::string quote(std::string_view text, std::string_view keep) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// ---- libcurl ---------------------------------------------------------------------------

void ensure_curl_initialized() {
  static const CURLcode status = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (status != CURLE_OK) {
    throw Error(fmt::format("cannot initialize libcurl: {}", curl_easy_strerror(status)));
  }
}

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
};

std::optional<Origin> origin_of(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  auto part = [&](CURLUPart which, unsigned flags) {
    char* raw = nullptr;
    if (curl_url_get(parsed.get(), which, &raw, flags) != CURLUE_OK) return std::string();
    std::unique_ptr<char, CurlStringDeleter> owned(raw);
    return to_lower(raw);
  };
  return Origin{part(CURLUPART_SCHEME, 0), part(CURLUPART_HOST, 0),
                part(CURLUPART_PORT, CURLU_DEFAULT_PORT)};
}

// `location` (absolute or relative, as a Location header gives it) against `base`.
std::string resolve_location(const std::string& base, const std::string& location) {
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(parsed.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK) {
    throw Error(fmt::format("{}: cannot follow the redirect to '{}'", base, location));
  }
  char* raw = nullptr;
  curl_url_get(parsed.get(), CURLUPART_URL, &raw, 0);
  std::unique_ptr<char, CurlStringDeleter> owned(raw);
  return raw == nullptr ? location : std::string(raw);
}

bool is_relative_location(std::string_view location) {
  return location.find("://") == std::string_view::npos && !location.starts_with("//");
}

struct HttpRequest {
  std::string url;
  bool head = false;
  bool follow_redirects = false;
  bool send_token = true;
  std::uint64_t range_from = 0;  // 0: no Range header
};

struct HttpResponse {
  CURLcode curl_status = CURLE_OK;
  std::string curl_message;
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last response, names lower-cased
  std::string body;                            // when no sink was given, or an error body

  std::optional<std::string> header(const std::string& name) const {
    const auto it = headers.find(name);
    if (it == headers.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
};

// Receives the body of a successful (< 400) response; returns false to abort the transfer.
using BodySink = std::function<bool(const HttpResponse& response, std::string_view chunk)>;

struct TransferState {
  HttpResponse response;
  const BodySink* sink = nullptr;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& response = static_cast<TransferState*>(user)->response;
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response starts (after a redirect or a 100 Continue): forget the last one's.
    response.headers.clear();
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      response.status = std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    response.headers[to_lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

constexpr std::size_t kMaxErrorBody = 64 * 1024;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& state = *static_cast<TransferState*>(user);
  const std::string_view chunk(data, size * count);
  if (state.sink == nullptr || state.response.status >= 400) {
    if (state.response.body.size() < kMaxErrorBody || state.sink == nullptr) {
      state.response.body.append(chunk);
    }
    return chunk.size();
  }
  return (*state.sink)(state.response, chunk) ? chunk.size() : 0;
}

const std::string& user_agent() {
  static const std::string agent =
      fmt::format("emotune/{}; {}", kVersion, curl_version_info(CURLVERSION_NOW)->version);
  return agent;
}

HttpResponse perform(const HubSettings& settings, const HttpRequest& request,
                     const BodySink* sink = nullptr) {
  ensure_curl_initialized();
  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (!curl) throw Error("cannot create a libcurl handle");
  TransferState state;
  state.sink = sink;
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_slist* raw_headers = nullptr;
  auto add_header = [&raw_headers](const std::string& header) {
    raw_headers = curl_slist_append(raw_headers, header.c_str());
  };
  // Sizes and checksums refer to the stored bytes, so ask for them uncompressed.
  add_header("Accept-Encoding: identity");
  if (request.send_token && settings.token) add_header("Authorization: Bearer " + *settings.token);
  std::unique_ptr<curl_slist, CurlListDeleter> headers(raw_headers);

  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, user_agent().c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, settings.connect_timeout_s);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, settings.stall_timeout_s);
  curl_easy_setopt(handle, CURLOPT_BUFFERSIZE, 256L * 1024L);
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  if (request.head) curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  const std::string range = fmt::format("{}-", request.range_from);
  if (request.range_from > 0) curl_easy_setopt(handle, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);

  state.response.curl_status = curl_easy_perform(handle);
  if (state.response.curl_status != CURLE_OK) {
    state.response.curl_message = error_buffer[0] != '\0'
                                      ? std::string(error_buffer)
                                      : curl_easy_strerror(state.response.curl_status);
  }
  return std::move(state.response);
}

// ---- what the hub's answers mean -------------------------------------------------------

struct RepoContext {
  const HubSettings& settings;
  std::string repo_id;
  std::string revision;
};

Error unreachable(const std::string& url, const HttpResponse& response) {
  return Error(fmt::format("cannot reach {}: {}", url, response.curl_message));
}

// Turns an HTTP error into a message that says what to do, reading the hub's X-Error-Code
// header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) where it gives one.
Error status_error(const RepoContext& context, const std::string& url, const HttpResponse& response,
                   const std::string& filename = {}) {
  const auto code = response.header("x-error-code").value_or("");
  std::string server_says = response.header("x-error-message").value_or("");
  if (server_says.empty()) {
    const auto parsed = nlohmann::json::parse(response.body, nullptr, false);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      server_says = parsed["error"].get<std::string>();
    }
  }
  const bool token_sent = context.settings.token.has_value();
  const std::string token_hint =
      token_sent ? " A token (HF_TOKEN) was sent: check that it is valid and can read this "
                   "repository."
                 : " If it is private or gated, set HF_TOKEN to an access token that can read it.";
  std::string what;
  if (code == "GatedRepo" || (response.status == 403 && code != "RepoNotFound")) {
    what = fmt::format(
        "access to '{}' is restricted (gated or private repository): accept its conditions at "
        "{}/{} and set HF_TOKEN to a token of an account that was granted access.{}",
        context.repo_id, context.settings.endpoint, context.repo_id,
        token_sent ? " The token that was sent does not have access." : "");
  } else if (code == "RevisionNotFound") {
    what = fmt::format(
        "revision '{}' not found in repository '{}' (give a branch, tag or commit with "
        "--revision)",
        context.revision, context.repo_id);
  } else if (code == "EntryNotFound") {
    what = fmt::format("file '{}' not found in '{}' at revision '{}'", filename, context.repo_id,
                       context.revision);
  } else if (code == "RepoNotFound" || response.status == 401) {
    what = fmt::format("repository '{}' not found on {} (check its name).{}", context.repo_id,
                       context.settings.endpoint, token_hint);
  } else if (response.status == 404) {
    what = fmt::format("repository '{}' or revision '{}' not found (check both).{}",
                       context.repo_id, context.revision, token_hint);
  } else if (response.status == 429) {
    what = "too many requests: the hub is rate-limiting; wait a minute and run again";
  } else if (response.status >= 500) {
    what = "the server failed; try again later";
  } else {
    what = "unexpected answer";
  }
  std::string message = fmt::format("{}: HTTP {}: {}", url, response.status, what);
  if (!server_says.empty()) message += fmt::format(" (server: {})", server_says);
  return Error(message);
}

std::string normalize_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  return etag;
}

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

struct FileMetadata {
  std::string download_url;
  bool send_token = true;  // false when the bytes come from another host (a CDN)
  std::optional<std::string> sha256;
  std::optional<std::uint64_t> size;
};

// A HEAD request on the resolve URL, as the hub clients make it: relative redirects (a
// renamed repository) are followed; an absolute one points at the storage of an LFS file,
// and it is the redirect response itself that carries X-Linked-Etag (the sha256) and
// X-Linked-Size, which the storage's own answer would not.
FileMetadata file_metadata(const RepoContext& context, const std::string& filename,
                           const std::string& url) {
  std::string current = url;
  for (int hop = 0; hop < 10; ++hop) {
    const auto response = perform(context.settings, {.url = current, .head = true});
    if (response.curl_status != CURLE_OK) throw unreachable(current, response);
    FileMetadata metadata;
    metadata.download_url = current;
    if (response.status >= 300 && response.status < 400) {
      const auto location = response.header("location");
      if (!location) {
        throw Error(fmt::format("{}: HTTP {} redirect without a Location header", current,
                                response.status));
      }
      if (is_relative_location(*location)) {
        current = resolve_location(current, *location);
        continue;
      }
      metadata.download_url = *location;
      const auto endpoint_origin = origin_of(context.settings.endpoint);
      metadata.send_token = endpoint_origin && origin_of(*location) == endpoint_origin;
    } else if (response.status >= 400 || response.status < 200) {
      throw status_error(context, current, response, filename);
    }
    const auto etag = normalize_etag(
        response.header("x-linked-etag").value_or(response.header("etag").value_or("")));
    // LFS files are named by their sha256; git files by a sha1 of the git object, which
    // says nothing checkable about the bytes alone.
    if (is_hex(etag, 64)) metadata.sha256 = etag;
    metadata.size = parse_size(response.header("x-linked-size"));
    if (!metadata.size) metadata.size = parse_size(response.header("content-length"));
    return metadata;
  }
  throw Error(fmt::format("{}: too many redirects", url));
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

bool is_transient(CURLcode status) {
  switch (status) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

void make_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw error_in(dir, fmt::format("cannot create this folder ({})",
                                    ec ? ec.message() : "a file of that name is in the way"));
  }
}

// Where "Content-Range: bytes START-END/TOTAL" starts; nullopt when absent or malformed.
std::optional<std::uint64_t> content_range_start(const HttpResponse& response) {
  const auto range = response.header("content-range");
  if (!range || !range->starts_with("bytes ")) return std::nullopt;
  const auto dash = range->find('-');
  if (dash == std::string::npos) return std::nullopt;
  return parse_size(range->substr(6, dash - 6));
}

enum class FetchStatus { complete, broken, range_refused };

struct FetchAttempt {
  FetchStatus status = FetchStatus::complete;
  std::string why;  // for broken transfers
};

// Appends the rest of the file to `partial`, from its current size on.
FetchAttempt fetch_rest(const RepoContext& context, const std::string& name,
                        const FileMetadata& metadata, const fs::path& partial,
                        DownloadObserver* observer) {
  const std::uint64_t have = fs::exists(partial) ? fs::file_size(partial) : 0;
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(partial.c_str(), "ab"));
  if (!file) {
    throw error_in(partial, fmt::format("cannot open for writing ({})", std::strerror(errno)));
  }
  std::uint64_t written = have;
  std::string write_error;
  bool started = false;
  bool range_mismatch = false;
  const BodySink sink = [&](const HttpResponse& response, std::string_view chunk) {
    // The body of a redirect on the way is no part of the file.
    if (response.status >= 300 && response.status < 400) return true;
    if (!started) {
      started = true;
      // The server ignored the Range request and sends the whole file: start over.
      if (have > 0 && response.status == 200) {
        if (::ftruncate(::fileno(file.get()), 0) != 0) {
          write_error =
              fmt::format("{}: cannot truncate ({})", partial.string(), std::strerror(errno));
          return false;
        }
        written = 0;
      }
      // A range that does not start where the partial file ends would splice the file.
      if (response.status == 206 && content_range_start(response) != have) {
        range_mismatch = true;
        return false;
      }
    }
    if (std::fwrite(chunk.data(), 1, chunk.size(), file.get()) != chunk.size()) {
      write_error = fmt::format("{}: write failed ({})", partial.string(), std::strerror(errno));
      return false;
    }
    written += chunk.size();
    if (observer != nullptr) observer->file_progress(name, written, metadata.size);
    return true;
  };
  const auto response = perform(context.settings,
                                {.url = metadata.download_url,
                                 .follow_redirects = true,
                                 .send_token = metadata.send_token,
                                 .range_from = have},
                                &sink);
  if (std::fclose(file.release()) != 0 && write_error.empty()) {
    write_error = fmt::format("{}: write failed ({})", partial.string(), std::strerror(errno));
  }
  if (!write_error.empty()) throw Error(write_error);
  if (response.status == 416) return {FetchStatus::range_refused, "range not satisfiable"};
  if (range_mismatch) {
    return {FetchStatus::range_refused,
            fmt::format("the server sent bytes from {} on where {} were asked for",
                        response.header("content-range").value_or("?"), have)};
  }
  if (response.curl_status != CURLE_OK) {
    if (is_transient(response.curl_status)) {
      return {FetchStatus::broken,
              fmt::format("{} ({})", response.curl_message, metadata.download_url)};
    }
    throw unreachable(metadata.download_url, response);
  }
  if (response.status >= 400) throw status_error(context, metadata.download_url, response, name);
  if (response.status != 200 && response.status != 206) {
    throw Error(fmt::format("{}: unexpected HTTP {} for a file download", metadata.download_url,
                            response.status));
  }
  return {};
}

DownloadedFile download_file(const RepoContext& context, const std::string& resolve_revision,
                             const std::string& name, const fs::path& dir,
                             DownloadObserver* observer) {
  const auto url = hub_file_url(context.settings.endpoint, context.repo_id, resolve_revision, name);
  const auto metadata = file_metadata(context, name, url);
  const fs::path target = dir / name;
  make_folder(target.parent_path());
  DownloadedFile out{.name = name, .path = target};

  if (metadata.sha256 && fs::is_regular_file(target) &&
      (!metadata.size || fs::file_size(target) == *metadata.size) &&
      sha256_file(target) == *metadata.sha256) {
    out.bytes = fs::file_size(target);
    out.outcome = FileOutcome::up_to_date;
    out.sha256_verified = true;
    if (observer != nullptr) observer->file_finished(out);
    return out;
  }

  const fs::path partial = target.string() + ".incomplete";
  std::uint64_t have = fs::exists(partial) ? fs::file_size(partial) : 0;
  if (metadata.size && have > *metadata.size) {
    fs::remove(partial);
    have = 0;
  }
  out.outcome = have > 0 ? FileOutcome::resumed : FileOutcome::downloaded;
  if (observer != nullptr) observer->file_started(name, metadata.size, have);
  spdlog::debug("GET {} -> {} (from byte {})", metadata.download_url, partial.string(), have);

  const int attempts = std::max(1, context.settings.max_attempts);
  for (int attempt = 1;; ++attempt) {
    if (metadata.size && fs::exists(partial) && fs::file_size(partial) == *metadata.size) break;
    const auto result = fetch_rest(context, name, metadata, partial, observer);
    if (result.status == FetchStatus::complete) break;
    if (result.status == FetchStatus::range_refused) fs::remove(partial);
    if (attempt >= attempts) {
      const std::uint64_t got = fs::exists(partial) ? fs::file_size(partial) : 0;
      throw Error(fmt::format(
          "{}: download broke off after {}{}: {}; run the same command again to resume from "
          "{}",
          url, human_bytes(got), metadata.size ? " of " + human_bytes(*metadata.size) : "",
          result.why, partial.string()));
    }
    spdlog::warn("{}: {}; resuming (attempt {} of {})", name, result.why, attempt + 1, attempts);
  }

  const std::uint64_t got = fs::exists(partial) ? fs::file_size(partial) : 0;
  if (metadata.size && got != *metadata.size) {
    if (got > *metadata.size) fs::remove(partial);
    throw Error(fmt::format("{}: received {} bytes where the hub announced {}{}", url, got,
                            *metadata.size,
                            got < *metadata.size ? "; run the same command again to resume"
                                                 : "; the partial file was deleted"));
  }
  if (metadata.sha256) {
    const auto actual = sha256_file(partial);
    if (actual != *metadata.sha256) {
      fs::remove(partial);
      throw Error(fmt::format(
          "{}: checksum mismatch for {}: the hub gives sha256 {} but the downloaded bytes have "
          "{}; the download was deleted, run the command again",
          target.string(), url, *metadata.sha256, actual));
    }
    out.sha256_verified = true;
  }
  std::error_code ec;
  fs::rename(partial, target, ec);
  if (ec) {
    throw error_in(target, fmt::format("cannot move the download in place ({})", ec.message()));
  }
  out.bytes = got;
  if (observer != nullptr) observer->file_finished(out);
  return out;
}

// Two downloads into one folder would append to the same .incomplete files; the second
// one is refused while the first holds this lock (released when its process ends).
class FolderLock {
 public:
  explicit FolderLock(const fs::path& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) throw error_in(dir, fmt::format("cannot open ({})", std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      throw error_in(dir, err == EWOULDBLOCK
                              ? "another download is writing into this folder; wait for it to "
                                "finish"
                              : fmt::format("cannot lock ({})", std::strerror(err)));
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

bool matches_any(const std::string& name, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(), [&](std::string pattern) {
    // As the hub clients do, "folder/" means everything in it.
    if (pattern.ends_with('/')) pattern += '*';
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
  });
}

}  // namespace

HubSettings hub_settings_from_env() {
  HubSettings settings;
  if (const auto offline = env("HF_HUB_OFFLINE")) {
    const auto value = to_lower(*offline);
    if (value == "1" || value == "on" || value == "yes" || value == "true") {
      throw Error(fmt::format("HF_HUB_OFFLINE={}: hub downloads are disabled; unset it to download",
                              *offline));
    }
  }
  if (auto endpoint = env("HF_ENDPOINT")) {
    while (endpoint->ends_with('/')) endpoint->pop_back();
    if (!endpoint->starts_with("http://") && !endpoint->starts_with("https://")) {
      throw Error(
          fmt::format("HF_ENDPOINT: expected an http:// or https:// URL, got '{}'", *endpoint));
    }
    settings.endpoint = *endpoint;
  }
  settings.token = env("HF_TOKEN");
  if (!settings.token) settings.token = env("HUGGING_FACE_HUB_TOKEN");
  if (!settings.token) {
    fs::path token_file;
    if (auto path = env("HF_TOKEN_PATH")) {
      token_file = *path;
    } else if (auto home = env("HF_HOME")) {
      token_file = fs::path(*home) / "token";
    } else if (auto cache = env("XDG_CACHE_HOME")) {
      token_file = fs::path(*cache) / "huggingface" / "token";
    } else if (auto user_home = env("HOME")) {
      token_file = fs::path(*user_home) / ".cache" / "huggingface" / "token";
    }
    std::error_code ec;
    if (!token_file.empty() && fs::is_regular_file(token_file, ec)) {
      const auto token = std::string(trim(read_file(token_file)));
      if (!token.empty()) settings.token = token;
    }
  }
  return settings;
}

void validate_repo_id(const std::string& repo_id) {
  auto valid_part = [](std::string_view part) {
    return !part.empty() &&
           std::all_of(part.begin(), part.end(),
                       [](unsigned char c) {
                         return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                       }) &&
           part.front() != '-' && part.front() != '.' && part.back() != '-' && part.back() != '.';
  };
  const auto slash = repo_id.find('/');
  const bool ok =
      repo_id.size() <= 96 && repo_id.find("--") == std::string::npos &&
      repo_id.find("..") == std::string::npos &&
      (slash == std::string::npos ? valid_part(repo_id)
                                  : valid_part(std::string_view(repo_id).substr(0, slash)) &&
                                        valid_part(std::string_view(repo_id).substr(slash + 1)));
  if (!ok) {
    throw Error(fmt::format(
        "'{}' is not a hub repository id: expected 'name' or 'namespace/name' of letters, "
        "digits, '-', '_' and '.' (e.g. google/electra-base-discriminator)",
        repo_id));
  }
}

fs::path default_download_dir(const std::string& repo_id) {
  const auto slash = repo_id.rfind('/');
  return fs::path("models") / (slash == std::string::npos ? repo_id : repo_id.substr(slash + 1));
}

std::string hub_file_url(const std::string& endpoint, const std::string& repo_id,
                         const std::string& revision, const std::string& filename) {
  return fmt::format("{}/{}/resolve/{}/{}", endpoint, repo_id, quote(revision, ""),
                     quote(filename, "/"));
}

RepoListing list_repo_files(const HubSettings& settings, const std::string& repo_id,
                            const std::string& revision) {
  validate_repo_id(repo_id);
  const RepoContext context{settings, repo_id, revision};
  const auto url =
      fmt::format("{}/api/models/{}/revision/{}", settings.endpoint, repo_id, quote(revision, ""));
  const auto response = perform(settings, {.url = url, .follow_redirects = true});
  if (response.curl_status != CURLE_OK) throw unreachable(url, response);
  if (response.status >= 400 || response.status < 200) throw status_error(context, url, response);
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    throw Error(fmt::format("{}: the answer is not a JSON object; is HF_ENDPOINT ({}) a hub?", url,
                            settings.endpoint));
  }
  if (!json.contains("siblings") || !json["siblings"].is_array()) {
    throw Error(fmt::format("{}: the answer has no \"siblings\" array of files", url));
  }
  RepoListing listing;
  if (json.contains("sha") && json["sha"].is_string()) listing.commit = json["sha"];
  for (const auto& sibling : json["siblings"]) {
    if (!sibling.is_object() || !sibling.contains("rfilename") ||
        !sibling["rfilename"].is_string()) {
      throw Error(fmt::format("{}: a \"siblings\" entry has no string \"rfilename\"", url));
    }
    auto name = sibling["rfilename"].get<std::string>();
    if (!is_safe_relative_path(name)) {
      throw Error(fmt::format(
          "{}: the listing names the file '{}', which would land outside the download folder", url,
          name));
    }
    listing.files.push_back(std::move(name));
  }
  return listing;
}

std::vector<std::string> checkpoint_files(const std::vector<std::string>& files,
                                          const std::string& repo_id) {
  const std::set<std::string> present(files.begin(), files.end());
  if (!present.contains("config.json")) {
    throw Error(fmt::format(
        "'{}' has no config.json at this revision, so it is no transformers checkpoint; "
        "its files: {}",
        repo_id, fmt::join(files, ", ")));
  }
  std::vector<std::string> selected{"config.json"};
  for (const char* tokenizer_file :
       {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "vocab.txt",
        "vocab.json", "merges.txt", "spiece.model"}) {
    if (present.contains(tokenizer_file)) selected.emplace_back(tokenizer_file);
  }
  // The first weights transformers would load; PyTorch .bin files only when the revision has
  // no safetensors, as from_pretrained does.
  const auto weights = std::find_if(kWeightFileNames.begin(), kWeightFileNames.end(),
                                    [&](std::string_view name) {
                                      return present.contains(std::string(name));
                                    });
  if (weights == kWeightFileNames.end()) {
    throw Error(fmt::format(
        "'{}' has no weights emotune reads at this revision (none of {}). Its files: {}. Pick "
        "a revision that has them with --revision, or --include to fetch other files",
        repo_id, weight_file_names_text(), fmt::join(files, ", ")));
  }
  selected.emplace_back(*weights);
  return selected;
}

std::vector<std::string> index_shards(const fs::path& index_file) {
  return read_shard_index(index_file).shards();
}

DownloadResult download_repo(const HubSettings& settings, const DownloadRequest& request,
                             DownloadObserver* observer) {
  validate_repo_id(request.repo_id);
  if (request.revision.empty()) throw Error("--revision: expected a branch, tag or commit");
  const RepoContext context{settings, request.repo_id, request.revision};
  const auto listing = list_repo_files(settings, request.repo_id, request.revision);

  DownloadResult result;
  result.dir = request.dir.empty() ? default_download_dir(request.repo_id) : request.dir;
  result.commit = listing.commit;
  // Every file comes from the commit the listing was made at, even if the branch moves on.
  const auto resolve_revision = is_hex(listing.commit, 40) ? listing.commit : request.revision;

  std::vector<std::string> names;
  if (!request.include.empty()) {
    for (const auto& file : listing.files) {
      if (matches_any(file, request.include)) names.push_back(file);
    }
    if (names.empty()) {
      throw Error(fmt::format(
          "no file of '{}' at revision '{}' matches --include {}; its files: {}", request.repo_id,
          request.revision, fmt::join(request.include, " "), fmt::join(listing.files, ", ")));
    }
  } else {
    names = checkpoint_files(listing.files, request.repo_id);
  }

  const std::set<std::string> listed(listing.files.begin(), listing.files.end());
  make_folder(result.dir);
  const FolderLock lock(result.dir);
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto file = download_file(context, resolve_revision, names[i], result.dir, observer);
    if (request.include.empty() && names[i].ends_with(".index.json")) {
      for (const auto& shard : index_shards(file.path)) {
        if (!listed.contains(shard)) {
          throw error_in(file.path, fmt::format("names the shard '{}', which '{}' does not have "
                                                "at revision '{}'",
                                                shard, request.repo_id, request.revision));
        }
        if (std::find(names.begin(), names.end(), shard) == names.end()) names.push_back(shard);
      }
    }
    result.files.push_back(std::move(file));
  }
  return result;
}

}  // namespace emotune::io
