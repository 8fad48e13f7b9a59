#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/version.h"
#include "data/person.h"
#include "io/run_files.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "runtime/autocast.h"
#include "runtime/device.h"
#include "text/tokenizer.h"
#include "train/batcher.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/run_dir.h"
#include "train/scoring.h"

namespace emotune::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Where training stands; stored in last/state.json so a resumed run continues exactly here.
struct Progress {
  std::int64_t step = 0;            // optimizer steps taken
  std::int64_t epoch = 0;           // current epoch (0-based)
  std::int64_t batch_in_epoch = 0;  // batches of `epoch` already trained
  double best_score = -std::numeric_limits<double>::infinity();
  json best_metrics;  // the metrics line of the best evaluation so far
  json last_metrics;
  std::int64_t metrics_lines = 0;  // lines of metrics.jsonl that belong to this state
  double loss_sum = 0.0;           // training loss since the last evaluation
  std::int64_t loss_count = 0;
  bool finished = false;
  // Rows per optimizer step (per-rank batch × ranks): batch positions count these, so a run
  // resumes only with the same global batch. 0 in snapshots older than data parallelism.
  std::int64_t global_batch = 0;
};

json to_json(const Progress& p) {
  return json{{"step", p.step},
              {"epoch", p.epoch},
              {"batch_in_epoch", p.batch_in_epoch},
              {"best_score", std::isfinite(p.best_score) ? json(p.best_score) : json(nullptr)},
              {"best_metrics", p.best_metrics},
              {"last_metrics", p.last_metrics},
              {"metrics_lines", p.metrics_lines},
              {"loss_sum", p.loss_sum},
              {"loss_count", p.loss_count},
              {"finished", p.finished},
              {"global_batch", p.global_batch}};
}

Progress progress_from_json(const json& j) {
  Progress p;
  p.step = j.at("step").get<std::int64_t>();
  p.epoch = j.at("epoch").get<std::int64_t>();
  p.batch_in_epoch = j.at("batch_in_epoch").get<std::int64_t>();
  if (!j.at("best_score").is_null()) p.best_score = j.at("best_score").get<double>();
  p.best_metrics = j.at("best_metrics");
  p.last_metrics = j.at("last_metrics");
  p.metrics_lines = j.at("metrics_lines").get<std::int64_t>();
  p.loss_sum = j.at("loss_sum").get<double>();
  p.loss_count = j.at("loss_count").get<std::int64_t>();
  p.finished = j.at("finished").get<bool>();
  p.global_batch = j.value("global_batch", std::int64_t{0});
  return p;
}

double hidden_dropout_of(const fs::path& backbone) {
  const auto config = read_json(backbone / "config.json");
  return config.value("hidden_dropout_prob", 0.1);
}

// The backbone as `config` asks: its weights, a fresh draw, or a fresh draw starting from its
// word embeddings.
std::shared_ptr<model::Encoder> make_encoder(const TrainConfig& config, const fs::path& backbone) {
  if (!config.random_init && config.backbone_weights == "all") return model::load_encoder(backbone);
  const auto hf_config = io::load_hf_config(backbone / "config.json");
  model::EncoderOptions options;
  options.initializer_range = config.initializer_range.value_or(hf_config.initializer_range);
  auto encoder = model::create_encoder(hf_config, options);
  if (config.backbone_weights == "word_embeddings")
    model::start_from_word_embeddings(*encoder, backbone, *options.initializer_range);
  return encoder;
}

double learning_rate_at(const TrainConfig& config, std::int64_t step, std::int64_t total_steps) {
  if (config.lr_schedule != "linear") return config.learning_rate;
  // HF get_linear_schedule_with_warmup: step counts optimizer steps taken before this one, so
  // the first step has lr 0 (parity with the reference; pre-training's schedule counts step + 1
  // instead, electra_objective.cc says why).
  const auto warmup = static_cast<std::int64_t>(std::llround(config.warmup_ratio * total_steps));
  if (step < warmup)
    return config.learning_rate * static_cast<double>(step) / std::max<std::int64_t>(1, warmup);
  return config.learning_rate *
         std::max(0.0, static_cast<double>(total_steps - step) /
                           static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup)));
}

