#include "predict/run_predictor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <numeric>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "io/run_files.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/device.h"
#include "runtime/threads.h"
#include "text/tokenizer.h"

namespace emotune::predict {

namespace fs = std::filesystem;
using nlohmann::json;

Precision parse_precision(const std::string& name) {
  return model::parse_inference_precision(name);
}

std::string precision_name(Precision precision) {
  return model::inference_precision_name(precision);
}

Kernels parse_kernels(const std::string& name) {
  if (name == "fast") return Kernels::fast;
  if (name == "reference") return Kernels::reference;
  throw Error(fmt::format("kernels: expected fast or reference, got '{}'", name));
}

std::string kernels_name(Kernels kernels) {
  return kernels == Kernels::fast ? "fast" : "reference";
}

ModelInputs read_model_inputs(const fs::path& folder, const io::ModelManifest& manifest) {
  ModelInputs inputs;
  inputs.names = manifest.inputs;
  if (!manifest.reads_person()) return inputs;
  const auto file = folder / data::kPersonStandardizationFile;
  if (!fs::is_regular_file(file)) {
    throw Error(fmt::format("{}: the model reads person features, but {} (the train statistics "
                            "they are standardized with) is missing",
                            folder.string(), data::kPersonStandardizationFile));
  }
  inputs.person = data::PersonEncoder::load(file);
  if (manifest.person && manifest.person->dimension != inputs.person_dimension()) {
    throw Error(fmt::format("{}: key 'person.dimension': {} does not match the person "
                            "encoder's {} values",
                            (folder / io::kManifestFileName).string(),
                            manifest.person->dimension, inputs.person_dimension()));
  }
  return inputs;
}

torch::Tensor person_matrix(const data::PersonEncoder& encoder,
                            const std::vector<EssayInput>& essays,
                            const std::vector<std::size_t>& rows) {
  const auto width = static_cast<std::int64_t>(encoder.dimension());
  auto out = torch::empty({static_cast<std::int64_t>(rows.size()), width}, torch::kFloat32);
  auto values = out.accessor<float, 2>();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& essay = essays.at(rows[r]);
    const auto where = fmt::format("essay {}", rows[r] + 1);
    if (!essay.person) {
      throw Error(fmt::format("{}: key \"person\" is missing; this model reads person features "
                              "({})",
                              where, fmt::join(data::kPersonColumns, ", ")));
    }
    const auto vector = encoder.encode(*essay.person, where);
    for (std::int64_t c = 0; c < width; ++c)
      values[static_cast<std::int64_t>(r)][c] =
          static_cast<float>(vector[static_cast<std::size_t>(c)]);
  }
  return out;
}

struct RunPredictor::State : TrainedModel {
  RunPredictorOptions options;
  std::unique_ptr<text::Tokenizer> tokenizer;
  torch::Device device{torch::kCPU};
  std::optional<model::InferenceEncoder> fast;  // set when the fast kernels run
};

TrainedModel load_trained_model(const fs::path& dir) {
  TrainedModel loaded;
  loaded.folder = io::resolve_model_folder(dir);
  const auto& folder = loaded.folder;
  const auto manifest = io::ModelManifest::read(folder);
  if (manifest.kind != io::ModelKind::transformer) {
    throw error_in(folder / io::kManifestFileName,
                   "a linear member's folder, not a transformer's (predict, ensemble and serve "
                   "load it as a linear member)");
  }
  loaded.tasks = manifest.tasks;
  for (const auto task : manifest.tasks) loaded.info.tasks.push_back(task_name(task));
  loaded.info.max_length = static_cast<std::size_t>(manifest.max_length);
  loaded.info.emotion_labels = model::emotion_labels();

  model::EncoderOptions encoder_options;
  encoder_options.hidden_dropout = 0.0;
  encoder_options.attention_dropout = 0.0;
  auto encoder = model::create_encoder(folder / "config.json", encoder_options);
  loaded.info.backbone = encoder->model_type();
  loaded.weights_file = folder / "model.safetensors";
  const auto tensors = model::load_tensors(loaded.weights_file);
  // A backbone published without a pooler was trained without one.
  const auto pooler_prefix = encoder->weight_prefix() + ".pooler";
  const bool saved_pooler = std::any_of(tensors.begin(), tensors.end(), [&](const auto& item) {
    return item.first.rfind(pooler_prefix, 0) == 0;
  });
  if (encoder->has_pooler() && !saved_pooler) encoder->remove_pooler();
  auto inputs = read_model_inputs(folder, manifest);
  loaded.info.inputs = inputs.names;
  loaded.task_model = model::TaskModel(encoder, loaded.tasks, 0.0, inputs.person_dimension());
  loaded.person = std::move(inputs.person);
  loaded.task_model->import_tensors(tensors, loaded.weights_file.string());
  loaded.task_model->eval();
  return loaded;
}

