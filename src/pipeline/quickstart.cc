#include "pipeline/quickstart.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "baseline/baseline.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "data/training_texts.h"
#include "io/hf_config.h"
#include "pipeline/child_jobs.h"
#include "pipeline/reproduce.h"
#include "pipeline/stacked_systems.h"
#include "text/vocab_trainer.h"
#include "train/cooccurrence_embeddings.h"
#include "train/pretrain.h"
#include "train/run_dir.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Where a member's encoder weights come from; one system per track and origin.
enum class Origin { encoder, own_pretrained, random_init };

double minutes_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
}

void ensure_vocab(const QuickstartOptions& options, const fs::path& dir) {
  if (fs::is_regular_file(dir / "vocab.txt") &&
      fs::is_regular_file(dir / "tokenizer_config.json")) {
    spdlog::info("quickstart 1/6: vocabulary {} is there", dir.string());
    return;
  }
  spdlog::info("quickstart 1/6: learning a WordPiece vocabulary of {} from the training texts",
               options.vocab_size);
  const auto corpus = data::load_training_texts(options.data_dir);
  text::VocabTrainOptions vocab;
  vocab.vocab_size = options.vocab_size;
  const auto result = text::train_vocab(corpus.texts, dir, vocab);
  spdlog::info("quickstart 1/6: {} entries from {} texts -> {}", result.vocab_size,
               corpus.texts.size(), dir.string());
}

Scores baseline_scores(const QuickstartOptions& options, const fs::path& file) {
  json stored;
  if (fs::is_regular_file(file)) {
    stored = read_json(file);
    spdlog::info("quickstart 2/6: TF-IDF baseline scores read from {}", file.string());
  } else {
    spdlog::info("quickstart 2/6: TF-IDF baseline (ridge, logistic regression) on WASSA train");
    const baseline::BaselineOptions baseline_options;
    const auto report = baseline::run_wassa_baseline(options.data_dir, baseline_options);
    stored =
        json{{"empathy_r", report.track1.empathy},
             {"distress_r", report.track1.distress},
             {"average_r", report.track1.average},
             {"macro_f1", report.track2.macro_f1},
             {"accuracy", report.track2.accuracy},
             {"report", json::parse(baseline::format_baseline_json(report, baseline_options))}};
    write_json(file, stored);
  }
  Scores scores;
  for (const char* name : {"empathy_r", "distress_r", "average_r", "macro_f1", "accuracy"})
    scores[name] = stored.at(name).get<double>();
  return scores;
}

// The recipes QuickstartOptions::pretrain_recipe names (it says why); "plain" keeps `emotune
// pretrain`'s defaults.
void apply_pretrain_recipe(const std::string& recipe, train::PretrainOptions& pretrain) {
  if (recipe != "context") return;
  pretrain.learning_rate = 1e-3;
  pretrain.attention_init = "local";
  pretrain.dropout = 0.0;
  pretrain.generator_ratio = 0.5;
  pretrain.generator_embeddings = "own";
}

// The pre-training still to run, or nullopt (with `summary` read) when OUT/pretrained holds a
// finished or budget-stopped run.
std::optional<train::PretrainOptions> pretraining_to_run(const QuickstartOptions& options,
                                                         const fs::path& vocab_dir,
                                                         const fs::path& dir, json& summary) {
  const double budget_seconds = options.budget_minutes * options.pretrain_share * 60.0;
  const auto summary_file = dir / "pretraining.json";
  double spent = 0;
  if (fs::is_regular_file(summary_file)) {
    summary = read_json(summary_file);
    if (summary.value("finished", false) || summary.value("stopped_by_budget", false)) {
      spdlog::info("quickstart 3/6: pre-trained checkpoint {} is there ({} steps)", dir.string(),
                   summary.value("steps_done", 0));
      return std::nullopt;
    }
    spent = summary.value("elapsed_seconds", 0.0);
  }
  train::PretrainOptions pretrain;
  pretrain.data_dir = options.data_dir;
  pretrain.out_dir = dir;
  pretrain.config = options.pretrain_config;
  pretrain.vocab_dir = vocab_dir;
  pretrain.max_length = options.pretrain_max_length;
  pretrain.batch_size = options.pretrain_batch_size;
  apply_pretrain_recipe(options.pretrain_recipe, pretrain);
  pretrain.word_embeddings = options.pretrain_word_embeddings;
  pretrain.resume = !train::existing_snapshot(dir / "snapshot").empty();
  pretrain.budget_minutes = std::max(0.25, (budget_seconds - spent) / 60.0);
  spdlog::info("quickstart 3/6: {} ELECTRA pre-training ({}, {} recipe) for {:.1f} minutes -> {}",
               pretrain.resume ? "resuming" : "starting", options.pretrain_config,
               pretrain.resume ? std::string("the snapshot's") : options.pretrain_recipe,
               pretrain.budget_minutes, dir.string());
  return pretrain;
}