std::vector<EncodedExample> encode_all(const text::Tokenizer& tokenizer,
                                       const std::vector<Example>& examples,
                                       std::int64_t max_length) {
  std::vector<EncodedExample> encoded(examples.size());
  for (std::size_t i = 0; i < examples.size(); ++i) {
    encoded[i].input_ids =
        tokenizer.encode(examples[i].text, static_cast<std::size_t>(max_length)).input_ids;
    encoded[i].source_index = i;
  }
  return encoded;
}

// head_bias_init = train_targets: each bias set to the output that best fits the training
// targets with no input (mean for regression, log class share for emotion, add-one smoothed).
void init_head_biases_from_targets(model::TaskModel& task_model,
                                   const std::vector<Example>& train) {
  torch::NoGradGuard no_grad;
  for (const auto task : task_model->tasks()) {
    auto& bias = task_model->head(task)->bias;
    if (model::is_regression(task)) {
      double sum = 0.0;
      std::size_t count = 0;
      for (const auto& example : train) {
        const auto& value = task == model::Task::empathy ? example.empathy : example.distress;
        if (value) {
          sum += *value;
          ++count;
        }
      }
      if (count > 0) bias.fill_(sum / static_cast<double>(count));
    } else {
      std::vector<double> counts(model::emotion_labels().size(), 1.0);
      for (const auto& example : train) {
        if (example.emotion) counts.at(static_cast<std::size_t>(*example.emotion)) += 1.0;
      }
      double total = 0.0;
      for (const auto count : counts) total += count;
      for (std::size_t label = 0; label < counts.size(); ++label) {
        bias[static_cast<std::int64_t>(label)].fill_(std::log(counts[label] / total));
      }
    }
  }
}

struct Evaluation {
  std::map<std::string, double> scores;
  double loss = 0.0;
};

Evaluation evaluate(model::TaskModel& task_model, const std::vector<EncodedExample>& encoded,
                    const std::vector<Example>& examples, const TrainConfig& config,
                    std::int64_t pad_id, const c10::Device& device) {
  torch::NoGradGuard no_grad;
  task_model->eval();
  DevPredictions predictions;
  double loss_sum = 0.0;
  std::size_t rows = 0;
  const auto batch_size = static_cast<std::size_t>(config.batch_size);
  for (std::size_t start = 0; start < encoded.size(); start += batch_size) {
    std::vector<std::size_t> chosen;
    for (std::size_t i = start; i < std::min(encoded.size(), start + batch_size); ++i)
      chosen.push_back(i);
    auto batch = collate(chosen, encoded, examples, config.tasks, pad_id);
    model::TaskTargets targets;
    for (auto& [task, target] : batch.targets) targets[task] = target.to(device);
    const auto outputs =
        task_model->forward(batch.input_ids.to(device), batch.attention_mask.to(device),
                            batch.token_type_ids.to(device),
                            batch.person.defined() ? batch.person.to(device) : batch.person);
    loss_sum += model::task_loss(outputs, targets, config.loss_weights).item<double>() *
                static_cast<double>(chosen.size());
    rows += chosen.size();
    for (const auto& [task, output] : outputs) {
      const auto cpu = output.to(torch::kCPU, torch::kFloat64);
      if (model::is_regression(task)) {
        auto& predicted = predictions.regression_predicted[task];
        auto& gold = predictions.regression_gold[task];
        const auto target = batch.targets.at(task).to(torch::kFloat64);
        for (std::int64_t i = 0; i < cpu.size(0); ++i) {
          predicted.push_back(cpu[i].item<double>());
          gold.push_back(target[i].item<double>());
        }
      } else {
        const auto argmax = cpu.argmax(1);
        const auto& target = batch.targets.at(task);
        for (std::int64_t i = 0; i < cpu.size(0); ++i) {
          predictions.emotion_predicted.push_back(static_cast<int>(argmax[i].item<std::int64_t>()));
          predictions.emotion_gold.push_back(static_cast<int>(target[i].item<std::int64_t>()));
        }
      }
    }
  }
  task_model->train();
  Evaluation evaluation;
  evaluation.scores = score_dev(predictions);
  evaluation.loss = rows ? loss_sum / static_cast<double>(rows) : 0.0;
  return evaluation;
}