RunPredictor::RunPredictor(const fs::path& dir, const RunPredictorOptions& options)
    : state_(std::make_unique<State>()) {
  state_->options = options;
  if (state_->options.forward_batch == 0) state_->options.forward_batch = 1;
  runtime::configure_threads(options.threads);
  static_cast<TrainedModel&>(*state_) = load_trained_model(dir);
  const auto& folder = state_->folder;
  const auto& weights_file = state_->weights_file;
  state_->device = runtime::parse_device(options.device);
  state_->task_model->to(state_->device);
  bool fast = options.kernels == Kernels::fast;
  if (fast && !model::InferenceEncoder::supports(state_->task_model->encoder())) {
    spdlog::info("{}: no fast kernels for {}; using the reference forward", folder.string(),
                 state_->info.backbone);
    fast = false;
  }
  if (fast) {
    auto fast_options = options.fast_options;
    fast_options.precision = options.precision;
    state_->fast.emplace(state_->task_model->encoder(), fast_options);
  } else if (options.precision == Precision::int8) {
    throw Error(fmt::format("{}: precision int8 needs the fast kernels, which {} lacks",
                            folder.string(), state_->info.backbone));
  } else if (options.precision == Precision::bf16) {
    if (state_->device.is_cpu()) {
      if (const auto refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
          !refusal.empty())
        throw Error(fmt::format("{}: {}", folder.string(), refusal));
    }
    // The heads stay float32: only the encoder's matrix products gain from bf16.
    state_->task_model->encoder().to(torch::kBFloat16);
  }
  state_->tokenizer = text::load_tokenizer(folder);
  const auto special = state_->tokenizer->special_ids();
  if (special.cls < 0 || special.sep < 0 || special.pad < 0) {
    throw Error(fmt::format("{}: the tokenizer lacks a cls, sep or pad token", folder.string()));
  }
  state_->info.version =
      fmt::format("{} ({}, weights sha256 {}, {}, {}, {})", folder.string(), state_->info.backbone,
                  sha256_file(weights_file).substr(0, 12),
                  state_->fast ? state_->fast->arithmetic() : precision_name(options.precision),
                  fast ? "fast kernels" : "reference kernels", state_->device.str());
}

RunPredictor::~RunPredictor() = default;

const ModelInfo& RunPredictor::info() const {
  return state_->info;
}

