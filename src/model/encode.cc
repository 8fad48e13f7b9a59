#include "model/encode.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace emotune::model {

EncodedTexts encode_texts(Encoder& encoder, const text::Tokenizer& tokenizer,
                          const std::vector<std::string>& texts,
                          const EncodeTextsOptions& options) {
  if (options.batch_size == 0) throw Error("batch size must be at least 1");
  std::vector<text::Encoding> encodings;
  encodings.reserve(texts.size());
  std::size_t longest = 0;
  for (const auto& t : texts) {
    encodings.push_back(tokenizer.encode(t, options.max_length));
    longest = std::max(longest, encodings.back().input_ids.size());
  }

  const auto parameter = encoder.parameters().front();
  const auto device = parameter.device();
  const auto count = static_cast<std::int64_t>(texts.size());
  const auto hidden = encoder.hidden_size();
  const auto length = static_cast<std::int64_t>(longest);
  EncodedTexts out;
  out.last_hidden_state = torch::zeros({count, length, hidden}, torch::kFloat);
  out.attention_mask = torch::zeros({count, length}, torch::kLong);
  out.first_token = torch::zeros({count, hidden}, torch::kFloat);

  torch::InferenceMode inference;
  const bool was_training = encoder.is_training();
  encoder.eval();
  // A tokenizer without a pad token: any id works, the mask hides it.
  const auto pad = std::max<std::int64_t>(tokenizer.special_ids().pad, 0);
  for (std::size_t start = 0; start < encodings.size(); start += options.batch_size) {
    const auto end = std::min(encodings.size(), start + options.batch_size);
    std::size_t batch_length = 0;
    for (auto i = start; i < end; ++i)
      batch_length = std::max(batch_length, encodings[i].input_ids.size());
    const auto rows = static_cast<std::int64_t>(end - start);
    const auto cols = static_cast<std::int64_t>(batch_length);
    auto ids = torch::full({rows, cols}, pad, torch::kLong);
    auto mask = torch::zeros({rows, cols}, torch::kLong);
    auto types = torch::zeros({rows, cols}, torch::kLong);
    auto ids_at = ids.accessor<std::int64_t, 2>();
    auto mask_at = mask.accessor<std::int64_t, 2>();
    auto types_at = types.accessor<std::int64_t, 2>();
    for (auto i = start; i < end; ++i) {
      const auto& e = encodings[i];
      const auto r = static_cast<std::int64_t>(i - start);
      for (std::size_t j = 0; j < e.input_ids.size(); ++j) {
        ids_at[r][j] = e.input_ids[j];
        mask_at[r][j] = e.attention_mask.empty() ? 1 : e.attention_mask[j];
        if (j < e.token_type_ids.size()) types_at[r][j] = e.token_type_ids[j];
      }
    }
    auto states = encoder.forward(ids.to(device), mask.to(device), types.to(device))
                      .to(torch::kCPU, torch::kFloat);
    states.masked_fill_(mask.eq(0).unsqueeze(-1), 0.0f);
    const auto first = static_cast<std::int64_t>(start);
    out.last_hidden_state.narrow(0, first, rows).narrow(1, 0, cols).copy_(states);
    out.attention_mask.narrow(0, first, rows).narrow(1, 0, cols).copy_(mask);
    out.first_token.narrow(0, first, rows).copy_(states.select(1, 0));
  }
  encoder.train(was_training);
  return out;
}

std::vector<std::string> read_jsonl_texts(std::istream& in, const std::filesystem::path& origin) {
  std::vector<std::string> texts;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw error_at(origin, number, fmt::format("not valid JSON: {}", e.what()));
    }
    if (!row.is_object() || !row.contains("text") || !row.at("text").is_string())
      throw error_at(origin, number, "expected an object with a string \"text\"");
    texts.push_back(row.at("text").get<std::string>());
  }
  if (in.bad()) throw error_in(origin, "read error");
  return texts;
}

}  // namespace emotune::model