json ensure_pretrained(const QuickstartOptions& options, const fs::path& vocab_dir,
                       const fs::path& dir) {
  json summary;
  const auto pretrain = pretraining_to_run(options, vocab_dir, dir, summary);
  if (!pretrain) return summary;
  train::PretrainHooks hooks;
  hooks.progress = options.hooks.progress;
  return train::run_pretraining(*pretrain, hooks).summary;
}

// The config.json pre-training starts from (before its fan-in init is recorded).
json preset_config(const QuickstartOptions& options, const fs::path& vocab_dir) {
  train::PretrainOptions shape;
  shape.config = options.pretrain_config;
  shape.vocab_dir = vocab_dir;
  return train::discriminator_config(shape);
}

// The random-init members' backbone: the config.json pre-training starts from (`config`) and
// the tokenizer, no weights, so that they need not wait for OUT/pretrained.
void ensure_random_init_backbone(json config, const fs::path& vocab_dir, const fs::path& dir) {
  config["architectures"] = json::array({"ElectraModel"});
  const auto text = config.dump(2) + "\n";
  const auto file = dir / "config.json";
  if (fs::is_regular_file(file) && read_file(file) == text) return;
  train::write_folder_atomic(dir, [&](const fs::path& fresh) {
    write_file_atomic(fresh / "config.json", text);
    train::copy_tokenizer_files(vocab_dir, fresh);
  });
}

// Children run in this process's folder, but their command lines and logs read better whole.
std::string absolute_path(const fs::path& path) {
  return fs::absolute(path).lexically_normal().string();
}

std::string number_argument(double value) {
  return fmt::format("{}", value);
}

std::vector<std::string> pretrain_command(const QuickstartOptions& options,
                                          const train::PretrainOptions& pretrain) {
  std::vector<std::string> command{options.program.string(),
                                   "--threads",
                                   std::to_string(options.child_threads),
                                   "pretrain",
                                   "--data",
                                   absolute_path(pretrain.data_dir),
                                   "--vocab",
                                   absolute_path(pretrain.vocab_dir),
                                   "--out",
                                   pretrain.out_dir.string(),
                                   "--config",
                                   pretrain.config,
                                   "--max-length",
                                   std::to_string(pretrain.max_length),
                                   "--batch-size",
                                   std::to_string(pretrain.batch_size),
                                   "--lr",
                                   number_argument(pretrain.learning_rate),
                                   "--warmup-steps",
                                   std::to_string(pretrain.warmup_steps),
                                   "--attention-init",
                                   pretrain.attention_init,
                                   "--word-embeddings",
                                   pretrain.word_embeddings,
                                   "--generator-ratio",
                                   number_argument(pretrain.generator_ratio),
                                   "--generator-embeddings",
                                   pretrain.generator_embeddings,
                                   "--budget-minutes",
                                   number_argument(pretrain.budget_minutes),
                                   "--no-progress"};
  if (pretrain.dropout)
    command.insert(command.end(), {"--dropout", number_argument(*pretrain.dropout)});
  if (pretrain.resume) command.push_back("--resume");
  return command;
}

// `emotune train` building the same config as `member` (its file, then its overrides).
std::vector<std::string> train_command(const QuickstartOptions& options, const Member& member,
                                       bool resume) {
  std::vector<std::string> command{options.program.string(), "--threads",
                                   std::to_string(options.child_threads), "train"};
  if (resume) {
    command.insert(command.end(), {"--resume", member.run_dir.string()});
  } else {
    command.insert(command.end(),
                   {absolute_path(member.config_file), "--out", member.run_dir.string()});
  }
  command.insert(command.end(), {"--data", absolute_path(options.data_dir)});
  for (const auto& assignment : member.overrides)
    command.insert(command.end(), {"--set", assignment});
  command.push_back("--no-progress");
  return command;
}