std::vector<EssayPrediction> RunPredictor::predict(const std::vector<EssayInput>& essays) {
  const auto& tokenizer = *state_->tokenizer;
  const auto special = tokenizer.special_ids();
  const std::size_t body_limit = state_->info.max_length - 2;

  // Every essay's person vector, built (and so checked) before any work: a missing one fails
  // the whole call. The batches take their rows from it.
  torch::Tensor person_vectors;
  if (state_->person) {
    std::vector<std::size_t> all(essays.size());
    std::iota(all.begin(), all.end(), 0);
    person_vectors = person_matrix(*state_->person, essays, all);
  }
  std::vector<EssayPrediction> predictions(essays.size());
  std::vector<std::vector<std::int64_t>> ids(essays.size());
  for (std::size_t i = 0; i < essays.size(); ++i) {
    auto body = tokenizer.encode_without_specials(essays[i].text);
    predictions[i].truncated = body.size() > body_limit;
    if (predictions[i].truncated) body.resize(body_limit);
    ids[i].reserve(body.size() + 2);
    ids[i].push_back(special.cls);
    ids[i].insert(ids[i].end(), body.begin(), body.end());
    ids[i].push_back(special.sep);
    predictions[i].token_count = ids[i].size();
  }

  // Sorting by length keeps padding (wasted work) small within each forward pass.
  std::vector<std::size_t> order(essays.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ids[a].size() < ids[b].size(); });

  auto& task_model = *state_->task_model;
  const auto device = state_->device;
  const auto& labels = emotion_label_names();
  // Writes the predictions of essays order[start, end) (no two batches share an essay).
  const auto run_batch = [&](std::size_t start, std::size_t end) {
    const std::size_t rows = end - start;
    std::size_t longest = 0;
    for (std::size_t k = start; k < end; ++k) longest = std::max(longest, ids[order[k]].size());
    std::vector<std::int64_t> input(rows * longest, special.pad);
    std::vector<std::int64_t> mask(rows * longest, 0);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto& row = ids[order[start + r]];
      std::copy(row.begin(), row.end(), input.begin() + static_cast<std::ptrdiff_t>(r * longest));
      std::fill_n(mask.begin() + static_cast<std::ptrdiff_t>(r * longest), row.size(), 1);
    }
    const auto shape = std::vector<std::int64_t>{static_cast<std::int64_t>(rows),
                                                 static_cast<std::int64_t>(longest)};
    const auto input_ids = torch::from_blob(input.data(), shape, torch::kInt64).to(device);
    const auto attention_mask = torch::from_blob(mask.data(), shape, torch::kInt64).to(device);
    const auto token_types =
        torch::zeros(shape, torch::TensorOptions(torch::kInt64).device(device));

    torch::Tensor first;
    if (state_->fast) {
      first = state_->fast->first_token(input_ids, attention_mask, token_types);
    } else {
      first = task_model.encoder()
                  .forward(input_ids, attention_mask, token_types)
                  .select(1, 0)
                  .to(torch::kFloat32);
    }
    torch::Tensor person;
    if (person_vectors.defined()) {
      const std::vector<std::int64_t> rows_of_batch(
          order.begin() + static_cast<std::ptrdiff_t>(start),
          order.begin() + static_cast<std::ptrdiff_t>(end));
      person = person_vectors.index_select(0, torch::tensor(rows_of_batch)).to(device);
    }
    for (const auto& [task, output] : task_model.head_outputs(first, person)) {
      const auto values = output.to(torch::kCPU, torch::kFloat64).contiguous();
      if (model::is_regression(task)) {
        const auto* data = values.data_ptr<double>();
        for (std::size_t r = 0; r < rows; ++r) {
          auto& prediction = predictions[order[start + r]];
          (task == model::Task::empathy ? prediction.empathy : prediction.distress) = data[r];
        }
      } else {
        const auto probabilities = torch::softmax(values, 1).contiguous();
        const auto* data = probabilities.data_ptr<double>();
        const auto classes = static_cast<std::size_t>(probabilities.size(1));
        if (classes != kEmotionCount) {
          throw Error(
              fmt::format("emotion head gives {} classes, expected {}", classes, kEmotionCount));
        }
        for (std::size_t r = 0; r < rows; ++r) {
          auto& prediction = predictions[order[start + r]];
          std::array<double, kEmotionCount> p{};
          std::copy_n(data + r * classes, classes, p.begin());
          prediction.emotion_probabilities = p;
          prediction.emotion =
              labels[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())];
        }
      }
    }
  };

  const std::size_t batch = state_->options.forward_batch;
  const std::size_t batches = (order.size() + batch - 1) / batch;
  const auto threads = static_cast<std::size_t>(std::max(1, at::get_num_threads()));
  std::size_t workers = state_->options.parallel_batches;
  if (workers == 0) workers = batches >= 2 * threads ? threads : 1;
  workers = std::min({workers, batches, threads});
  // Without a per-thread count every worker would use every thread: one batch at a time then.
  if (workers <= 1 || !device.is_cpu() || !runtime::CallingThreadIntraOpThreads::supported()) {
    c10::InferenceMode inference;
    for (std::size_t b = 0; b < batches; ++b)
      run_batch(b * batch, std::min(order.size(), (b + 1) * batch));
    return predictions;
  }
  // One batch per worker at a time, longest first so the workers finish together; each
  // worker computes on its own thread alone (every operation, oneDNN's and the BLAS's too).
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> failures(workers);
  const auto work = [&](std::size_t worker) {
    try {
      runtime::CallingThreadIntraOpThreads one_thread(1);
      c10::InferenceMode inference;
      for (std::size_t item = next.fetch_add(1); item < batches; item = next.fetch_add(1)) {
        const std::size_t b = batches - 1 - item;
        run_batch(b * batch, std::min(order.size(), (b + 1) * batch));
      }
    } catch (...) {
      failures[worker] = std::current_exception();
      next = batches;  // the others stop after their current batch
    }
  };
  {
    std::vector<std::jthread> threads_of_workers;
    for (std::size_t w = 1; w < workers; ++w) threads_of_workers.emplace_back(work, w);
    work(0);
  }
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  return predictions;
}

}  // namespace emotune::predict
