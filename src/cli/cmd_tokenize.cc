#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/error.h"
#include "text/tokenizer.h"

namespace emotune::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::size_t max_length = 0;
  std::string input;  // empty = stdin
};

// One JSON line in, one JSON line out; the first bad line stops the run with its number.
void tokenize_stream(const text::Tokenizer& tokenizer, std::istream& in,
                     const std::string& input_name, std::size_t max_length) {
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto where = fmt::format("{}:{}", input_name, number);
    if (line.empty() || line == "\r") {
      throw Error(
          fmt::format("{}: empty line: expected a JSON object {{\"text\": \"...\"}}", where));
    }
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(fmt::format("{}: not valid JSON ({})", where, e.what()));
    }
    if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) {
      throw Error(fmt::format("{}: expected a JSON object with a string \"text\"", where));
    }
    const auto text = json["text"].get<std::string>();
    nlohmann::ordered_json out;
    try {
      const auto encoding = tokenizer.encode(text, max_length);
      out["input_ids"] = encoding.input_ids;
      out["attention_mask"] = encoding.attention_mask;
      out["token_type_ids"] = encoding.token_type_ids;
      out["tokens"] = tokenizer.tokenize(text);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", where, e.what()));
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  if (in.bad()) throw Error(fmt::format("{}: read error after line {}", input_name, number));
}

void run_tokenize(const TokenizeOptions& options) {
  if (options.max_length == 1) {
    throw Error("--max-length 1 leaves no room for the two special tokens (use 0 or at least 2)");
  }
  const auto tokenizer = text::load_tokenizer(options.model_dir);
  if (options.input.empty() || options.input == "-") {
    tokenize_stream(*tokenizer, std::cin, "<stdin>", options.max_length);
    return;
  }
  std::ifstream in(options.input, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open the input file", options.input));
  tokenize_stream(*tokenizer, in, options.input, options.max_length);
}

[[maybe_unused]] const bool registered = register_command(
    "tokenize",
    "Tokenize JSON Lines {\"text\": ...} with a checkpoint's own tokenizer, as HuggingFace does",
    [](CLI::App& command, const GlobalOptions&) {
      auto options = std::make_shared<TokenizeOptions>();
      command
          .add_option("--model", options->model_dir,
                      "Checkpoint folder holding the tokenizer files (vocab.txt for BERT/ELECTRA, "
                      "vocab.json + merges.txt for RoBERTa, spiece.model for ALBERT)")
          ->required()
          ->check(CLI::ExistingDirectory);
      command
          .add_option("--max-length", options->max_length,
                      "Truncate input_ids to this many ids including the two special tokens; "
                      "0 = the tokenizer's model_max_length (at most 512)")
          ->capture_default_str()
          ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
      command.add_option("--input", options->input,
                         "JSON Lines file to read instead of stdin ('-' = stdin). Each line must "
                         "be a JSON object with a string \"text\"; an empty line, a line that is "
                         "not such an object, or invalid UTF-8 stops with an error naming the "
                         "line (exit status 1). Each input line gives one output line, in order: "
                         "{\"input_ids\", \"attention_mask\", \"token_type_ids\", \"tokens\"}, "
                         "where tokens is the whole text's pieces (no specials, not truncated)");
      command.callback([options] { run_tokenize(*options); });
    });

}  // namespace
}  // namespace emotune::cli
