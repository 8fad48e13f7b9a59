#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "serve/predictor.h"

namespace emotune::serve {

// How the encoder computes on the CPU.
enum class Precision {
  fp32,  // float32 weights and activations (the reference numerics)
  bf16,  // weights and activations cast to bfloat16; heads and softmax in float32
};
Precision parse_precision(const std::string& name);  // "fp32" | "bf16"; Error otherwise
std::string precision_name(Precision precision);

struct RunPredictorOptions {
  int threads = 0;                 // libtorch intra-op threads; 0 = every core
  std::size_t forward_batch = 16;  // essays per forward pass (after sorting by length)
  Precision precision = Precision::fp32;
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