void write_best(const fs::path& folder, model::TaskModel& task_model, const TrainConfig& config,
                const std::optional<data::PersonEncoder>& person, const json& metrics,
                std::int64_t seed) {
  const auto backbone = config.backbone_dir();
  write_folder_atomic(folder, [&](const fs::path& dir) {
    fs::copy_file(backbone / "config.json", dir / "config.json");
    copy_tokenizer_files(backbone, dir);
    std::map<std::string, torch::Tensor> tensors;
    for (auto& [name, tensor] : task_model->export_tensors()) {
      tensors.emplace(name, tensor.detach().to(torch::kCPU, torch::kFloat32));
    }
    model::save_tensors(dir / "model.safetensors", tensors);
    if (person) person->save(dir / data::kPersonStandardizationFile);
    io::ModelManifest manifest;
    manifest.model_type = task_model->encoder().model_type();
    manifest.tasks = config.tasks;
    manifest.max_length = config.max_length;
    json heads = json::object();
    for (const auto task : config.tasks) {
      heads[task_name(task)] = {{"weight", "heads." + task_name(task) + ".weight"},
                                {"bias", "heads." + task_name(task) + ".bias"},
                                {"outputs", task_output_size(task)},
                                {"kind", is_regression(task) ? "regression" : "classification"}};
    }
    manifest.details = {{"emotune_version", kVersion},
                        {"weight_prefix", task_model->encoder().weight_prefix()},
                        {"heads", heads},
                        {"head_input", "last_hidden_state[:, 0] (first token, no pooler)"},
                        {"emotion_labels", model::emotion_labels()},
                        {"seed", seed},
                        {"dev_metrics", metrics}};
    if (person) {
      manifest.inputs = {"text", "person"};
      manifest.details["head_input"] =
          "concat(last_hidden_state[:, 0] (first token, no pooler), person vector)";
      manifest.person = io::PersonInputInfo{static_cast<std::int64_t>(person->dimension()),
                                            data::PersonEncoder::feature_names(),
                                            std::string(data::kPersonStandardizationFile)};
    }
    manifest.write(dir);
  });
}

void write_last(const fs::path& folder, model::TaskModel& task_model, const AdamW& optimizer,
                const Progress& progress, std::int64_t seed) {
  write_folder_atomic(folder, [&](const fs::path& dir) {
    std::map<std::string, torch::Tensor> weights;
    for (auto& [name, tensor] : task_model->export_tensors())
      weights.emplace(name, tensor.detach());
    model::save_tensors(dir / "model.safetensors", weights);
    model::save_tensors(dir / "optimizer.safetensors", optimizer.state_tensors());
    auto state = to_json(progress);
    state["seed"] = seed;
    // Batch order and dropout masks are functions of (seed, epoch, step), so these numbers are
    // the whole random state.
    state["rng"] = {{"shuffle", "mt19937_64(seed, epoch) Fisher-Yates"},
                    {"torch", "manual_seed(seed, step) before each step"}};
    write_json(dir / "state.json", state);
  });
}

// What one seed's training loop works on, set up once by train_seed.
struct SeedRun {
  const TrainConfig& config;
  const TrainingData& data;
  std::int64_t seed;
  fs::path seed_dir;
  DataParallel& parallel;
  torch::Device device;
  torch::ScalarType dtype;
  runtime::MixedPrecision mixed_precision;
  std::int64_t pad_id;
  const std::vector<EncodedExample>& train_encoded;
  const std::vector<EncodedExample>& dev_encoded;
  model::TaskModel& task_model;
  AdamW& optimizer;
  const std::vector<torch::Tensor>& parameters;
  std::int64_t total_steps;
};

