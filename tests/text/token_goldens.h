#pragma once

// Shared by the tokenizer tests: checks one fixture checkpoint's tokenizer against
// golden/<family>_tokens.json of $EMOTUNE_HF_FIXTURES, text by text.

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "text/tokenizer.h"

namespace emotune::testing {

struct TokenGolden {
  int id = 0;
  std::string category;
  std::string text;
  std::vector<std::string> tokens;
  std::size_t num_ids_untruncated = 0;
  std::map<std::size_t, std::vector<std::int64_t>> input_ids;       // by max_length
  std::map<std::size_t, std::vector<std::int64_t>> attention_mask;  // by max_length
  std::map<std::size_t, std::vector<std::int64_t>> token_type_ids;  // absent for RoBERTa
};

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

inline std::vector<TokenGolden> load_token_goldens(const std::string& family) {
  const auto root = hf_fixtures_dir();
  const auto texts = read_json_file(root / "texts.json");
  std::map<int, std::string> text_by_id;
  for (const auto& t : texts.at("texts")) text_by_id[t.at("id").get<int>()] = t.at("text");
  const auto golden = read_json_file(root / "golden" / (family + "_tokens.json"));
  std::vector<TokenGolden> out;
  for (const auto& t : golden.at("texts")) {
    TokenGolden g;
    g.id = t.at("id").get<int>();
    g.category = t.at("category").get<std::string>();
    g.text = text_by_id.at(g.id);
    g.tokens = t.at("tokens").get<std::vector<std::string>>();
    g.num_ids_untruncated = t.at("num_ids_untruncated").get<std::size_t>();
    for (std::size_t max_length : {512u, 128u}) {
      const auto suffix = "_" + std::to_string(max_length);
      g.input_ids[max_length] = t.at("input_ids" + suffix).get<std::vector<std::int64_t>>();
      g.attention_mask[max_length] =
          t.at("attention_mask" + suffix).get<std::vector<std::int64_t>>();
      if (t.contains("token_type_ids" + suffix)) {
        g.token_type_ids[max_length] =
            t.at("token_type_ids" + suffix).get<std::vector<std::int64_t>>();
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

// Every golden text: tokens, and input_ids / attention_mask / token_type_ids at 512 and 128.
inline void expect_matches_token_goldens(const text::Tokenizer& tokenizer,
                                         const std::string& family) {
  const auto goldens = load_token_goldens(family);
  ASSERT_FALSE(goldens.empty());
  for (const auto& g : goldens) {
    SCOPED_TRACE(family + " text " + std::to_string(g.id) + " (" + g.category + ")");
    EXPECT_EQ(tokenizer.tokenize(g.text), g.tokens);
    EXPECT_EQ(tokenizer.encode_without_specials(g.text).size() + 2, g.num_ids_untruncated);
    for (const auto& [max_length, ids] : g.input_ids) {
      const auto encoding = tokenizer.encode(g.text, max_length);
      EXPECT_EQ(encoding.input_ids, ids) << "max_length " << max_length;
      EXPECT_EQ(encoding.attention_mask, g.attention_mask.at(max_length));
      if (auto it = g.token_type_ids.find(max_length); it != g.token_type_ids.end()) {
        EXPECT_EQ(encoding.token_type_ids, it->second);
      }
    }
  }
}

}  // namespace emotune::testing