// Steps 3 and 4 as child processes: pre-training (with options.pretrain), the real encoder's
// and the random-init members beside it, then the members fine-tuned from its checkpoint.
// Returns pretraining.json; fills `outcomes`.
json pretrain_and_fine_tune_in_children(const QuickstartOptions& options,
                                        std::span<const Member> members,
                                        std::span<const Origin> origins, const fs::path& vocab_dir,
                                        const fs::path& pretrained_dir,
                                        std::map<std::string, MemberOutcome>& outcomes) {
  json summary;
  std::vector<ChildJob> jobs;
  if (options.pretrain) {
    ChildJob pretrain;
    pretrain.name = "pretrain";
    pretrain.command = [&]() -> std::optional<std::vector<std::string>> {
      const auto plan = pretraining_to_run(options, vocab_dir, pretrained_dir, summary);
      if (!plan) return std::nullopt;
      return pretrain_command(options, *plan);
    };
    pretrain.finished = [&](bool ran, double) {
      if (ran) summary = read_json(pretrained_dir / "pretraining.json");
    };
    jobs.push_back(std::move(pretrain));
  }
  for (const auto origin : {Origin::encoder, Origin::random_init, Origin::own_pretrained}) {
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (origins[i] != origin) continue;
      const auto& member = members[i];
      ChildJob job;
      job.name = member.name;
      if (origin == Origin::own_pretrained) job.after = {"pretrain"};
      job.command = [&]() -> std::optional<std::vector<std::string>> {
        auto plan = plan_member(member, options.data_dir);
        const bool to_train =
            plan.status == MemberStatus::trained || plan.status == MemberStatus::resumed;
        if (!to_train) log_outcome(plan);
        outcomes[member.name] = plan;
        if (!to_train) return std::nullopt;
        const bool resume = plan.status == MemberStatus::resumed;
        spdlog::info("{}: {} in {}", member.name, resume ? "resuming" : "training",
                     member.run_dir.string());
        return train_command(options, member, resume);
      };
      job.finished = [&](bool ran, double) {
        if (!ran) return;
        outcomes[member.name] = trained_member_outcome(member, outcomes.at(member.name).status);
        log_outcome(outcomes[member.name]);
      };
      jobs.push_back(std::move(job));
    }
  }
  spdlog::info(
      "quickstart 3-4/6: {}{} fine-tuning runs as child processes, {} at a time with {} "
      "thread(s) each; their logs: {}",
      options.pretrain ? "pre-training and " : "", members.size(), options.parallel_jobs,
      options.child_threads, (options.out_dir / "logs").string());
  ChildJobsOptions run_options;
  run_options.max_parallel = options.parallel_jobs;
  run_options.log_dir = options.out_dir / "logs";
  run_child_jobs(jobs, run_options);
  return summary;
}

bool trains(const Member& member, model::Task task) {
  const auto& tasks = member.config.tasks;
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

// Every seed of every member that trains `task`, and a title part like "multitask ×5".
std::vector<MemberRef> seeds_of_members(std::span<const Member> members, model::Task task,
                                        std::vector<std::string>& title_parts) {
  std::vector<MemberRef> refs;
  for (const auto& member : members) {
    if (!trains(member, task)) continue;
    for (std::size_t k = 1; k <= member.config.seeds.size(); ++k)
      refs.push_back(MemberRef{member.name, static_cast<int>(k)});
    const auto part = fmt::format("{} ×{}", member.name, member.config.seeds.size());
    if (std::find(title_parts.begin(), title_parts.end(), part) == title_parts.end())
      title_parts.push_back(part);
  }
  return refs;
}

const SystemSpec* find_system(const PipelineSpec& spec, const std::string& name) {
  for (const auto& system : spec.systems)
    if (system.name == name) return &system;
  return nullptr;
}

}  // namespace

// Linear members and, per track, systems stacked on out-of-fold train predictions
// (pipeline/stacked_systems.h); nothing with --no-stacking.
StackedSystemsResult build_linear_and_stacked(const QuickstartOptions& options,
                                              const std::vector<Member>& members,
                                              PipelineResult& pipeline) {
  if (!options.stacking) return {};
  spdlog::info("quickstart: linear members and stacked systems (docs/person_features.md)");
  StackedSystemsOptions stacked;
  stacked.data_dir = options.data_dir;
  stacked.out_dir = options.out_dir;
  stacked.predictor = options.predictor;
  stacked.hooks = options.hooks;
  stacked.members = members;
  return build_stacked_systems(stacked, pipeline);
}