// One optimizer step on this rank's slice of `global_batch` (row indices into the training
// examples); returns the batch's loss averaged over every rank.
double train_step(const SeedRun& run, const std::vector<std::size_t>& global_batch,
                  std::int64_t step) {
  const auto& config = run.config;
  const int rank = run.parallel.rank();
  const auto shard = local_shard(global_batch, rank, run.parallel.world_size());
  // Each rank draws its own dropout masks; rank 0's are those of a single process.
  torch::manual_seed(step_seed(run.seed, step) +
                     static_cast<std::uint64_t>(rank) * 0x9E3779B97F4A7C15ULL);
  auto batch = collate(shard.chosen, run.train_encoded, run.data.train, config.tasks, run.pad_id);
  model::TaskTargets targets;
  for (auto& [task, target] : batch.targets) {
    targets[task] =
        model::is_regression(task) ? target.to(run.device, run.dtype) : target.to(run.device);
  }
  run.optimizer.zero_grad();
  const auto outputs = model::training_forward(
      run.task_model, run.mixed_precision, run.dtype, batch.input_ids.to(run.device),
      batch.attention_mask.to(run.device), batch.token_type_ids.to(run.device),
      batch.person.defined() ? batch.person.to(run.device, run.dtype) : batch.person);
  const auto loss = model::task_loss(outputs, targets, config.loss_weights);
  loss.backward();
  const double loss_value =
      run.parallel.average_gradients(run.parameters, loss.item<double>(), shard.rows,
                                     static_cast<std::int64_t>(global_batch.size()), step + 1);
  if (config.max_grad_norm > 0) {
    torch::nn::utils::clip_grad_norm_(run.task_model->parameters(), config.max_grad_norm);
  }
  run.optimizer.step(learning_rate_at(config, step, run.total_steps));
  if (!std::isfinite(loss_value)) {
    throw Error(fmt::format("seed {}: the training loss became {} at step {}; lower learning_rate",
                            run.seed, loss_value, step + 1));
  }
  return loss_value;
}

// Rank 0 at an evaluation point: scores dev, appends the metrics line, writes best/ when the
// selection score improved and last/ always (the state a resume continues from).
void evaluate_and_snapshot(const SeedRun& run, Progress& progress, double epochs_done) {
  const auto& config = run.config;
  const auto selection = config.resolved_selection_metric();
  const auto evaluation =
      evaluate(run.task_model, run.dev_encoded, run.data.dev, config, run.pad_id, run.device);
  json line{{"seed", run.seed},
            {"step", progress.step},
            {"epoch", epochs_done},
            {"train_loss", progress.loss_sum /
                               static_cast<double>(std::max<std::int64_t>(1, progress.loss_count))},
            {"dev_loss", evaluation.loss}};
  for (const auto& [name, value] : evaluation.scores) line[name] = value;
  const auto score = evaluation.scores.find(selection);
  if (score == evaluation.scores.end()) throw Error("no dev score named " + selection);
  line["selection_metric"] = selection;
  line["score"] = score->second;
  line["is_best"] = score->second > progress.best_score;
  progress.loss_sum = 0.0;
  progress.loss_count = 0;
  append_line(run.seed_dir / "metrics.jsonl", line.dump());
  ++progress.metrics_lines;
  progress.last_metrics = line;
  spdlog::info("seed {} step {} epoch {:.2f}: dev {} = {:.4f}{}", run.seed, progress.step,
               epochs_done, selection, score->second, line["is_best"].get<bool>() ? " (best)" : "");
  if (line["is_best"].get<bool>()) {
    progress.best_score = score->second;
    progress.best_metrics = line;
    write_best(run.seed_dir / "best", run.task_model, config, run.data.person_encoder, line,
               run.seed);
  }
  write_last(run.seed_dir / "last", run.task_model, run.optimizer, progress, run.seed);
}

}  // namespace

