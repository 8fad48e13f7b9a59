#include <memory>
#include <string>

#include <fmt/format.h>

#include "baseline/training_texts.h"
#include "cli/command.h"
#include "common/paths.h"
#include "text/vocab_trainer.h"

namespace emotune::cli {
namespace {

struct VocabCommandOptions {
  std::string data_dir;
  std::string out_dir;
  std::size_t size = 16000;
  std::string kind = "wordpiece";
  bool lowercase = true;
  bool no_goemotions = false;
  std::size_t limit = 0;
};

void run_vocab(const VocabCommandOptions& options) {
  const auto data_dir = resolve_data_dir(options.data_dir);
  text::VocabTrainOptions train_options;
  train_options.kind = text::parse_vocab_kind(options.kind);
  train_options.vocab_size = options.size;
  train_options.lowercase = options.lowercase;

  baseline::TrainingTextOptions text_options;
  text_options.goemotions = !options.no_goemotions;
  text_options.limit_per_source = options.limit;
  const auto corpus = baseline::load_training_texts(data_dir, text_options);
  const auto result = text::train_vocab(corpus.texts, options.out_dir, train_options);
  fmt::print(
      "trained a {} tokenizer on {} texts ({} WASSA train essays, {} GoEmotions train "
      "comments)\n",
      text::vocab_kind_name(train_options.kind), corpus.texts.size(), corpus.wassa,
      corpus.goemotions);
  if (result.words != 0) fmt::print("distinct words: {}\n", result.words);
  fmt::print("vocabulary: {} entries (asked for {})\n", result.vocab_size, options.size);
  for (const auto& file : result.files) fmt::print("wrote {}\n", file.string());
}

[[maybe_unused]] const bool registered = register_command(
    "vocab",
    "Train a tokenizer (WordPiece vocab.txt or SentencePiece unigram spiece.model) on the "
    "training texts only and write it as a HuggingFace tokenizer folder",
    [](CLI::App& command, const GlobalOptions& /*globals*/) {
      auto options = std::make_shared<VocabCommandOptions>();
      command.add_option("--data", options->data_dir,
                         "Folder holding wassa2021/ and goemotions/ (default: $EMOTUNE_DATA); "
                         "only the train files are read");
      command
          .add_option("--out", options->out_dir,
                      "Folder to write the tokenizer files into (created when missing)")
          ->required();
      command.add_option("--size", options->size, "Vocabulary size to learn (an upper bound)")
          ->capture_default_str()
          ->check(CLI::Range(8, 1000000));
      command
          .add_option("--kind", options->kind,
                      "wordpiece: BERT-style vocab.txt learned by BPE-style merges over "
                      "basic-tokenized words; unigram: SentencePiece unigram spiece.model "
                      "with ALBERT's special-token ids")
          ->capture_default_str()
          ->check(CLI::IsMember({"wordpiece", "unigram"}));
      command.add_flag("--lowercase,!--no-lowercase", options->lowercase,
                       "Lower-case (and strip accents) before learning, and write do_lower_case "
                       "so the tokenizer does the same (default: on)");
      command.add_flag("--no-goemotions", options->no_goemotions,
                       "Learn from the WASSA train essays only, not the GoEmotions train comments");
      command
          .add_option("--limit", options->limit,
                      "Use only the first N texts of each source (0 = all), for quick trials")
          ->capture_default_str();
      command.callback([options] { run_vocab(*options); });
    });

}  // namespace
}  // namespace emotune::cli
