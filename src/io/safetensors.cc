#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace emotune::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data are little-endian; a big-endian host needs byte swapping");

namespace {

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeEntry, 10> kDTypes{{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
}};

const DTypeEntry& entry(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e;
  throw std::logic_error("unknown DType enumerator");
}

std::string errno_text() {
  return std::strerror(errno);
}

std::uint64_t read_le_u64(std::span<const std::byte> bytes) {
  std::uint64_t value = 0;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;  // host is little-endian (static_assert above)
}

std::uint64_t to_u64(const nlohmann::json& value, const std::filesystem::path& origin,
                     const std::string& tensor, const char* what) {
  if (!value.is_number_unsigned())
    throw error_in(origin, fmt::format("tensor '{}': {} must be a non-negative integer, got {}",
                                       tensor, what, value.dump()));
  return value.get<std::uint64_t>();
}

TensorInfo parse_tensor_entry(const std::string& name, const nlohmann::json& entry_json,
                              const std::filesystem::path& origin) {
  if (!entry_json.is_object())
    throw error_in(origin, fmt::format("tensor '{}': entry must be an object with dtype, shape "
                                       "and data_offsets, got {}",
                                       name, entry_json.type_name()));
  for (const auto& [key, value] : entry_json.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw error_in(origin, fmt::format("tensor '{}': unknown key '{}' (expected dtype, shape, "
                                         "data_offsets)",
                                         name, key));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry_json.contains(key))
      throw error_in(origin, fmt::format("tensor '{}': missing '{}'", name, key));
  }
  TensorInfo info;
  info.name = name;
  const auto& dtype = entry_json["dtype"];
  if (!dtype.is_string())
    throw error_in(origin, fmt::format("tensor '{}': dtype must be a string", name));
  const auto parsed = parse_dtype_name(dtype.get<std::string>());
  if (!parsed)
    throw error_in(origin, fmt::format("tensor '{}': unknown dtype '{}' (expected one of F64, "
                                       "F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
                                       name, dtype.get<std::string>()));
  info.dtype = *parsed;

  const auto& shape = entry_json["shape"];
  if (!shape.is_array())
    throw error_in(origin, fmt::format("tensor '{}': shape must be an array", name));
  std::uint64_t bytes = dtype_size(info.dtype);
  bool overflow = false;
  for (const auto& dim : shape) {
    const std::uint64_t d = to_u64(dim, origin, name, "every shape entry");
    if (d > static_cast<std::uint64_t>(INT64_MAX))
      throw error_in(origin, fmt::format("tensor '{}': shape entry {} is too large", name, d));
    info.shape.push_back(static_cast<std::int64_t>(d));
    overflow = overflow || __builtin_mul_overflow(bytes, d, &bytes);
  }

  const auto& offsets = entry_json["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw error_in(origin, fmt::format("tensor '{}': data_offsets must be [begin, end], got {}",
                                       name, offsets.dump()));
  info.begin = to_u64(offsets[0], origin, name, "data_offsets begin");
  info.end = to_u64(offsets[1], origin, name, "data_offsets end");
  if (info.end < info.begin)
    throw error_in(origin, fmt::format("tensor '{}': data_offsets end {} is before begin {}", name,
                                       info.end, info.begin));
  if (overflow || bytes != info.end - info.begin)
    throw error_in(
        origin, fmt::format("tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, "
                            "{}] span {}",
                            name, shape.dump(), dtype_name(info.dtype),
                            overflow ? std::string("too many") : std::to_string(bytes), info.begin,
                            info.end, info.end - info.begin));
  return info;
}

}  // namespace

std::size_t dtype_size(DType dtype) {
  return entry(dtype).size;
}

std::string_view dtype_name(DType dtype) {
  return entry(dtype).name;
}

