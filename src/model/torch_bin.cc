#include "model/torch_bin.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <bit>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <zip.h>
#include <zlib.h>

#include "common/error.h"

namespace emotune::model {

static_assert(std::endian::native == std::endian::little,
              "torch.save writes little-endian storages; a big-endian host needs byte swapping");

namespace {

namespace fs = std::filesystem;

// ---- values of the pickle machine ---------------------------------------------------------

struct Value;
using ValuePtr = std::shared_ptr<Value>;

enum class Global { rebuild_tensor, rebuild_parameter, ordered_dict, storage_type };

struct Value {
  enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, global, storage,
                    tensor };
  Kind kind = Kind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0.0;
  std::string string;
  std::vector<ValuePtr> items;                           // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;    // dict, in insertion order
  Global global = Global::ordered_dict;
  torch::ScalarType dtype = torch::kFloat;               // storage_type global
  torch::Tensor tensor;                                  // storage (1-D, whole) or tensor
};

ValuePtr make(Value::Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
}

std::string_view kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return "bool";
    case Value::Kind::integer: return "int";
    case Value::Kind::floating: return "float";
    case Value::Kind::string: return "str";
    case Value::Kind::tuple: return "tuple";
    case Value::Kind::list: return "list";
    case Value::Kind::dict: return "dict";
    case Value::Kind::global: return "global";
    case Value::Kind::storage: return "storage";
    case Value::Kind::tensor: return "tensor";
  }
  return "?";
}

struct StorageType {
  std::string_view name;
  torch::ScalarType dtype;
};

constexpr std::array<StorageType, 10> kStorageTypes{{
    {"DoubleStorage", torch::kDouble},
    {"FloatStorage", torch::kFloat},
    {"HalfStorage", torch::kHalf},
    {"BFloat16Storage", torch::kBFloat16},
    {"LongStorage", torch::kLong},
    {"IntStorage", torch::kInt},
    {"ShortStorage", torch::kShort},
    {"CharStorage", torch::kChar},
    {"ByteStorage", torch::kByte},
    {"BoolStorage", torch::kBool},
}};

constexpr std::string_view kAllowedGlobals =
    "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, "
    "collections.OrderedDict and torch.<dtype>Storage";

// The whitelist. Anything else is refused before it could be used.
std::optional<ValuePtr> allowed_global(std::string_view module, std::string_view name) {
  auto global = make(Value::Kind::global);
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    global->global = Global::rebuild_tensor;
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    global->global = Global::rebuild_parameter;
  } else if (module == "collections" && name == "OrderedDict") {
    global->global = Global::ordered_dict;
  } else if (module == "torch") {
    const auto it = std::find_if(kStorageTypes.begin(), kStorageTypes.end(),
                                 [&](const StorageType& type) { return type.name == name; });
    if (it == kStorageTypes.end()) return std::nullopt;
    global->global = Global::storage_type;
    global->dtype = it->dtype;
  } else {
    return std::nullopt;
  }
  return global;
}

// ---- the machine ------------------------------------------------------------------------

class Machine {
 public:
  Machine(std::string_view pickle, const std::string& origin,
          const std::function<torch::Tensor(const PickledStorage&)>& read_storage)
      : bytes_(pickle), origin_(origin), read_storage_(read_storage) {}

