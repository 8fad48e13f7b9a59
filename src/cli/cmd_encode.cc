#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/error.h"
#include "model/checkpoint.h"
#include "model/encode.h"
#include "model/encoder.h"
#include "runtime/device.h"
#include "text/tokenizer.h"

namespace emotune::cli {
namespace {

struct EncodeOptions {
  std::string model;
  std::string input;
  std::string output;
  std::size_t batch_size = 8;
  std::size_t max_length = 0;
  std::string device = "cpu";
  std::string dtype = "float32";
};

void run_encode(const EncodeOptions& options, const GlobalOptions& globals) {
  apply_thread_option(globals);
  // Bad input fails fast, before the model is loaded.

  std::vector<std::string> texts;
  if (options.input.empty() || options.input == "-") {
    texts = model::read_jsonl_texts(std::cin, "<stdin>");
  } else {
    std::ifstream in(options.input);
    if (!in) throw error_in(options.input, "cannot open for reading");
    texts = model::read_jsonl_texts(in, options.input);
  }
  model::EncoderOptions encoder_options;
  encoder_options.device = runtime::parse_device(options.device);
  encoder_options.dtype = runtime::parse_dtype(options.dtype);
  const auto encoder = model::load_encoder(options.model, encoder_options);
  const auto tokenizer = text::load_tokenizer(options.model);
  const auto encoded =
      model::encode_texts(*encoder, *tokenizer, texts,
                          {.batch_size = options.batch_size, .max_length = options.max_length});
  model::save_tensors(options.output,
                      {{"last_hidden_state", encoded.last_hidden_state},
                       {"attention_mask", encoded.attention_mask},
                       {"first_token", encoded.first_token}},
                      {{"format", "pt"}, {"model_type", encoder->model_type()}});
  spdlog::info("encoded {} texts ({} tokens at most) into {}", texts.size(),
               encoded.attention_mask.size(1), options.output);
}

[[maybe_unused]] const bool registered = register_command(
    "encode",
    "Run a checkpoint's encoder over texts and save the hidden states as safetensors "
    "(last_hidden_state, attention_mask, first_token)",
    [](CLI::App& command, const GlobalOptions& globals) {
      auto options = std::make_shared<EncodeOptions>();
      command
          .add_option("--model", options->model,
                      "HuggingFace checkpoint folder: config.json, the weights (model.safetensors "
                      "or pytorch_model.bin, either possibly sharded) and the "
                      "tokenizer files (bert, roberta, electra or albert)")
          ->required()
          ->check(CLI::ExistingDirectory);
      command.add_option("--input", options->input,
                         "JSON Lines file, one {\"text\": ...} object per line (default or '-': "
                         "standard input)");
      command
          .add_option("--output", options->output,
                      "safetensors file to write: last_hidden_state F32 [texts, L, hidden] with "
                      "L the longest text (zeros at padding), attention_mask I64 [texts, L], "
                      "first_token F32 [texts, hidden]")
          ->required();
      command
          .add_option("--batch-size", options->batch_size,
                      "Texts per forward pass, each batch padded to its longest text")
          ->capture_default_str()
          ->check(CLI::Range(1, 4096));
      command
          .add_option("--max-length", options->max_length,
                      "Truncate texts to this many tokens including [CLS]/[SEP] (0 = the "
                      "tokenizer's model_max_length, at most 512)")
          ->capture_default_str()
          ->check(CLI::Range(0, 1 << 20));
      command.add_option("--device", options->device, "cpu, cuda or cuda:N")->capture_default_str();
      command
          .add_option("--dtype", options->dtype,
                      "Compute dtype: float32 or bfloat16 (outputs are always float32)")
          ->capture_default_str();
      command.callback([options, &globals] { run_encode(*options, globals); });
    });

}  // namespace
}  // namespace emotune::cli
