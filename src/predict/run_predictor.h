#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/person.h"
#include "io/run_files.h"
#include "model/heads.h"
#include "model/inference_encoder.h"
#include "predict/predictor.h"

namespace emotune::predict {

// How the encoder computes: fp32 (reference numerics), bf16, int8 (see
// model/inference_encoder.h).
using Precision = model::InferencePrecision;
Precision parse_precision(const std::string& name);  // "fp32" | "bf16" | "int8"; Error otherwise
std::string precision_name(Precision precision);

// Which implementation of the encoder runs.
enum class Kernels {
  fast,       // model::InferenceEncoder: fused layers on nested tensors (no padding work),
              // first-token-only last layer; bert, roberta, electra (others: reference)
  reference,  // the training modules' forward, HF's order of operations (fp32, bf16 only)
};
Kernels parse_kernels(const std::string& name);  // "fast" | "reference"; Error otherwise
std::string kernels_name(Kernels kernels);

struct RunPredictorOptions {
  int threads = 0;                 // libtorch intra-op threads; 0 = every core
  std::size_t forward_batch = 16;  // essays per forward pass (after sorting by length)
  // Batches computed at once on the CPU, each on one thread (CTranslate2's inter_threads):
  // the per-operation hand-offs between threads that a small encoder's many small operations
  // pay (half the time of a bf16 MiniLM batch on 2 cores) disappear, at the cost of each
  // batch's latency. 0 = one per intra-op thread when a call has at least two batches per
  // thread; 1 = every thread on one batch at a time (the lowest latency per batch).
  std::size_t parallel_batches = 0;
  Precision precision = Precision::fp32;
  Kernels kernels = Kernels::fast;
  // Finer switches of the fast kernels (its precision is `precision` above).
  model::InferenceEncoderOptions fast_options;
  // Where the model computes ("cpu", "cuda", "cuda:N"; see runtime::parse_device).
  std::string device = "cpu";
};

// What a model folder's emotune.json says the model reads: "inputs" (absent: text only) and,
// when they have "person", the train statistics stored beside it
// (data::kPersonStandardizationFile; an Error naming the file when it is missing or its
// dimension disagrees with emotune.json's "person.dimension").
struct ModelInputs {
  std::vector<std::string> names = {"text"};
  std::optional<data::PersonEncoder> person;
  std::int64_t person_dimension() const {
    return person ? static_cast<std::int64_t>(person->dimension()) : 0;
  }
};
ModelInputs read_model_inputs(const std::filesystem::path& folder,
                              const io::ModelManifest& manifest);

// A model saved by `emotune train` (a best/ snapshot, or a run folder: its best seed's), loaded
// for inference on the CPU: emotune.json checked, the encoder rebuilt from config.json without
// dropout (and without a pooler when none was saved), encoder and heads from model.safetensors,
// eval mode. What RunPredictor and RunExplainer start from.
struct TrainedModel {
  std::filesystem::path folder;        // the best/ folder
  std::filesystem::path weights_file;  // its model.safetensors
  std::vector<model::Task> tasks;
  model::TaskModel task_model{nullptr};
  std::optional<data::PersonEncoder> person;  // set when the model reads person features
  ModelInfo info;  // tasks, max_length, emotion_labels, backbone, inputs (not version)
};
TrainedModel load_trained_model(const std::filesystem::path& dir);

// The person vectors of essays[rows[0]], essays[rows[1]], ...: float [rows.size(), dimension].
// An Error naming the essay (1-based position) when one has no person values.
torch::Tensor person_matrix(const data::PersonEncoder& encoder,
                            const std::vector<EssayInput>& essays,
                            const std::vector<std::size_t>& rows);

// Predicts with a model saved by `emotune train` (a best/ snapshot, see train/trainer.cc's
// write_best): the encoder rebuilt from config.json, encoder and heads loaded from
// model.safetensors by the names in emotune.json, the checkpoint's own tokenizer.
// Inference: essays tokenized, sorted by token count, run in batches of forward_batch padded
// to the longest of the batch under torch::InferenceMode (several batches at once on the CPU,
// see parallel_batches), answers returned in input order. A batch's results do not depend on
// how many run at once beyond float rounding of the thread split.
// A model trained with inputs ["text", "person"] needs EssayInput::person on every essay: the
// vector (standardized with the run's stored train statistics) goes to the heads beside the
// first-token vector, with the fast kernels as with the reference ones.
// `emotune predict` and `emotune serve` both predict through this class.
class RunPredictor : public Predictor {
 public:
  RunPredictor(const std::filesystem::path& dir, const RunPredictorOptions& options = {});
  ~RunPredictor() override;

  const ModelInfo& info() const override;
  std::vector<EssayPrediction> predict(const std::vector<EssayInput>& essays) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace emotune::predict