  ValuePtr run() {
    while (true) {
      if (pos_ >= bytes_.size()) fail("the pickle ends without its STOP opcode (truncated?)");
      op_start_ = pos_;
      const auto op = static_cast<unsigned char>(bytes_[pos_++]);
      switch (op) {
        case 0x80: {  // PROTO
          const auto protocol = read_uint(1);
          if (protocol > 3)
            fail(fmt::format("pickle protocol {} is not supported (torch.save writes protocol 2 "
                             "unless told otherwise): re-save with torch.save's default "
                             "pickle_protocol, or convert the checkpoint to safetensors",
                             protocol));
          break;
        }
        case '.': {  // STOP
          auto result = pop();
          if (!stack_.empty() || !marks_.empty()) fail("values are left on the stack at STOP");
          return result;
        }
        case 'c': {  // GLOBAL
          const auto module = read_line();
          const auto name = read_line();
          auto global = allowed_global(module, name);
          if (!global)
            fail(fmt::format("refusing the Python global '{}.{}': a state dict needs only {}; "
                             "nothing was loaded",
                             module, name, kAllowedGlobals));
          push(*global);
          break;
        }
        case '(':  // MARK
          marks_.push_back(stack_.size());
          break;
        case '}':  // EMPTY_DICT
          push(make(Value::Kind::dict));
          break;
        case ']':  // EMPTY_LIST
          push(make(Value::Kind::list));
          break;
        case ')':  // EMPTY_TUPLE
          push(make(Value::Kind::tuple));
          break;
        case 't': {  // TUPLE
          auto tuple = make(Value::Kind::tuple);
          tuple->items = pop_to_mark();
          push(tuple);
          break;
        }
        case 0x85:  // TUPLE1
        case 0x86:  // TUPLE2
        case 0x87: {  // TUPLE3
          const std::size_t count = op - 0x84;
          if (stack_.size() < count + stack_floor()) fail("stack underflow");
          auto tuple = make(Value::Kind::tuple);
          tuple->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(count), stack_.end());
          stack_.resize(stack_.size() - count);
          push(tuple);
          break;
        }
        case 'q':  // BINPUT
          memo_[static_cast<std::uint32_t>(read_uint(1))] = top();
          break;
        case 'r':  // LONG_BINPUT
          memo_[static_cast<std::uint32_t>(read_uint(4))] = top();
          break;
        case 'h':  // BINGET
          push(memo_get(read_uint(1)));
          break;
        case 'j':  // LONG_BINGET
          push(memo_get(read_uint(4)));
          break;
        case 'J': {  // BININT: signed 32-bit
          const auto raw = static_cast<std::uint32_t>(read_uint(4));
          push_int(static_cast<std::int32_t>(raw));
          break;
        }
        case 'K':  // BININT1
          push_int(static_cast<std::int64_t>(read_uint(1)));
          break;
        case 'M':  // BININT2
          push_int(static_cast<std::int64_t>(read_uint(2)));
          break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const auto n = read_uint(1);
          if (n > 8) fail("an integer wider than 64 bits");
          const auto data = read_bytes(n);
          std::uint64_t raw = 0;
          for (std::size_t i = 0; i < n; ++i)
            raw |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * i);
          if (n > 0 && n < 8 && (static_cast<unsigned char>(data[n - 1]) & 0x80))
            raw |= ~std::uint64_t{0} << (8 * n);
          push_int(static_cast<std::int64_t>(raw));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const auto data = read_bytes(8);
          std::uint64_t raw = 0;
          for (int i = 0; i < 8; ++i)
            raw = (raw << 8) | static_cast<unsigned char>(data[static_cast<std::size_t>(i)]);
          auto value = make(Value::Kind::floating);
          value->floating = std::bit_cast<double>(raw);
          push(value);
          break;
        }
        case 'X': {  // BINUNICODE
          auto value = make(Value::Kind::string);
          value->string = std::string(read_bytes(read_uint(4)));
          push(value);
          break;
        }
        case 0x88:  // NEWTRUE
        case 0x89: {  // NEWFALSE
          auto value = make(Value::Kind::boolean);
          value->boolean = op == 0x88;
          push(value);
          break;
        }
        case 'N':  // NONE
          push(make(Value::Kind::none));
          break;
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          dict_target()->entries.emplace_back(std::move(key), std::move(value));
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark();
          if (items.size() % 2 != 0) fail("SETITEMS with an odd number of values");
          auto dict = dict_target();
          for (std::size_t i = 0; i < items.size(); i += 2)
            dict->entries.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'a': {  // APPEND
          auto value = pop();
          list_target()->items.push_back(std::move(value));
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark();
          auto list = list_target();
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case 'Q':  // BINPERSID
          push(persistent_load(pop()));
          break;
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b': {  // BUILD: OrderedDict's instance attributes (state_dict()._metadata)
          (void)pop();
          if (top()->kind != Value::Kind::dict)
            fail(fmt::format("BUILD on a {}; only a state dict's own attributes are expected",
                             kind_name(top()->kind)));
          break;
        }
        default:
          fail(fmt::format("unsupported pickle opcode 0x{:02x}{}; a state dict saved by "
                           "torch.save needs only the protocol-2 opcodes of dicts, tuples, "
                           "numbers, strings and tensors",
                           op, std::isprint(op) ? fmt::format(" ('{}')", static_cast<char>(op))
                                                : std::string()));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: byte {} of the pickle: {}", origin_, op_start_, what));
  }

  std::uint64_t read_uint(std::size_t n) {
    const auto data = read_bytes(n);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < n; ++i)
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * i);
    return value;
  }

  std::string_view read_bytes(std::uint64_t n) {
    if (n > bytes_.size() - pos_) fail("the pickle ends inside an opcode's argument (truncated?)");
    const auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  std::string read_line() {
    const auto end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > 256) fail("a GLOBAL without its name");
    std::string out(bytes_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  std::size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(ValuePtr value) {
    if (stack_.size() > kMaxStack) fail("the pickle's stack grows beyond any state dict's");
    stack_.push_back(std::move(value));
  }

  void push_int(std::int64_t value) {
    auto out = make(Value::Kind::integer);
    out->integer = value;
    push(out);
  }

  ValuePtr pop() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    auto value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }

  const ValuePtr& top() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    return stack_.back();
  }

  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const auto mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  ValuePtr dict_target() {
    const auto& target = top();
    if (target->kind != Value::Kind::dict)
      fail(fmt::format("SETITEM(S) on a {}, not a dict", kind_name(target->kind)));
    return target;
  }

  ValuePtr list_target() {
    const auto& target = top();
    if (target->kind != Value::Kind::list)
      fail(fmt::format("APPEND(S) on a {}, not a list", kind_name(target->kind)));
    return target;
  }

  ValuePtr memo_get(std::uint64_t index) {
    const auto it = memo_.find(static_cast<std::uint32_t>(index));
    if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", index));
    return it->second;
  }

  // ('storage', torch.<dtype>Storage, key, location, numel): the storage record `data/<key>`.
  ValuePtr persistent_load(const ValuePtr& id) {
    const auto& items = id->items;
    if (id->kind != Value::Kind::tuple || items.size() != 5 ||
        items[0]->kind != Value::Kind::string || items[0]->string != "storage" ||
        items[1]->kind != Value::Kind::global || items[1]->global != Global::storage_type ||
        items[2]->kind != Value::Kind::string || items[3]->kind != Value::Kind::string ||
        items[4]->kind != Value::Kind::integer || items[4]->integer < 0)
      fail("a persistent id that is not ('storage', torch.<dtype>Storage, key, location, numel)");
    const auto& key = items[2]->string;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const PickledStorage wanted{key, items[1]->dtype, items[4]->integer};
      auto storage = read_storage_(wanted);
      it = storages_.emplace(key, storage).first;
    }
    if (it->second.scalar_type() != items[1]->dtype || it->second.numel() != items[4]->integer)
      fail(fmt::format("storage '{}' is used with two dtypes or sizes", key));
    auto value = make(Value::Kind::storage);
    value->tensor = it->second;
    return value;
  }

  std::vector<std::int64_t> int_tuple(const ValuePtr& value, std::string_view what) {
    if (value->kind != Value::Kind::tuple) fail(fmt::format("_rebuild_tensor_v2: {} is no tuple", what));
    std::vector<std::int64_t> out;
    for (const auto& item : value->items) {
      if (item->kind != Value::Kind::integer || item->integer < 0)
        fail(fmt::format("_rebuild_tensor_v2: {} holds a value that is no size", what));
      out.push_back(item->integer);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
  // [, metadata]): a view of the storage, checked to lie inside it.
  ValuePtr rebuild_tensor(const ValuePtr& args) {
    const auto& a = args->items;
    if (args->kind != Value::Kind::tuple || a.size() < 6 || a.size() > 7 ||
        a[0]->kind != Value::Kind::storage || a[1]->kind != Value::Kind::integer ||
        a[1]->integer < 0 || a[4]->kind != Value::Kind::boolean)
      fail("_rebuild_tensor_v2 with arguments other than (storage, offset, size, stride, "
           "requires_grad, hooks)");
    if (a.size() == 7 && a[6]->kind != Value::Kind::none &&
        !(a[6]->kind == Value::Kind::dict && a[6]->entries.empty()))
      fail("_rebuild_tensor_v2 with tensor metadata (conjugate/negative bits); not a plain weight");
    const auto sizes = int_tuple(a[2], "size");
    const auto strides = int_tuple(a[3], "stride");
    if (sizes.size() != strides.size()) fail("_rebuild_tensor_v2: size and stride differ in rank");
    const auto& storage = a[0]->tensor;
    const std::int64_t offset = a[1]->integer;
    const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
    std::int64_t last = offset;  // the highest element index the view touches
    for (std::size_t d = 0; d < sizes.size() && !empty; ++d) {
      std::int64_t reach = 0;
      if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) ||
          __builtin_add_overflow(last, reach, &last))
        fail("_rebuild_tensor_v2: the view lies outside its storage");
    }
    if (!empty && last >= storage.numel())
      fail(fmt::format("_rebuild_tensor_v2: the view reaches element {} of a storage of {}", last,
                       storage.numel()));
    auto out = make(Value::Kind::tensor);
    out->tensor = torch::empty({0}, storage.options()).set_(storage.storage(), offset, sizes, strides);
    return out;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::global)
      fail(fmt::format("REDUCE calls a {}, not an allowed global", kind_name(callable->kind)));
    if (args->kind != Value::Kind::tuple) fail("REDUCE without an argument tuple");
    switch (callable->global) {
      case Global::rebuild_tensor:
        return rebuild_tensor(args);
      case Global::rebuild_parameter: {  // (data, requires_grad, backward_hooks)
        if (args->items.size() != 3 || args->items[0]->kind != Value::Kind::tensor)
          fail("_rebuild_parameter with arguments other than (tensor, requires_grad, hooks)");
        return args->items[0];
      }
      case Global::ordered_dict:
        if (!args->items.empty())
          fail("OrderedDict(...) with arguments; torch.save adds the items afterwards");
        return make(Value::Kind::dict);
      case Global::storage_type:
        break;
    }
    fail("a storage type called as a function");
  }

  static constexpr std::size_t kMaxStack = 1 << 20;

  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::size_t op_start_ = 0;
  const std::string& origin_;
  const std::function<torch::Tensor(const PickledStorage&)>& read_storage_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, ValuePtr> memo_;
  std::unordered_map<std::string, torch::Tensor> storages_;
};