std::optional<DType> parse_dtype_name(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::filesystem::path& origin) {
  if (file_bytes.size() < 8)
    throw error_in(origin, fmt::format("not a safetensors file: {} bytes, shorter than the 8-byte "
                                       "header length",
                                       file_bytes.size()));
  const std::uint64_t header_length = read_le_u64(file_bytes.first(8));
  if (header_length > kMaxHeaderBytes)
    throw error_in(origin, fmt::format("safetensors header length {} exceeds the limit of {} bytes",
                                       header_length, kMaxHeaderBytes));
  if (header_length > file_bytes.size() - 8)
    throw error_in(origin, fmt::format("safetensors header length {} runs past the end of the "
                                       "file ({} bytes)",
                                       header_length, file_bytes.size()));
  const std::string_view text(reinterpret_cast<const char*>(file_bytes.data() + 8),
                              static_cast<std::size_t>(header_length));
  if (text.empty() || text.front() != '{')
    throw error_in(origin, "safetensors header must be a JSON object starting with '{'");

  // nlohmann keeps the last of duplicate keys silently; a duplicate tensor name is corruption.
  std::set<std::string> top_level_keys;
  std::string duplicate;
  const nlohmann::json::parser_callback_t reject_duplicates =
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
          if (!top_level_keys.insert(parsed.get<std::string>()).second && duplicate.empty())
            duplicate = parsed.get<std::string>();
        }
        return true;
      };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end(), reject_duplicates);
  } catch (const nlohmann::json::exception& e) {
    throw error_in(origin, fmt::format("safetensors header is not valid JSON: {}", e.what()));
  }
  if (!duplicate.empty())
    throw error_in(origin, fmt::format("safetensors header names '{}' twice", duplicate));
  if (!header.is_object()) throw error_in(origin, "safetensors header must be a JSON object");

  SafetensorsHeader result;
  result.data_start = 8 + header_length;
  const std::uint64_t data_size = file_bytes.size() - result.data_start;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        throw error_in(origin, "safetensors __metadata__ must be an object of strings");
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string())
          throw error_in(origin,
                         fmt::format("safetensors __metadata__ '{}' must be a string, got {}",
                                     meta_key, meta_value.dump()));
        result.metadata.emplace(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    result.tensors.push_back(parse_tensor_entry(key, value, origin));
  }

  std::sort(result.tensors.begin(), result.tensors.end(), [](const auto& a, const auto& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const auto& tensor : result.tensors) {
    if (tensor.end > data_size)
      throw error_in(origin, fmt::format("tensor '{}': data_offsets [{}, {}] run past the data "
                                         "section of {} bytes",
                                         tensor.name, tensor.begin, tensor.end, data_size));
    if (tensor.begin < covered)
      throw error_in(origin, fmt::format("tensor '{}': data_offsets [{}, {}] overlap tensor '{}' "
                                         "[{}, {}]",
                                         tensor.name, tensor.begin, tensor.end, previous->name,
                                         previous->begin, previous->end));
    if (tensor.begin > covered)
      throw error_in(origin,
                     fmt::format("tensor '{}': data_offsets begin {} leaves a hole of {} bytes "
                                 "before it (the format requires the data to be fully indexed)",
                                 tensor.name, tensor.begin, tensor.begin - covered));
    covered = tensor.end;
    previous = &tensor;
  }
  if (covered != data_size)
    throw error_in(origin, fmt::format("safetensors data section has {} bytes but its tensors "
                                       "cover only {} (trailing bytes)",
                                       data_size, covered));
  return result;
}

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw error_in(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const auto why = errno_text();
    ::close(fd);
    throw error_in(path, "cannot stat: " + why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw error_in(path, "not a regular file");
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) {
      const auto why = errno_text();
      ::close(fd);
      throw error_in(path, "cannot memory-map: " + why);
    }
    data_ = static_cast<const std::byte*>(mapped);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
}

MappedFile::~MappedFile() {
  release();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::release() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : file_(path), header_(parse_safetensors_header(file_.bytes(), path)) {
  for (std::size_t i = 0; i < header_.tensors.size(); ++i)
    index_.emplace(header_.tensors[i].name, i);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const auto* info = find(name)) return *info;
  throw error_in(path(), fmt::format("no tensor named '{}'", name));
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& tensor) const {
  return file_.bytes().subspan(header_.data_start + tensor.begin, tensor.end - tensor.begin);
}

std::string make_safetensors_header(const std::map<std::string, TensorBytes>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("a tensor cannot be named __metadata__");
    std::uint64_t expected = dtype_size(tensor.dtype);
    for (auto d : tensor.shape) {
      if (d < 0) throw Error(fmt::format("tensor '{}': negative dimension {}", name, d));
      expected *= static_cast<std::uint64_t>(d);
    }
    if (expected != tensor.bytes.size())
      throw Error(fmt::format("tensor '{}': shape needs {} bytes but {} were given", name, expected,
                              tensor.bytes.size()));
    header[name] = {{"dtype", dtype_name(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t length = json.size();
  std::memcpy(out.data(), &length, sizeof length);
  return out + json;
}

namespace {

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw error_in(path, "cannot write: " + errno_text());
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, TensorBytes>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = make_safetensors_header(tensors, metadata);
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temp_template = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(temp_template.data());
  if (fd < 0) throw error_in(path, "cannot create a temporary file beside it: " + errno_text());
  const std::filesystem::path temp = temp_template;
  bool closed = false;
  try {
    write_all(fd, header.data(), header.size(), path);
    for (const auto& [name, tensor] : tensors)
      write_all(fd, tensor.bytes.data(), tensor.bytes.size(), path);
    if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0)
      throw error_in(path, "cannot flush: " + errno_text());
    closed = true;
    if (::close(fd) != 0) throw error_in(path, "cannot close: " + errno_text());
  } catch (...) {
    if (!closed) ::close(fd);
    std::filesystem::remove(temp);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    throw error_in(path, "cannot rename the temporary file over it: " + ec.message());
  }
}

}  // namespace emotune::io
