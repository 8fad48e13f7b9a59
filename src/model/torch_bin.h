#pragma once

// PyTorch checkpoints as torch.save writes them (pytorch_model.bin, *.pt): a zip archive
// (torch >= 1.6) holding `<folder>/data.pkl`, a pickle of the state dict whose tensors point
// at storages `<folder>/data/<key>` by persistent id, plus `version` and `byteorder` records.
//
// The archive is read with libtorch's own reader (caffe2::serialize::PyTorchStreamReader:
// zip parsing, CRC checks, format version). The pickle is NOT given to libtorch 1.13's
// torch::jit::Unpickler: that one cannot read the commonest state dicts (an OrderedDict
// becomes None, "Expected GenericDict but got None", pytorch#100741, fixed only in 2.6; a
// one-entry dict stops at the SETITEM opcode it lacks) and it knows globals a state dict never
// needs. A pickle may name any Python global, and loading one in Python runs it. So the
// pickle is run here by a small machine that knows only what a state dict needs:
//   * the protocol 2/3 opcodes for None, bools, ints, floats, str, tuples, lists, dicts, the
//     memo, persistent ids (BINPERSID), REDUCE and BUILD;
//   * the globals torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
//     collections.OrderedDict and torch.{Double,Float,Half,BFloat16,Long,Int,Short,Char,
//     Byte,Bool}Storage.
// Any other global (os.system, builtins.eval, ...) or opcode is an Error naming it, raised
// before any storage is read. Every tensor view is checked to lie inside its storage, and
// every storage record to hold the bytes the pickle claims.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <torch/torch.h>

namespace emotune::model {

// The state dict in a torch.save zip checkpoint as CPU tensors, by name. Errors name the file
// and say what is wrong: a legacy (torch < 1.6) non-zip pickle, a damaged or truncated zip, a
// TorchScript archive, a forbidden global or opcode, a storage record that is missing or too
// short, or a pickle that is not a flat dict of names to tensors.
std::map<std::string, torch::Tensor> load_torch_bin(const std::filesystem::path& file);

// Runs the restricted machine on pickle bytes alone (no archive): storages are looked up by
// key through `read_storage`. Exposed for tests.
struct PickledStorage {
  std::string key;
  torch::ScalarType dtype = torch::kFloat;
  std::int64_t numel = 0;
};
std::map<std::string, torch::Tensor> unpickle_state_dict(
    std::string_view pickle, const std::string& origin,
    const std::function<torch::Tensor(const PickledStorage&)>& read_storage);

}  // namespace emotune::model
