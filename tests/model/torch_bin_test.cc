// PyTorch .bin checkpoints (torch.save's zip format): the fixtures of
// tests/fixtures/torch_bin (written by make.py there with torch 2.15) load to the same tensors
// as their safetensors twins; damaged, legacy and malicious files are clear errors.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "io/checkpoint_files.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/torch_bin.h"

namespace emotune::model {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path fixture(const std::string& name) {
  return emotune::testing::source_dir() / "tests" / "fixtures" / "torch_bin" / name;
}

using emotune::testing::error_of;

void expect_same_tensors(const std::map<std::string, torch::Tensor>& actual,
                         const std::map<std::string, torch::Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(actual.contains(name)) << name;
    const auto& got = actual.at(name);
    EXPECT_EQ(got.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, tensor)) << name;
  }
}

TEST(TorchBin, TensorsOfTenDtypesEqualTheirSafetensorsTwin) {
  const auto tensors = load_torch_bin(fixture("dtypes.bin"));
  expect_same_tensors(tensors, load_tensors(fixture("dtypes.safetensors")));
  for (const char* name : {"f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool"})
    EXPECT_TRUE(tensors.contains(name)) << name;
  EXPECT_EQ(tensors.at("scalar").dim(), 0);
  EXPECT_EQ(tensors.at("scalar").item<float>(), 2.5f);
  EXPECT_EQ(tensors.at("empty").numel(), 0);
  EXPECT_EQ(tensors.at("i64")[4].item<std::int64_t>(), std::int64_t{1} << 62);
}

TEST(TorchBin, ViewsShareTheirStorageAsInPython) {
  const auto tensors = load_torch_bin(fixture("dtypes.bin"));
  const auto& base = tensors.at("base");
  const auto& transposed = tensors.at("transposed");
  const auto& offset_view = tensors.at("offset_view");
  EXPECT_FALSE(transposed.is_contiguous());
  EXPECT_EQ(transposed.storage().data(), base.storage().data());
  EXPECT_EQ(offset_view.storage().data(), base.storage().data());
  EXPECT_EQ(offset_view.storage_offset(), 8);
  EXPECT_TRUE(torch::equal(transposed, base.t()));
  EXPECT_TRUE(torch::equal(offset_view, base.slice(0, 1, 3).slice(1, 2, 5)));
}

TEST(TorchBin, AOneEntryDictLoads) {
  // A one-entry dict is pickled with SETITEM, an opcode libtorch 1.13's Unpickler lacks.
  const auto tensors = load_torch_bin(fixture("one_tensor.bin"));
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_TRUE(torch::equal(tensors.at("only"), torch::arange(3, torch::kFloat)));
}

TEST(TorchBin, AStateDictOrderedDictLoadsLikeItsSafetensorsTwin) {
  // model.state_dict(): an OrderedDict with a _metadata attribute (BUILD).
  expect_same_tensors(load_weights(fixture("bert_bin") / "pytorch_model.bin"),
                      load_weights(fixture("bert_safetensors") / "model.safetensors"));
}

TEST(TorchBin, ShardedIndexesOfBothFormatsLoadTheSameTensors) {
  const auto expected = load_weights(fixture("bert_safetensors") / "model.safetensors");
  expect_same_tensors(load_weights(fixture("bert_bin_sharded") / "pytorch_model.bin.index.json"),
                      expected);
  expect_same_tensors(
      load_weights(fixture("bert_safetensors_sharded") / "model.safetensors.index.json"),
      expected);
}

TEST(TorchBin, EncodersFromEveryWeightLayoutAreIdentical) {
  const auto reference = load_encoder(fixture("bert_safetensors"));
  const auto ids = torch::tensor({{2, 5, 9, 3, 0}, {2, 7, 3, 0, 0}}, torch::kLong);
  const auto mask = torch::tensor({{1, 1, 1, 1, 0}, {1, 1, 1, 0, 0}}, torch::kLong);
  torch::InferenceMode inference;
  reference->eval();
  const auto expected = reference->forward(ids, mask, torch::Tensor());
  for (const char* folder : {"bert_bin", "bert_bin_sharded", "bert_safetensors_sharded"}) {
    EXPECT_EQ(io::find_weights_file(fixture(folder))->parent_path(), fixture(folder));
    const auto encoder = load_encoder(fixture(folder));
    encoder->eval();
    EXPECT_TRUE(torch::equal(encoder->forward(ids, mask, torch::Tensor()), expected)) << folder;
  }
}

TEST(TorchBin, SafetensorsIsPreferredWhenAFolderHasBoth) {
  const emotune::testing::TempDir dir;
  for (const char* name : {"config.json", "pytorch_model.bin"})
    fs::copy_file(fixture("bert_bin") / name, dir / name);
  fs::copy_file(fixture("bert_safetensors") / "model.safetensors", dir / "model.safetensors");
  EXPECT_EQ(checkpoint_weights_file(dir.path()), dir / "model.safetensors");
  fs::remove(dir / "model.safetensors");
  EXPECT_EQ(checkpoint_weights_file(dir.path()), dir / "pytorch_model.bin");
  fs::remove(dir / "pytorch_model.bin");
  const auto message = error_of([&] { load_encoder(dir.path()); });
  EXPECT_THAT(message, HasSubstr("no weights"));
  EXPECT_THAT(message, HasSubstr("pytorch_model.bin"));
}

TEST(TorchBin, ATruncatedZipIsAClearErrorNamingTheFile) {
  const auto message = error_of([] { load_torch_bin(fixture("truncated.bin")); });
  EXPECT_THAT(message, HasSubstr("truncated.bin"));
  EXPECT_THAT(message, HasSubstr("damaged or truncated"));
}