std::string first_line(const char* text) {
  std::string out(text);
  const auto newline = out.find('\n');
  if (newline != std::string::npos) out.resize(newline);
  return out;
}

// libtorch's reader does not check the zip's CRC-32s (the miniz it bundles is built with
// MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS), so a flipped bit would load as a wrong weight. The
// CRCs come from the central directory through libzip and are checked on every record read.
class RecordChecksums {
 public:
  explicit RecordChecksums(const fs::path& file) : file_(file) {
    int code = 0;
    zip_t* zip = zip_open(file.c_str(), ZIP_RDONLY, &code);
    if (zip == nullptr) {
      zip_error_t error;
      zip_error_init_with_code(&error, code);
      const std::string what = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw error_in(file, fmt::format("cannot read this PyTorch zip checkpoint; the archive is "
                                       "damaged or truncated ({})",
                                       what));
    }
    const auto entries = zip_get_num_entries(zip, 0);
    for (zip_int64_t i = 0; i < entries; ++i) {
      zip_stat_t stat;
      if (zip_stat_index(zip, static_cast<zip_uint64_t>(i), 0, &stat) != 0 ||
          (stat.valid & ZIP_STAT_NAME) == 0 || (stat.valid & ZIP_STAT_CRC) == 0)
        continue;
      // Records are named relative to the archive's one top folder, as PyTorchStreamReader does.
      const std::string_view name(stat.name);
      const auto slash = name.find('/');
      if (slash != std::string_view::npos) crcs_[std::string(name.substr(slash + 1))] = stat.crc;
    }
    zip_discard(zip);
  }

