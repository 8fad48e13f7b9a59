#include <cstdint>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/command.h"
#include "common/paths.h"
#include "data/stats.h"
#include "text/tokenizer.h"

namespace emotune::cli {
namespace {

struct StatsCommandOptions {
  std::string data_dir;
  std::string augment = "none";
  std::size_t augment_size = 0;
  std::uint64_t seed = data::kDefaultAugmentSeed;
  std::string multi_label = "skip";
  std::string model_dir;
  bool json = false;
};

void run_stats(const StatsCommandOptions& options) {
  const auto data_dir = resolve_data_dir(options.data_dir);
  data::StatsOptions stats_options;
  stats_options.augment.mode = data::parse_augment_mode(options.augment);
  stats_options.augment.size = options.augment_size;
  stats_options.augment.seed = options.seed;
  stats_options.multi_label = data::parse_multi_label_policy(options.multi_label);

  std::shared_ptr<text::Tokenizer> tokenizer;
  data::LengthFunction length;
  std::string unit = "words";
  if (!options.model_dir.empty()) {
    tokenizer = text::load_tokenizer(options.model_dir);
    length = [tokenizer](std::string_view text) {
      return tokenizer->encode_without_specials(text).size();
    };
    unit = fmt::format("word pieces, {} tokenizer, without special tokens", tokenizer->algorithm());
  }
  const auto stats = data::compute_stats(data_dir, stats_options, length, unit);
  fmt::print("{}", options.json ? data::format_stats_json(stats) : data::format_stats_text(stats));
}

[[maybe_unused]] const bool registered = register_command(
    "data", "Inspect the WASSA 2021 and GoEmotions data sets",
    [](CLI::App& command, const GlobalOptions& /*globals*/) {
      command.require_subcommand(1);
      auto options = std::make_shared<StatsCommandOptions>();
      auto* stats = command.add_subcommand(
          "stats",
          "Per-split row counts, emotion label distribution, empathy/distress mean and std "
          "(n-1), and essay length percentiles (p50/p90/p99/max) for WASSA train/dev/test, "
          "GoEmotions train/dev/test mapped to the 7 Ekman classes, and the augmented train set");
      stats->add_option("--data", options->data_dir,
                        "Folder holding wassa2021/ and goemotions/ (default: $EMOTUNE_DATA)");
      stats
          ->add_option("--augment", options->augment,
                       "Track II train augmentation with GoEmotions train comments: none; ba = "
                       "balanced, top up to --augment-size examples in total filling the "
                       "smallest classes first; ra = random, add --augment-size comments drawn "
                       "uniformly")
          ->check(CLI::IsMember({"none", "ba", "ra"}))
          ->capture_default_str();
      stats
          ->add_option("--augment-size", options->augment_size,
                       fmt::format("ba: total size of the combined set (default {}); ra: number "
                                   "of comments added (default {}); 0 = that default",
                                   data::kDefaultBalancedTotal, data::kDefaultRandomAdded))
          ->capture_default_str();
      stats->add_option("--seed", options->seed, "Seed of the augmentation draw (mt19937_64)")
          ->capture_default_str();
      stats
          ->add_option("--multi-label", options->multi_label,
                       "GoEmotions comments whose labels map to several Ekman classes: skip "
                       "(leave out and count), first (class of the first label) or error")
          ->check(CLI::IsMember({"skip", "first", "error"}))
          ->capture_default_str();
      stats->add_option("--model", options->model_dir,
                        "HuggingFace checkpoint folder: measure lengths in its tokenizer's word "
                        "pieces instead of whitespace-separated words");
      stats->add_flag("--json", options->json, "Print the statistics as JSON");
      stats->callback([options] { run_stats(*options); });
    });

}  // namespace
}  // namespace emotune::cli