json train_seed(const TrainConfig& config, const TrainingData& data, std::int64_t seed,
                const fs::path& seed_dir, const TrainHooks& hooks) {
  DataParallel single_process;
  DataParallel& parallel = hooks.parallel ? *hooks.parallel : single_process;
  const bool coordinator = parallel.is_coordinator();
  if (coordinator) fs::create_directories(seed_dir);
  const auto backbone = config.backbone_dir();
  const auto device = runtime::parse_device(config.device);
  const auto dtype = runtime::parse_dtype(config.dtype);
  const auto mixed_precision = runtime::usable_mixed_precision(config.mixed_precision, device);
  if (coordinator && mixed_precision != runtime::MixedPrecision::none) {
    spdlog::info(
        "seed {}: mixed precision {} (products in bfloat16; weights, gradients and "
        "AdamW in float32)",
        seed, runtime::to_string(mixed_precision));
  }
  const auto tokenizer = text::load_tokenizer(backbone);
  const auto pad_id = tokenizer->special_ids().pad;
  const auto train_encoded = encode_all(*tokenizer, data.train, config.max_length);
  const auto dev_encoded = encode_all(*tokenizer, data.dev, config.max_length);
  if (train_encoded.empty()) throw Error("no training examples");

  torch::manual_seed(static_cast<std::uint64_t>(seed));
  auto encoder = make_encoder(config, backbone);
  if (config.attention_scale != 1.0) model::scale_attention_logits(*encoder, config.attention_scale);
  if (config.reads_person() != data.person_encoder.has_value()) {
    throw Error(
        "training data and config disagree on the person input (load_training_data "
        "with this config)");
  }
  const auto person_dimension =
      data.person_encoder ? static_cast<std::int64_t>(data.person_encoder->dimension()) : 0;
  model::TaskModel task_model(encoder, config.tasks,
                              config.head_dropout.value_or(hidden_dropout_of(backbone)),
                              person_dimension);
  if (config.head_bias_init == "train_targets")
    init_head_biases_from_targets(task_model, data.train);
  task_model->to(device, dtype);
  task_model->train();
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : task_model->named_parameters(true))
    named.emplace_back(item.key(), item.value());
  AdamW optimizer(named, AdamWOptions{config.learning_rate, config.adam_beta1, config.adam_beta2,
                                      config.adam_eps, config.weight_decay});
  const auto parameters = task_model->parameters();

  const auto batch_size =
      static_cast<std::size_t>(config.batch_size) * static_cast<std::size_t>(parallel.world_size());
  const auto steps_per_epoch =
      static_cast<std::int64_t>((train_encoded.size() + batch_size - 1) / batch_size);
  std::int64_t total_steps = steps_per_epoch * config.epochs;
  if (config.max_steps > 0) total_steps = std::min(total_steps, config.max_steps);

  const auto metrics_file = seed_dir / "metrics.jsonl";
  const auto last_dir = seed_dir / "last";
  Progress progress;
  const auto snapshot = coordinator ? existing_snapshot(last_dir) : fs::path();
  if (!snapshot.empty()) {
    progress = progress_from_json(read_json(snapshot / "state.json"));
    task_model->import_tensors(model::load_tensors(snapshot / "model.safetensors"),
                               (snapshot / "model.safetensors").string());
    optimizer.load_state_tensors(model::load_tensors(snapshot / "optimizer.safetensors"),
                                 (snapshot / "optimizer.safetensors").string());
    spdlog::info("seed {}: resuming at step {} (epoch {}, batch {})", seed, progress.step,
                 progress.epoch + 1, progress.batch_in_epoch);
    if (!progress.finished && progress.global_batch != 0 &&
        progress.global_batch != static_cast<std::int64_t>(batch_size)) {
      throw error_in(snapshot, fmt::format("the snapshot was trained with a global batch of {} "
                                           "rows per step, this run has {} (batch_size {} × {} "
                                           "processes); resume with the same product",
                                           progress.global_batch, batch_size, config.batch_size,
                                           parallel.world_size()));
    }
  }
  progress.global_batch = static_cast<std::int64_t>(batch_size);
  if (hooks.parallel) {
    // Every rank starts from rank 0's weights, optimizer state and position, as DDP does.
    std::vector<torch::Tensor> state(parameters.begin(), parameters.end());
    auto optimizer_state = optimizer.state_tensors();
    for (auto& [name, tensor] : optimizer_state) state.push_back(tensor);
    std::string document = to_json(progress).dump();
    parallel.broadcast_from_coordinator(state, document);
    if (!coordinator) {
      progress = progress_from_json(json::parse(document));
      optimizer.load_state_tensors(optimizer_state, "rank 0's optimizer state");
    }
    spdlog::info(
        "seed {}: data-parallel over {} processes, per-process batch {}, effective "
        "batch {} ({} steps per epoch)",
        seed, parallel.world_size(), config.batch_size, batch_size, steps_per_epoch);
  }
  if (coordinator) keep_first_lines(metrics_file, progress.metrics_lines);

  const SeedRun run{config,    data,          seed,        seed_dir,
                    parallel,  device,        dtype,       mixed_precision,
                    pad_id,    train_encoded, dev_encoded, task_model,
                    optimizer, parameters,    total_steps};
  ProgressReporter reporter(hooks.progress, total_steps, progress.step);
  // Time in training steps alone (batch building to optimizer update, no evaluation or
  // snapshots), for throughput comparisons (bench/minilm_speed.sh); only logged.
  double step_seconds = 0.0;
  std::int64_t rows_trained = 0;
  // An epoch's batches follow from (seed, epoch) alone: built once per epoch.
  std::vector<std::vector<std::size_t>> batches;
  std::int64_t batches_epoch = -1;
  while (!progress.finished) {
    const auto step_start = std::chrono::steady_clock::now();
    if (batches_epoch != progress.epoch) {
      const auto order = epoch_order(train_encoded.size(), static_cast<std::uint64_t>(seed),
                                     static_cast<std::uint64_t>(progress.epoch));
      batches = make_batches(order, batch_size, train_encoded, config.length_bucketing,
                             static_cast<std::uint64_t>(seed),
                             static_cast<std::uint64_t>(progress.epoch));
      batches_epoch = progress.epoch;
    }
    const auto& global_batch = batches.at(static_cast<std::size_t>(progress.batch_in_epoch));
    const double loss_value = train_step(run, global_batch, progress.step);
    step_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    rows_trained += static_cast<std::int64_t>(global_batch.size());
    ++progress.step;
    progress.loss_sum += loss_value;
    ++progress.loss_count;
    ++progress.batch_in_epoch;
    reporter.update(progress.step, progress.epoch, loss_value);
    if (hooks.crash_after_step > 0 && progress.step == hooks.crash_after_step) {
      reporter.break_line();
      throw SimulatedCrash();
    }

    const bool epoch_done = progress.batch_in_epoch == static_cast<std::int64_t>(batches.size());
    const bool all_done = progress.step >= total_steps;
    const bool periodic =
        config.eval_every_steps > 0 && progress.step % config.eval_every_steps == 0;
    const double epochs_done =
        static_cast<double>(progress.epoch) +
        static_cast<double>(progress.batch_in_epoch) / static_cast<double>(batches.size());
    if (epoch_done) {
      ++progress.epoch;
      progress.batch_in_epoch = 0;
    }
    if (!(epoch_done || all_done || periodic)) continue;

    reporter.break_line();
    progress.finished = all_done;
    if (coordinator) {
      evaluate_and_snapshot(run, progress, epochs_done);
    } else {
      progress.loss_sum = 0.0;
      progress.loss_count = 0;
    }
    parallel.wait_for_coordinator();
  }
  if (rows_trained > 0 && step_seconds > 0) {
    spdlog::info("seed {}: {} rows in {:.2f} s of training steps ({:.2f} essays/s)", seed,
                 rows_trained, step_seconds, static_cast<double>(rows_trained) / step_seconds);
  }
  return json{{"seed", seed}, {"best", progress.best_metrics}, {"last", progress.last_metrics}};
}

