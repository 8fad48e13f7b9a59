#pragma once

// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON ({"name": {"dtype", "shape", "data_offsets"}, ...,
// "__metadata__": {string: string}}), then the data section. Torch-free: the model layer
// turns these byte views into tensors.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// Bytes per element.
std::size_t dtype_size(DType dtype);
// The format's spelling: "F32", "BF16", "I64", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> parse_dtype_name(std::string_view name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  // [begin, end) relative to the start of the data section.
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // byte offset of the data section within the file
};

// Headers larger than this are refused (the reference implementation's limit), so a corrupt
// length cannot make us parse gigabytes of JSON.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

// Parses and validates the header of a complete safetensors file held in `file_bytes`.
// Rules (each violation an Error naming `origin` and, where one is involved, the tensor):
//  * the 8-byte length prefix fits in the file and is at most kMaxHeaderBytes;
//  * the header is one JSON object starting with '{' (trailing spaces allowed), no duplicate keys;
//  * "__metadata__", if present, maps strings to strings;
//  * every other entry has exactly dtype (known), shape (non-negative integers) and
//    data_offsets ([begin, end], begin <= end);
//  * end - begin equals numel * dtype size;
//  * the ranges lie in the data section, do not overlap, and cover it without holes
//    (the format forbids holes so a file cannot smuggle extra bytes: a polyglot guard).
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::filesystem::path& origin);

// A read-only memory map of a whole file, unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void release() noexcept;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A validated safetensors file, memory-mapped; tensor data are views into the map.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  // nullptr when absent.
  const TensorInfo* find(std::string_view name) const;
  // Error naming the file when absent.
  const TensorInfo& at(std::string_view name) const;
  std::span<const std::byte> data(const TensorInfo& tensor) const;

 private:
  MappedFile file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// A tensor to write: raw little-endian bytes, row-major.
struct TensorBytes {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
};

// The serialized header (length prefix included) for tensors laid out in name order,
// JSON padded with spaces to a multiple of 8 bytes.
std::string make_safetensors_header(const std::map<std::string, TensorBytes>& tensors,
                                    const std::map<std::string, std::string>& metadata);

// Writes tensors in alphabetical order, streaming to a temporary file beside `path` that is
// fsynced and renamed over `path`: readers see the old file or the new one, never half.
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, TensorBytes>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace emotune::io
