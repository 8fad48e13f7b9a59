#include "io/safetensors.h"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/test_paths.h"

namespace emotune::io {
namespace {

using ::testing::HasSubstr;

// A safetensors file from a literal header and data section; `length` overrides the prefix.
std::string make_file(const std::string& header, const std::string& data,
                      std::optional<std::uint64_t> length = std::nullopt) {
  std::string out(8, '\0');
  const std::uint64_t n = length.value_or(header.size());
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// The message of the Error that parsing `file` throws (empty when it parses).
std::string parse_error(const std::string& file) {
  try {
    parse_safetensors_header(as_bytes(file), "corrupt.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::string kEightBytes(8, 'x');

TEST(SafetensorsHeader, AcceptsWellFormedFile) {
  const auto file = make_file(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
      R"("a":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}   )",
      kEightBytes);
  const auto header = parse_safetensors_header(as_bytes(file), "ok.safetensors");
  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.tensors[0].name, "a");
  EXPECT_EQ(header.tensors[0].dtype, DType::I8);
  EXPECT_EQ(header.tensors[0].shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(header.tensors[1].name, "b");
  EXPECT_EQ(header.tensors[1].begin, 4u);
  EXPECT_EQ(header.metadata.at("format"), "pt");
}

TEST(SafetensorsHeader, AcceptsScalarsAndEmptyTensors) {
  const auto file = make_file(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                              R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]}})",
                              "abcd");
  const auto header = parse_safetensors_header(as_bytes(file), "ok.safetensors");
  ASSERT_EQ(header.tensors.size(), 2u);
}

TEST(SafetensorsHeader, RejectsFileShorterThanLengthPrefix) {
  EXPECT_THAT(parse_error("abc"), HasSubstr("corrupt.safetensors"));
  EXPECT_THAT(parse_error("abc"), HasSubstr("shorter than the 8-byte"));
}

TEST(SafetensorsHeader, RejectsLengthPastEndOfFile) {
  EXPECT_THAT(parse_error(make_file("{}", "", 1000)), HasSubstr("runs past the end"));
  EXPECT_THAT(parse_error(make_file("{}", "", std::uint64_t{1} << 62)),
              HasSubstr("exceeds the limit"));
}

TEST(SafetensorsHeader, RejectsMalformedJson) {
  EXPECT_THAT(parse_error(make_file(R"({"a": )", "")), HasSubstr("not valid JSON"));
  EXPECT_THAT(parse_error(make_file(R"([1, 2])", "")), HasSubstr("starting with '{'"));
  EXPECT_THAT(parse_error(make_file(R"( {})", "")), HasSubstr("starting with '{'"));
  EXPECT_THAT(parse_error(make_file("", "")), HasSubstr("starting with '{'"));
}

TEST(SafetensorsHeader, RejectsDuplicateNames) {
  const auto file = make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                              "ab");
  EXPECT_THAT(parse_error(file), HasSubstr("names 'a' twice"));
}

TEST(SafetensorsHeader, RejectsNonStringMetadata) {
  EXPECT_THAT(parse_error(make_file(R"({"__metadata__":{"format":1}})", "")),
              HasSubstr("__metadata__ 'format' must be a string"));
  EXPECT_THAT(parse_error(make_file(R"({"__metadata__":["pt"]})", "")),
              HasSubstr("__metadata__ must be an object"));
}

TEST(SafetensorsHeader, RejectsUnknownDtype) {
  const auto file = make_file(R"({"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", "a");
  EXPECT_THAT(parse_error(file), HasSubstr("tensor 'w': unknown dtype 'F8'"));
}

TEST(SafetensorsHeader, RejectsEntryOfWrongForm) {
  EXPECT_THAT(parse_error(make_file(R"({"w":[1]})", "")), HasSubstr("tensor 'w'"));
  EXPECT_THAT(parse_error(make_file(R"({"w":{"dtype":"F32","shape":[1]}})", "")),
              HasSubstr("missing 'data_offsets'"));
  EXPECT_THAT(parse_error(make_file(
                  R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}})", "a")),
              HasSubstr("unknown key 'extra'"));
  EXPECT_THAT(
      parse_error(make_file(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "a")),
      HasSubstr("non-negative integer"));
  EXPECT_THAT(
      parse_error(make_file(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "a")),
      HasSubstr("non-negative integer"));
  EXPECT_THAT(parse_error(make_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "a")),
              HasSubstr("[begin, end]"));
  EXPECT_THAT(
      parse_error(make_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}})", "a")),
      HasSubstr("before begin"));
}

TEST(SafetensorsHeader, RejectsSizeNotMatchingShape) {
  const auto file =
      make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kEightBytes);
  const auto message = parse_error(file);
  EXPECT_THAT(message, HasSubstr("tensor 'w'"));
  EXPECT_THAT(message, HasSubstr("needs 12 bytes"));
}