  void check(const std::string& record, const void* data, std::size_t size) const {
    const auto it = crcs_.find(record);
    const auto crc = crc32_z(0, static_cast<const Bytef*>(data), size);
    if (it == crcs_.end() || it->second != crc)
      throw error_in(file_, fmt::format("record '{}' fails its CRC-32 check: the archive is "
                                        "damaged (re-download or re-save it)",
                                        record));
  }

 private:
  fs::path file_;
  std::unordered_map<std::string, std::uint32_t> crcs_;
};

// The first bytes say which of torch.save's formats this is.
void check_zip_magic(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw error_in(file, "cannot open this file");
  std::array<char, 4> magic{};
  in.read(magic.data(), magic.size());
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got == 4 && std::memcmp(magic.data(), "PK\x03\x04", 4) == 0) return;
  if (got >= 1 && static_cast<unsigned char>(magic[0]) == 0x80)
    throw error_in(file,
                   "a legacy PyTorch checkpoint (torch < 1.6, a bare pickle, not a zip archive); "
                   "emotune reads only the zip format: load and re-save it with torch >= 1.6 "
                   "(torch.save(torch.load(f), f)) or convert it to safetensors");
  throw error_in(file, "not a PyTorch checkpoint: it does not start with a zip header (torch.save "
                       "writes a zip archive since torch 1.6)");
}

}  // namespace