TEST(TorchBin, AFlippedStorageByteFailsTheZipChecksum) {
  // libtorch's reader alone would load it: its miniz skips the CRC-32 checks.
  const auto message = error_of([] { load_torch_bin(fixture("corrupt.bin")); });
  EXPECT_THAT(message, HasSubstr("corrupt.bin"));
  EXPECT_THAT(message, HasSubstr("record 'data/0' fails its CRC-32 check"));
}

TEST(TorchBin, ALegacyPickleSaysHowToConvertIt) {
  const auto message = error_of([] { load_torch_bin(fixture("legacy.bin")); });
  EXPECT_THAT(message, HasSubstr("legacy.bin"));
  EXPECT_THAT(message, HasSubstr("legacy PyTorch checkpoint (torch < 1.6"));
  EXPECT_THAT(message, HasSubstr("safetensors"));
}

TEST(TorchBin, ForbiddenGlobalsAreRefusedByName) {
  auto message = error_of([] { load_torch_bin(fixture("os_system.bin")); });
  EXPECT_THAT(message, HasSubstr("os_system.bin"));
  EXPECT_THAT(message, HasSubstr("refusing the Python global 'os.system'"));
  EXPECT_THAT(message, HasSubstr("nothing was loaded"));
  // Hidden inside the arguments of an allowed tensor rebuild.
  message = error_of([] { load_torch_bin(fixture("eval.bin")); });
  EXPECT_THAT(message, HasSubstr("refusing the Python global 'builtins.eval'"));
}

TEST(TorchBin, AFolderWithAForbiddenGlobalLoadsNoEncoder) {
  const emotune::testing::TempDir dir;
  fs::copy_file(fixture("bert_bin") / "config.json", dir / "config.json");
  fs::copy_file(fixture("os_system.bin"), dir / "pytorch_model.bin");
  EXPECT_THAT(error_of([&] { load_encoder(dir.path()); }), HasSubstr("'os.system'"));
}

TEST(TorchBin, NonCheckpointFilesAreNamedAsSuch) {
  const emotune::testing::TempDir dir;
  write_file_atomic(dir / "text.bin", "hello");
  EXPECT_THAT(error_of([&] { load_torch_bin(dir / "text.bin"); }),
              HasSubstr("does not start with a zip header"));
}

// ---- the pickle machine alone ------------------------------------------------------------

// {'only': _rebuild_tensor_v2(storage('0', float, NUMEL), OFFSET, (SIZE,), (1,), False, OrderedDict())}
// as torch.save pickles it (protocol 2).
std::string tensor_pickle(char numel, char offset, char size) {
  using namespace std::string_literals;
  std::string p = "\x80\x02}q\x00X\x04\x00\x00\x00onlyq\x01"s;
  p += "ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03"s;
  p += "ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x00" "0q\x05X\x03\x00\x00\x00" "cpuq\x06K"s;
  p += numel;
  p += "tq\x07QK";
  p += offset;
  p += "K";
  p += size;
  p += "\x85q\x08K\x01\x85q\t\x89" "ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\rs."s;
  return p;
}

std::map<std::string, torch::Tensor> run_pickle(const std::string& pickle, int* reads = nullptr) {
  return unpickle_state_dict(pickle, "test.pkl", [reads](const PickledStorage& storage) {
    if (reads != nullptr) ++*reads;
    return torch::arange(storage.numel, torch::TensorOptions().dtype(storage.dtype));
  });
}

TEST(TorchBinPickle, AViewInsideItsStorageLoads) {
  const auto tensors = run_pickle(tensor_pickle(5, 2, 3));
  EXPECT_TRUE(torch::equal(tensors.at("only"), torch::tensor({2.f, 3.f, 4.f})));
}

TEST(TorchBinPickle, AViewReachingPastItsStorageIsRefused) {
  EXPECT_THAT(error_of([] { run_pickle(tensor_pickle(3, 0, 100)); }),
              HasSubstr("the view reaches element 99 of a storage of 3"));
  EXPECT_THAT(error_of([] { run_pickle(tensor_pickle(3, 2, 2)); }),
              HasSubstr("reaches element 3 of a storage of 3"));
}

TEST(TorchBinPickle, ATruncatedPickleIsAnErrorWithItsOffset) {
  const auto pickle = tensor_pickle(5, 0, 5);
  for (std::size_t length : {std::size_t{0}, std::size_t{10}, pickle.size() - 1}) {
    const auto message = error_of([&] { run_pickle(pickle.substr(0, length)); });
    EXPECT_THAT(message, HasSubstr("test.pkl: byte")) << length;
  }
}

TEST(TorchBinPickle, AForbiddenGlobalIsRefusedBeforeLaterStoragesAreRead) {
  // A tensor, then builtins.exec: the error comes at the global, with nothing returned.
  auto pickle = tensor_pickle(5, 0, 5);
  pickle.insert(pickle.size() - 2, "cbuiltins\nexec\n");
  int reads = 0;
  EXPECT_THAT(error_of([&] { run_pickle(pickle, &reads); }),
              HasSubstr("refusing the Python global 'builtins.exec'"));
  EXPECT_EQ(reads, 1);
}

TEST(TorchBinPickle, UnknownOpcodesAndProtocolsAreNamed) {
  EXPECT_THAT(error_of([] { run_pickle(std::string("\x80\x02}\x94.", 5)); }),
              HasSubstr("unsupported pickle opcode 0x94"));
  EXPECT_THAT(error_of([] { run_pickle(std::string("\x80\x05}.", 4)); }),
              HasSubstr("pickle protocol 5 is not supported"));
  EXPECT_THAT(error_of([] { run_pickle(std::string("\x80\x02]q\x00.", 6)); }),
              HasSubstr("holds a list, not a state dict"));
}

}  // namespace
}  // namespace emotune::model