TrainConfig resolve_config(TrainConfig config, const fs::path& data_dir) {
  config.backbone = fs::absolute(config.backbone_dir()).string();
  config.models_root.clear();
  config.data = fs::absolute(data_dir).string();
  return config;
}

TrainConfig load_run_config(const fs::path& run_dir) {
  const auto file = run_dir / "config.toml";
  if (!fs::exists(file)) throw error_in(file, "not a run folder: config.toml is missing");
  return load_config(file);
}

json run_training(TrainConfig config, const fs::path& data_dir, const fs::path& run_dir,
                  bool resume, const TrainHooks& hooks) {
  validate(config);
  const auto backbone = config.backbone_dir();
  if (!fs::is_regular_file(backbone / "config.json")) {
    throw error_in(backbone, "backbone folder has no config.json");
  }
  // Everything that can fail on user input fails here, before the first step.
  (void)text::load_tokenizer(backbone);
  (void)make_encoder(config, backbone);
  // "auto" becomes what this machine takes, so the run's config.toml records it.
  config.mixed_precision = runtime::to_string(runtime::usable_mixed_precision(
      config.mixed_precision, runtime::parse_device(config.device)));
  runtime::parse_dtype(config.dtype);
  config = resolve_config(std::move(config), data_dir);
  const auto first_data =
      load_training_data(data_dir, config, static_cast<std::uint64_t>(config.seeds.front()));
  const bool coordinator = !hooks.parallel || hooks.parallel->is_coordinator();
  if (!coordinator) {
    for (const auto seed : config.seeds) {
      const auto data =
          config.augment == "none"
              ? first_data
              : load_training_data(data_dir, config, static_cast<std::uint64_t>(seed));
      train_seed(config, data, seed, run_dir / fmt::format("seed-{}", seed), hooks);
    }
    return json();
  }

  fs::create_directories(run_dir);
  if (!resume && io::RunSummary::present_in(run_dir)) {
    throw error_in(run_dir, "already holds a finished run; use --resume or another --out");
  }
  write_file_atomic(run_dir / "config.toml", to_toml(config));
  json data_digests = json::object();
  for (const auto& file : first_data.files)
    data_digests[file.filename().string()] = sha256_file(file);
  write_json(
      run_dir / "fingerprints.json",
      json{{"emotune_version", kVersion},
           {"backbone", {{"folder", config.backbone}, {"files", fingerprint_folder(backbone)}}},
           {"data", {{"folder", config.data}, {"files", data_digests}}}});

  json seeds = json::array();
  for (const auto seed : config.seeds) {
    const auto data = config.augment == "none"
                          ? first_data
                          : load_training_data(data_dir, config, static_cast<std::uint64_t>(seed));
    seeds.push_back(train_seed(config, data, seed, run_dir / fmt::format("seed-{}", seed), hooks));
  }

  auto summary =
      io::RunSummary::of_seeds(config.resolved_selection_metric(), std::move(seeds), run_dir);
  summary.details["emotune_version"] = kVersion;
  summary.write(run_dir);
  return summary.to_json();
}

