#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_paths.h"

namespace emotune::testing {
namespace {

std::string bert_dir() {
  return shell_quote((hf_fixtures_dir() / "bert").string());
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(TokenizeCli, WritesOneLinePerInputInOrder) {
  TempDir dir;
  std::ofstream(dir / "in.jsonl") << R"({"text": "hello world"})"
                                  << "\n"
                                  << R"({"text": "", "id": 7})"
                                  << "\n"
                                  << R"({"text": "Hello [MASK] 😀 unbelievable"})"
                                  << "\n";
  const auto result = run_cli("tokenize --model " + bert_dir() + " --input " +
                              shell_quote((dir / "in.jsonl").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["input_ids"], nlohmann::json({101, 7592, 2088, 102}));
  EXPECT_EQ(lines[0]["attention_mask"], nlohmann::json({1, 1, 1, 1}));
  EXPECT_EQ(lines[0]["token_type_ids"], nlohmann::json({0, 0, 0, 0}));
  EXPECT_EQ(lines[0]["tokens"], nlohmann::json({"hello", "world"}));
  EXPECT_EQ(lines[1]["input_ids"], nlohmann::json({101, 102}));
  EXPECT_EQ(lines[1]["tokens"], nlohmann::json::array());
  EXPECT_EQ(lines[2]["tokens"][1], "[MASK]");
  EXPECT_EQ(lines[2]["tokens"][2], "[UNK]");
  // Keys in the documented order.
  EXPECT_EQ(result.out.rfind(R"({"input_ids":)", 0), 0u) << result.out;
}

TEST(TokenizeCli, ReadsStdinAndTruncatesOnlyTheIds) {
  TempDir dir;
  std::ofstream(dir / "in.jsonl") << R"({"text": "hello world again"})"
                                  << "\n";
  const auto result = run_cli("tokenize --model " + bert_dir() + " --max-length 3 < " +
                              shell_quote((dir / "in.jsonl").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["input_ids"], nlohmann::json({101, 7592, 102}));
  EXPECT_EQ(lines[0]["tokens"].size(), 3u);
}

TEST(TokenizeCli, BadLinesAreErrorsNamingTheLine) {
  TempDir dir;
  const auto run_with = [&](const std::string& content) {
    std::ofstream(dir / "in.jsonl", std::ios::binary) << content;
    return run_cli("tokenize --model " + bert_dir() + " --input " +
                   shell_quote((dir / "in.jsonl").string()));
  };
  auto result = run_with("{\"text\": \"ok\"}\n{\"text\": broken\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("in.jsonl:2:"), std::string::npos) << result.err;

  result = run_with("{\"text\": \"ok\"}\n{\"txt\": \"no text key\"}\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("in.jsonl:2:"), std::string::npos) << result.err;

  result = run_with("{\"text\": \"ok\"}\n\n{\"text\": \"ok\"}\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("in.jsonl:2: empty line"), std::string::npos) << result.err;

  result = run_with("[\"text\"]\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("in.jsonl:1:"), std::string::npos) << result.err;

  result = run_with("{\"text\": \"ok\"}\n{\"text\": \"bad \xff byte\"}\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("in.jsonl:2:"), std::string::npos) << result.err;
}

TEST(TokenizeCli, MissingModelFolderIsAnError) {
  const auto result = run_cli("tokenize --model /nonexistent/model < /dev/null");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_FALSE(result.err.empty());
}

}  // namespace
}  // namespace emotune::testing