TEST(SafetensorsHeader, RejectsShapeWhoseSizeOverflows) {
  const auto file = make_file(
      R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", kEightBytes);
  EXPECT_THAT(parse_error(file), HasSubstr("too many"));
}

TEST(SafetensorsHeader, RejectsRangePastDataSection) {
  const auto file =
      make_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kEightBytes);
  EXPECT_THAT(parse_error(file), HasSubstr("tensor 'w': data_offsets [0, 16] run past"));
}

TEST(SafetensorsHeader, RejectsOverlappingRanges) {
  const auto file = make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              kEightBytes);
  const auto message = parse_error(file);
  EXPECT_THAT(message, HasSubstr("overlap"));
  EXPECT_THAT(message, HasSubstr("'b'"));
}

TEST(SafetensorsHeader, RejectsHolesAndTrailingBytes) {
  const auto hole =
      make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kEightBytes);
  EXPECT_THAT(parse_error(hole), HasSubstr("tensor 'a': data_offsets begin 4 leaves a hole"));
  const auto trailing =
      make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", kEightBytes);
  EXPECT_THAT(parse_error(trailing), HasSubstr("trailing bytes"));
}

TEST(SafetensorsFile, MissingFileIsAnErrorNamingIt) {
  try {
    SafetensorsFile file("/nonexistent/dir/model.safetensors");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dir/model.safetensors"));
  }
}

TEST(SafetensorsFile, WriterRoundTripsAndFollowsTheLayout) {
  const testing::TempDir dir;
  const std::vector<float> weights{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  const std::vector<std::int64_t> ids{1, 2, 3};
  std::map<std::string, TensorBytes> tensors;
  tensors["zeta.weight"] = {DType::F32, {2, 3}, std::as_bytes(std::span(weights))};
  tensors["alpha.ids"] = {DType::I64, {3}, std::as_bytes(std::span(ids))};
  tensors["empty"] = {DType::BF16, {0}, {}};
  const auto path = dir / "out.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "test"}});

  const auto bytes = read_file(path);
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
  const auto header_text = bytes.substr(8, header_length);
  EXPECT_EQ(header_text.find_last_not_of(' ') + 1, header_text.find_last_of('}') + 1);

  const SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), 3u);
  // Data laid out in alphabetical order of names.
  EXPECT_EQ(file.tensors()[0].name, "alpha.ids");
  EXPECT_EQ(file.at("alpha.ids").begin, 0u);
  EXPECT_EQ(file.at("empty").begin, 24u);
  EXPECT_EQ(file.at("zeta.weight").begin, 24u);
  EXPECT_EQ(file.metadata().at("note"), "test");
  const auto data = file.data(file.at("zeta.weight"));
  ASSERT_EQ(data.size(), weights.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(data.data(), weights.data(), data.size()), 0);
  EXPECT_EQ(file.find("nope"), nullptr);
  EXPECT_THROW(file.at("nope"), Error);
  // No temporary file left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(SafetensorsFile, WriterRejectsBytesNotMatchingShape) {
  const testing::TempDir dir;
  const std::vector<float> weights{1.0f, 2.0f};
  std::map<std::string, TensorBytes> tensors;
  tensors["w"] = {DType::F32, {3}, std::as_bytes(std::span(weights))};
  EXPECT_THROW(write_safetensors(dir / "bad.safetensors", tensors), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.safetensors"));
}

// Every fixture checkpoint parses and lists exactly the state_dict the manifest records.
TEST(SafetensorsFile, FixtureCheckpointsMatchManifest) {
  const auto root = testing::hf_fixtures_dir();
  const auto manifest = nlohmann::json::parse(read_file(root / "manifest.json"));
  int checked = 0;
  for (const auto& [family, entry] : manifest.at("families").items()) {
    const SafetensorsFile file(root / family / "model.safetensors");
    const auto& state = entry.at("state_dict");
    ASSERT_EQ(file.tensors().size(), state.size()) << family;
    for (const auto& [name, spec] : state.items()) {
      const auto* info = file.find(name);
      ASSERT_NE(info, nullptr) << family << " " << name;
      EXPECT_EQ(dtype_name(info->dtype), spec.at("dtype").get<std::string>()) << name;
      EXPECT_EQ(info->shape, spec.at("shape").get<std::vector<std::int64_t>>()) << name;
    }
    EXPECT_EQ(file.metadata().at("format"), "pt");
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(SafetensorsDType, NamesAndSizes) {
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_EQ(parse_dtype_name("F16"), DType::F16);
  EXPECT_FALSE(parse_dtype_name("f32").has_value());
}

}  // namespace
}  // namespace emotune::io