// The stacked systems after the pipeline's, the linear members after the fine-tuned ones; the
// statuses say which system of each track is submitted now.
void add_stacked_rows(const StackedSystemsResult& stacked, QuickstartResult& result) {
  for (auto& row : result.pipeline.comparison) {
    for (const auto& system : result.pipeline.systems) {
      if (system.name == row.name && system.built)
        row.status = system.submitted ? "built, submitted" : "built";
    }
  }
  // A stack that replaced a track's submission un-submits the system it replaced in the table too.
  for (auto& row : result.table) {
    for (const auto& system : result.pipeline.systems) {
      if (system.name != row.name || system.submitted) continue;
      const auto at = row.status.find(", submitted");
      if (at != std::string::npos) row.status.erase(at, std::string(", submitted").size());
    }
  }
  for (auto row : stacked.rows) {
    if (row.name.find("-stack") == std::string::npos) continue;
    if (std::find(stacked.submitted.begin(), stacked.submitted.end(), row.name) !=
        stacked.submitted.end())
      row.status += ", submitted";
    result.table.push_back(row);
  }
  for (const auto& row : stacked.rows)
    if (row.name.find("-stack") == std::string::npos) result.pipeline.comparison.push_back(row);
}

QuickstartResult quickstart(const QuickstartOptions& options) {
  if (!options.models_root.empty()) {
    spdlog::info("quickstart: checkpoints under {}; running the paper's pipeline (reproduce)",
                 options.models_root.string());
    ReproduceOptions reproduce_options;
    static_cast<PipelineOptions&>(reproduce_options) = options;
    reproduce_options.models_root = options.models_root;
    reproduce_options.seeds = options.seeds;
    reproduce_options.overrides = options.overrides;
    QuickstartResult result;
    result.pipeline = reproduce(reproduce_options);
    result.table = result.pipeline.comparison;
    result.table_file = options.out_dir / "results.md";
    return result;
  }
  if (!(options.budget_minutes > 0))
    throw Error(fmt::format("quickstart: --budget-minutes must be positive, got {}",
                            options.budget_minutes));
  if (!(options.pretrain_share > 0 && options.pretrain_share < 1))
    throw Error("quickstart: the pre-training share must be in (0, 1)");
  if (options.pretrain_recipe != "context" && options.pretrain_recipe != "plain")
    throw Error(fmt::format("quickstart: unknown pre-training recipe '{}' (context or plain)",
                            options.pretrain_recipe));
  if (options.pretrain && options.encoder_dir.empty() &&
      options.pretrain_word_embeddings == "cooccurrence" &&
      options.vocab_size > static_cast<std::size_t>(train::kMaxCooccurrenceVocabulary))
    throw Error(
        fmt::format("quickstart: --pretrain-word-embeddings cooccurrence needs a "
                    "vocabulary of at most {} entries, --vocab-size is {} (or give "
                    "--pretrain-word-embeddings random)",
                    train::kMaxCooccurrenceVocabulary, options.vocab_size));
  if (!options.pretrain && !options.ablation && options.encoder_dir.empty())
    throw Error(
        "quickstart: nothing to fine-tune: no pretrained encoder, no pre-training and no "
        "random-init ablation");
  if (!options.encoder_dir.empty() && !fs::is_regular_file(options.encoder_dir / "config.json"))
    throw error_in(options.encoder_dir,
                   "pretrained encoder folder has no config.json (expected a HuggingFace "
                   "checkpoint folder: config.json, model.safetensors, tokenizer files)");
  const auto start = std::chrono::steady_clock::now();
  const auto& out = options.out_dir;
  fs::create_directories(out);
  // The paper's published numbers, and the configs, are read before anything long runs.
  const auto paper = load_pipeline_spec(options.systems_file);
  std::vector<std::string> overrides = options.overrides;
  if (!options.seeds.empty())
    overrides.push_back(fmt::format("seeds=[{}]", fmt::join(options.seeds, ", ")));
  const auto pretrained_dir = fs::absolute(out / "pretrained");
  auto quick_overrides = overrides;
  quick_overrides.push_back(fmt::format("backbone=\"{}\"", pretrained_dir.string()));
  const auto quick_members = load_members(options.configs_dir, quick_overrides, out / "runs");

  std::vector<Member> members;
  std::vector<Origin> origins;
  std::string encoder_name;
  if (!options.encoder_dir.empty()) {
    const auto encoder_dir = fs::absolute(options.encoder_dir).lexically_normal();
    encoder_name = encoder_dir.filename().string();
    auto encoder_overrides = overrides;
    if (options.seeds.empty() && !options.encoder_seeds.empty())
      encoder_overrides.push_back(
          fmt::format("seeds=[{}]", fmt::join(options.encoder_seeds, ", ")));
    encoder_overrides.push_back(fmt::format("backbone=\"{}\"", encoder_dir.string()));
    auto recipes = load_members(options.encoder_configs_dir, encoder_overrides, out / "runs");
    for (const auto& wanted : options.encoder_members) {
      const auto found = std::find_if(recipes.begin(), recipes.end(),
                                      [&](const Member& m) { return m.name == wanted; });
      if (found == recipes.end())
        throw error_in(
            options.encoder_configs_dir,
            fmt::format("no {}.toml for the pretrained encoder's member '{}'", wanted, wanted));
      Member member = *found;
      member.name += "-" + encoder_name;
      member.run_dir = out / "runs" / member.name;
      members.push_back(std::move(member));
      origins.push_back(Origin::encoder);
    }
  }
  // The preset's config (sized by the vocabulary) is the random-init members' backbone and
  // gives the own members' initializer_range.
  ensure_vocab(options, out / "vocab");
  const auto preset =
      options.pretrain || options.ablation ? preset_config(options, out / "vocab") : json();
  if (options.pretrain) {
    std::vector<std::string> own_overrides;
    if (options.own_weights != "all") {
      // The own checkpoint's config records its pre-training init (fan-in); what is drawn
      // afresh is drawn as the random-init members draw it.
      const auto range =
          io::parse_hf_config(preset.dump(), options.pretrain_config).initializer_range;
      own_overrides = {fmt::format("backbone_weights=\"{}\"", options.own_weights),
                       fmt::format("initializer_range={}", number_argument(range))};
    }
    for (const auto& member : quick_members) {
      Member copy = member;
      for (const auto& assignment : own_overrides) {
        train::apply_override(copy.config, assignment);
        copy.overrides.push_back(assignment);
      }
      members.push_back(std::move(copy));
      origins.push_back(Origin::own_pretrained);
    }
  }

  const auto baseline = baseline_scores(options, out / "baseline.json");
  QuickstartResult result;
  if (options.ablation) {
    const auto random_init_dir = fs::absolute(out / "random-init");
    ensure_random_init_backbone(preset, out / "vocab", random_init_dir);
    for (const auto& member : quick_members) {
      Member copy = member;
      copy.name += "-random-init";
      for (const auto& assignment : {std::string("random_init=true"),
                                     fmt::format("backbone=\"{}\"", random_init_dir.string())}) {
        train::apply_override(copy.config, assignment);
        copy.overrides.push_back(assignment);
      }
      copy.run_dir = out / "runs" / copy.name;
      members.push_back(std::move(copy));
      origins.push_back(Origin::random_init);
    }
  }

  std::map<std::string, MemberOutcome> outcomes;
  if (!options.program.empty() && options.parallel_jobs >= 2) {
    result.pretraining = pretrain_and_fine_tune_in_children(
        options, members, origins, out / "vocab", pretrained_dir, outcomes);
  } else {
    if (options.pretrain)
      result.pretraining = ensure_pretrained(options, out / "vocab", pretrained_dir);
    spdlog::info("quickstart: {:.1f} of {:g} minutes used before fine-tuning", minutes_since(start),
                 options.budget_minutes);
    spdlog::info("quickstart 4/6: fine-tuning {} members", members.size());
    outcomes = train_members(members, options.data_dir, options.hooks);
  }
  spdlog::info("quickstart: {:.1f} of {:g} minutes used when fine-tuning ended",
               minutes_since(start), options.budget_minutes);

  PipelineSpec spec;
  spec.paper_dev = paper.paper_dev;
  const auto* paper_track1 = find_system(paper, "track1");
  const auto* paper_track2 = find_system(paper, "ensemble-1");
  // As in the paper's final systems, a track's ensemble spans every recipe that predicts its
  // targets (Track I empathy: the multi-task and the vanilla empathy models), all seeds each.
  // The paper's numbers go beside the first origin's systems (the real encoder's when present).
  bool paper_shown = false;
  for (const auto origin : {Origin::encoder, Origin::own_pretrained, Origin::random_init}) {
    std::vector<Member> group;
    for (std::size_t i = 0; i < members.size(); ++i)
      if (origins[i] == origin) group.push_back(members[i]);
    if (group.empty()) continue;
    const std::string suffix = origin == Origin::encoder       ? "-" + encoder_name
                               : origin == Origin::random_init ? std::string("-random-init")
                                                               : std::string();
    const std::string from = origin == Origin::encoder ? fmt::format("pretrained {}", encoder_name)
                             : origin == Origin::random_init
                                 ? std::string("random init")
                                 : std::string("own pre-trained ELECTRA");
    const bool with_paper = !paper_shown;
    paper_shown = true;
    std::vector<std::string> track1_parts;
    SystemSpec track1;
    track1.empathy = seeds_of_members(group, model::Task::empathy, track1_parts);
    track1.distress = seeds_of_members(group, model::Task::distress, track1_parts);
    if (!track1.empathy.empty() && !track1.distress.empty()) {
      track1.name = "track1" + suffix;
      track1.title = fmt::format("Track I: mean of {} ({})", fmt::join(track1_parts, ", "), from);
      track1.submit = true;  // of several, the best on dev
      if (paper_track1 && with_paper) track1.paper_test = paper_track1->paper_test;
      spec.systems.push_back(std::move(track1));
    }
    std::vector<std::string> track2_parts;
    SystemSpec track2;
    track2.emotion = seeds_of_members(group, model::Task::emotion, track2_parts);
    if (!track2.emotion.empty()) {
      track2.name = "track2" + suffix;
      track2.title =
          fmt::format("Track II: prob-sum of {} ({})", fmt::join(track2_parts, ", "), from);
      track2.submit = true;
      if (paper_track2 && with_paper) {
        track2.paper_dev = paper_track2->paper_dev;
        track2.paper_test = paper_track2->paper_test;
      }
      spec.systems.push_back(std::move(track2));
    }
  }

  spdlog::info("quickstart 5/6: {} systems", spec.systems.size());
  result.pipeline = build_pipeline(members, outcomes, spec, options);

  const auto stacked = build_linear_and_stacked(options, members, result.pipeline);

  // Systems first (the headline), then members, then the baseline of this run.
  for (const auto& row : result.pipeline.comparison)
    if (find_system(spec, row.name)) result.table.push_back(row);
  add_stacked_rows(stacked, result);
  for (const auto& row : result.pipeline.comparison)
    if (!find_system(spec, row.name)) result.table.push_back(row);
  ComparisonRow baseline_row;
  baseline_row.name = "tfidf-baseline";
  baseline_row.status = "TF-IDF + ridge / logistic regression, this run";
  baseline_row.ours_dev = baseline;
  result.table.push_back(baseline_row);

  const auto pre = result.pretraining;
  const auto last_log = pre.contains("last_log") && pre.at("last_log").is_object()
                            ? pre.at("last_log")
                            : json::object();
  std::vector<std::string> submitted = stacked.submitted;
  for (const auto& system : result.pipeline.systems)
    if (system.submitted) submitted.push_back(system.name);
  const std::string pretraining =
      options.pretrain
          ? fmt::format(
                "Own pre-training: {} steps of {} ({}), last losses MLM {:.3f} / RTD {:.3f}.",
                pre.value("steps_done", 0), options.pretrain_config,
                pre.value("stopped_by_budget", false) ? "stopped by its budget" : "finished",
                last_log.value("mlm_loss", 0.0), last_log.value("rtd_loss", 0.0))
          : std::string(
                "Own pre-training: not run (a pretrained encoder is given; --pretrain "
                "runs it as well).");
  const std::string encoder =
      options.encoder_dir.empty()
          ? std::string()
          : fmt::format(" Pretrained encoder: {}.",
                        fs::absolute(options.encoder_dir).lexically_normal().string());
  std::size_t origin_count = 0;
  for (const auto origin : {Origin::encoder, Origin::own_pretrained, Origin::random_init})
    origin_count += std::find(origins.begin(), origins.end(), origin) != origins.end() ? 1 : 0;
  std::string text = fmt::format(
      "# emotune quickstart\n\nBudget {:g} minutes, used {:.1f}.{} {}\n\nSubmitted "
      "(OUT/submission/): {}{}.\n\n",
      options.budget_minutes, minutes_since(start), encoder, pretraining,
      submitted.empty() ? "nothing" : fmt::format("{}", fmt::join(submitted, ", ")),
      origin_count > 1 ? ", per track the best on dev of the systems of each origin" : "");
  text += format_comparison_markdown(result.table);
  result.table_file = out / "quickstart.md";
  write_file_atomic(result.table_file, text);
  return result;
}

}  // namespace emotune::pipeline
