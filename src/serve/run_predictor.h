#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/inference_encoder.h"
#include "serve/predictor.h"

namespace emotune::serve {

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
  Precision precision = Precision::fp32;
  Kernels kernels = Kernels::fast;
  // Finer switches of the fast kernels (its precision is `precision` above).
  model::InferenceEncoderOptions fast_options;
  // Where the model computes ("cpu", "cuda", "cuda:N"; see runtime::parse_device).
  std::string device = "cpu";
};

// The folder holding emotune.json + config.json + model.safetensors + tokenizer files for
// `dir`: `dir` itself, `dir`/best, or the best seed of a run folder (summary.json
// "best_model", else the only seed-*/best). An Error naming `dir` when none is found.
std::filesystem::path resolve_model_folder(const std::filesystem::path& dir);

// Predicts with a model saved by `emotune train` (a best/ snapshot, see train/trainer.cc's
// write_best): the encoder rebuilt from config.json, encoder and heads loaded from
// model.safetensors by the names in emotune.json, the checkpoint's own tokenizer.
// Inference: essays tokenized, sorted by token count, run in batches of forward_batch padded
// to the longest of the batch under torch::InferenceMode, answers returned in input order.
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

}  // namespace emotune::serve