std::string format_summary(const json& summary) {
  std::vector<std::string> columns;
  for (const auto& [name, value] : summary.at("statistics").items()) {
    if (name != "train_loss" && name != "dev_loss") columns.push_back(name);
  }
  std::string out = fmt::format("{:<10}{:>8}", "seed", "step");
  for (const auto& name : columns) out += fmt::format("{:>18}", name);
  out += "\n";
  const auto best_seed = summary.at("best_seed").get<std::int64_t>();
  for (const auto& entry : summary.at("seeds")) {
    const auto seed = entry.at("seed").get<std::int64_t>();
    out += fmt::format("{:<10}{:>8}", fmt::format("{}{}", seed, seed == best_seed ? " *" : ""),
                       entry.at("best").at("step").get<std::int64_t>());
    for (const auto& name : columns) {
      const auto& best = entry.at("best");
      out += best.contains(name) ? fmt::format("{:>18.4f}", best.at(name).get<double>())
                                 : fmt::format("{:>18}", "-");
    }
    out += "\n";
  }
  const auto& statistics = summary.at("statistics");
  out += fmt::format("{:<18}", "mean ± std");
  for (const auto& name : columns) {
    out += fmt::format("{:>18}",
                       fmt::format("{:.4f} ± {:.4f}", statistics.at(name).at("mean").get<double>(),
                                   statistics.at(name).at("std").get<double>()));
  }
  out += fmt::format("\n{:<18}", "min / max");
  for (const auto& name : columns) {
    out += fmt::format("{:>18}",
                       fmt::format("{:.4f} / {:.4f}", statistics.at(name).at("min").get<double>(),
                                   statistics.at(name).at("max").get<double>()));
  }
  out += fmt::format("\n* best seed by dev {}: {}\n",
                     summary.at("selection_metric").get<std::string>(),
                     summary.at("best_model").get<std::string>());
  return out;
}

}  // namespace emotune::train
