// Parity on a real pretrained checkpoint: all-MiniLM-L6-v2 (scripts/fetch_models.sh puts it in
// $EMOTUNE_MODELS/all-MiniLM-L6-v2, default ~/.cache/emotune/models). The golden
// (tests/fixtures/minilm_golden.json) was written by scripts/check_parity_real.py from
// HuggingFace's BertModel and tokenizer; the essays are found in $EMOTUNE_DATA by split and
// message_id. Skipped, saying where it looked, when the checkpoint is not there.

#include <cmath>
#include <iostream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/wassa.h"
#include "model/encoder.h"
#include "text/tokenizer.h"

namespace emotune::model {
namespace {

namespace fs = std::filesystem;

fs::path minilm_dir() {
  const auto root = env("EMOTUNE_MODELS");
  const auto home = env("HOME");
  const fs::path models = root ? fs::path(*root)
                               : fs::path(home.value_or("/root")) / ".cache" / "emotune" / "models";
  return models / "all-MiniLM-L6-v2";
}

const data::WassaRecord* find_record(const std::vector<data::WassaSplit>& splits,
                                     const std::string& split, const std::string& id) {
  for (const auto& s : splits) {
    if (data::split_name(s.split) != split) continue;
    for (const auto& record : s.rows)
      if (record.id == id) return &record;
  }
  return nullptr;
}

TEST(MiniLmGolden, TokensAndHiddenStatesEqualHuggingFaces) {
  const auto dir = minilm_dir();
  if (!fs::is_regular_file(dir / "config.json") || !fs::is_regular_file(dir / "model.safetensors"))
    GTEST_SKIP() << "real-checkpoint parity skipped: no all-MiniLM-L6-v2 checkpoint at "
                 << dir.string()
                 << " (scripts/fetch_models.sh fetches it; EMOTUNE_MODELS moves the cache)";
  const auto golden = nlohmann::json::parse(
      read_file(emotune::testing::source_dir() / "tests" / "fixtures" / "minilm_golden.json"));
  ASSERT_EQ(sha256_file(dir / "model.safetensors"),
            golden.at("model_weights_sha256").get<std::string>())
      << dir.string() << " holds other weights than the golden was made from";

  std::vector<data::WassaSplit> splits;
  for (const auto split : {data::Split::train, data::Split::dev, data::Split::test})
    splits.push_back(data::load_wassa(emotune::testing::data_dir(), split));
  const auto tokenizer = text::load_tokenizer(dir);
  const auto encoder = load_encoder(dir);
  encoder->eval();
  torch::InferenceMode inference;
  const auto max_length = golden.at("max_length").get<std::size_t>();
  const auto dims = golden.at("dims").get<std::int64_t>();
  double max_diff = 0.0;
  ASSERT_GE(golden.at("essays").size(), 20u);
  for (const auto& essay : golden.at("essays")) {
    const auto id = essay.at("message_id").get<std::string>();
    const auto* record = find_record(splits, essay.at("split").get<std::string>(), id);
    ASSERT_NE(record, nullptr) << id << " is not in " << emotune::testing::data_dir().string();
    ASSERT_EQ(sha256_hex(record->text), essay.at("text_sha256").get<std::string>()) << id;

    const auto encoding = tokenizer->encode(record->text, max_length);
    EXPECT_EQ(encoding.input_ids, essay.at("input_ids").get<std::vector<std::int64_t>>()) << id;

    const auto n = static_cast<std::int64_t>(encoding.input_ids.size());
    const auto ids = torch::tensor(encoding.input_ids, torch::kLong).view({1, n});
    const auto hidden = encoder->forward(ids, torch::ones_like(ids), torch::Tensor())[0];
    const auto first = hidden[0].slice(0, 0, dims);
    const auto mean = hidden.mean(0).slice(0, 0, dims);
    const auto expect_first = torch::tensor(essay.at("first_token").get<std::vector<float>>());
    const auto expect_mean = torch::tensor(essay.at("mean_token").get<std::vector<float>>());
    const double diff = std::max((first - expect_first).abs().max().item<double>(),
                                 (mean - expect_mean).abs().max().item<double>());
    max_diff = std::max(max_diff, diff);
    EXPECT_LE(diff, 1e-4) << id;
    // |sum|a| - sum|b|| <= numel * max|a - b|: the same 1e-4 per element over the whole state.
    EXPECT_NEAR(hidden.abs().sum().item<double>(), essay.at("abs_sum").get<double>(),
                1e-4 * static_cast<double>(hidden.numel()) + 1e-3)
        << id;
  }
  std::cout << "all-MiniLM-L6-v2 at " << dir.string() << ": " << golden.at("essays").size()
            << " essays, ids identical, max |emotune - HF| on the golden slices = " << max_diff
            << "\n";
}

}  // namespace
}  // namespace emotune::model