std::map<std::string, torch::Tensor> unpickle_state_dict(
    std::string_view pickle, const std::string& origin,
    const std::function<torch::Tensor(const PickledStorage&)>& read_storage) {
  Machine machine(pickle, origin, read_storage);
  const auto root = machine.run();
  if (root->kind != Value::Kind::dict)
    throw Error(fmt::format("{}: the pickle holds a {}, not a state dict (a dict of tensor names "
                            "to tensors)",
                            origin, kind_name(root->kind)));
  std::map<std::string, torch::Tensor> out;
  for (const auto& [key, value] : root->entries) {
    if (key->kind != Value::Kind::string)
      throw Error(fmt::format("{}: a state dict key is a {}, not a name", origin,
                              kind_name(key->kind)));
    if (value->kind != Value::Kind::tensor)
      throw Error(fmt::format("{}: entry '{}' is a {}, not a tensor (a nested checkpoint such as "
                              "{{'model': state_dict}}? save the state dict itself)",
                              origin, key->string, kind_name(value->kind)));
    if (!out.emplace(key->string, value->tensor).second)
      throw Error(fmt::format("{}: tensor '{}' appears twice", origin, key->string));
  }
  return out;
}

std::map<std::string, torch::Tensor> load_torch_bin(const fs::path& file) {
  check_zip_magic(file);
  const auto file_size = fs::file_size(file);
  try {
    caffe2::serialize::PyTorchStreamReader reader(file.string());
    if (reader.hasRecord("constants.pkl") || !reader.hasRecord("data.pkl"))
      throw error_in(file, reader.hasRecord("constants.pkl")
                               ? "a TorchScript archive (torch.jit.save), not a state dict "
                                 "saved by torch.save"
                               : "a zip archive without data.pkl: not written by torch.save");
    if (reader.hasRecord("byteorder")) {
      const auto [data, size] = reader.getRecord("byteorder");
      const std::string order(static_cast<const char*>(data.get()), size);
      if (order != "little")
        throw error_in(file, fmt::format("storages are stored '{}'-endian; emotune reads "
                                         "little-endian checkpoints only",
                                         order));
    }
    const RecordChecksums checksums(file);
    const auto [pickle_data, pickle_size] = reader.getRecord("data.pkl");
    checksums.check("data.pkl", pickle_data.get(), pickle_size);
    const std::string_view pickle(static_cast<const char*>(pickle_data.get()), pickle_size);
    const auto read_storage = [&](const PickledStorage& wanted) {
      const auto options = torch::TensorOptions().dtype(wanted.dtype);
      if (wanted.numel == 0) return torch::empty({0}, options);
      const auto record = "data/" + wanted.key;
      if (wanted.key.empty() || wanted.key.find('/') != std::string::npos ||
          !reader.hasRecord(record))
        throw error_in(file, fmt::format("the pickle names storage '{}', which the archive lacks",
                                         wanted.key));
      const auto item_size = static_cast<std::uint64_t>(c10::elementSize(wanted.dtype));
      const auto wanted_bytes = static_cast<std::uint64_t>(wanted.numel) * item_size;
      // torch.save stores storages uncompressed: a record claiming more bytes than the file
      // has is damaged, and reading it would allocate whatever it claims.
      if (wanted_bytes / item_size != static_cast<std::uint64_t>(wanted.numel) ||
          reader.getRecordOffset(record) + wanted_bytes > file_size)
        throw error_in(file, fmt::format("storage '{}' claims {} elements, more than the file holds",
                                         wanted.key, wanted.numel));
      auto [data, size] = reader.getRecord(record);
      checksums.check(record, data.get(), size);
      if (size < wanted_bytes)
        throw error_in(file, fmt::format("storage record '{}' holds {} bytes but the pickle says "
                                         "{} elements of {} bytes",
                                         record, size, wanted.numel, item_size));
      c10::Storage storage(c10::Storage::use_byte_size_t(), wanted_bytes, std::move(data),
                           /*allocator=*/nullptr, /*resizable=*/false);
      return torch::empty({0}, options).set_(storage, 0, {wanted.numel}, {1});
    };
    return unpickle_state_dict(pickle, fmt::format("{} (data.pkl)", file.string()), read_storage);
  } catch (const c10::Error& e) {
    throw error_in(file, fmt::format("cannot read this PyTorch zip checkpoint; the archive is "
                                     "damaged or truncated ({})",
                                     first_line(e.what_without_backtrace())));
  }
}

}  // namespace emotune::model
