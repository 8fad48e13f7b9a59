#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <utility>
#include <sstream>

#include <openssl/evp.h>

#include "common/error.h"

namespace emotune {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw error_in(path, fmt::format("cannot open for reading ({})", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw error_in(path, "read failed");
  return std::move(buffer).str();
}

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void fsync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY));
  if (fd.get() >= 0) ::fsync(fd.get());
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  const auto dir = path.parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  std::random_device entropy;
  const auto temp = std::filesystem::path(path.string() + fmt::format(".tmp{:08x}", entropy()));
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      throw error_in(temp, fmt::format("cannot create ({})", std::strerror(errno)));
    }
    std::size_t written = 0;
    while (written < bytes.size()) {
      const auto n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        std::filesystem::remove(temp);
        throw error_in(temp, fmt::format("write failed ({})", std::strerror(err)));
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
      const int err = errno;
      std::filesystem::remove(temp);
      throw error_in(temp, fmt::format("cannot flush to disk ({})", std::strerror(err)));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    throw error_in(path, fmt::format("cannot replace ({})", ec.message()));
  }
  fsync_directory(dir);
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

namespace {

struct DigestContext {
  DigestContext() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx, data, size); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx, digest, &size);
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }
  EVP_MD_CTX* ctx;
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  DigestContext digest;
  digest.update(bytes.data(), bytes.size());
  return digest.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error_in(path, "cannot open for hashing");
  DigestContext digest;
  std::string chunk(1 << 20, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    digest.update(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  return digest.hex();
}

void remove_all_quietly(const std::filesystem::path& path) {
  try {
    std::filesystem::remove_all(path);
  } catch (const std::filesystem::filesystem_error&) {
  }
}

}  // namespace emotune
