#pragma once

// Why a model predicted what it did for one essay: integrated-gradients attributions
// (model/attribution.h) of each output, per word piece and per word of the essay. Used by
// `POST /v1/explain`, `emotune explain` and the report's attribution view.
//
// The attributions are over the essay's text tokens. A model that also reads the writer's
// person features (inputs ["text", "person"]) needs EssayInput::person (an Error naming the
// essay otherwise) and keeps that vector at its real value along the path: the person part
// is not attributed, and the completeness gap compares output(text, person) with
// output(baseline text, person).

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/attribution.h"
#include "predict/predictor.h"

namespace emotune::predict {

// Names the probability of whichever emotion the model predicts for the essay.
inline constexpr const char* kPredictedEmotion = "emotion:predicted";

struct ExplainOptions {
  // Output names (model::ModelOutput::name: "empathy", "distress", "emotion:<label>", or
  // kPredictedEmotion); empty = every output of the model. Answers name the resolved output.
  std::vector<std::string> outputs;
  model::IntegratedGradientsOptions method;
};

struct OutputExplanation {
  std::string name;
  double value = 0;           // the output for the essay
  double baseline_value = 0;  // for the baseline (text pieces blanked out)
  double attribution_sum = 0;
  double completeness_gap = 0;  // value - baseline_value - attribution_sum
};

struct PieceExplanation {
  std::string token;                  // the piece as the vocabulary spells it
  std::size_t word = 0;               // index into Explanation::words
  std::vector<double> attributions;   // one per Explanation::outputs
};

struct WordExplanation {
  std::string before;  // the whitespace between the previous word and this one
  std::string text;    // the word as written
  std::size_t begin = 0, end = 0;     // byte offsets in the essay
  bool truncated = false;             // beyond max_length: the model never saw it
  std::vector<double> attributions;   // sum of its pieces' attributions, per output
};

struct Explanation {
  EssayPrediction prediction;  // the fp32 reference forward's prediction
  std::vector<OutputExplanation> outputs;
  std::vector<PieceExplanation> pieces;  // the text pieces the model saw, no [CLS]/[SEP]
  std::vector<WordExplanation> words;    // every word of the essay
  std::string after;                     // whitespace after the last word
  model::IntegratedGradientsOptions method;
};

// Something that explains essays. explain() may be called from several threads; it
// serialises them itself.
class Explainer {
 public:
  virtual ~Explainer() = default;
  virtual const ModelInfo& info() const = 0;
  // Every output explain() accepts, in the order it reports them.
  virtual std::vector<std::string> output_names() const = 0;
  virtual Explanation explain(const EssayInput& essay, const ExplainOptions& options) = 0;
};

struct RunExplainerOptions {
  int threads = 0;             // libtorch intra-op threads; 0 = every core
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
};

// Explains with a run's best model (as RunPredictor finds it) on the reference forward in
// float32 with autograd; independent of the predictor's kernels and precision.
class RunExplainer : public Explainer {
 public:
  RunExplainer(const std::filesystem::path& dir, const RunExplainerOptions& options = {});
  ~RunExplainer() override;

  const ModelInfo& info() const override;
  std::vector<std::string> output_names() const override;
  Explanation explain(const EssayInput& essay, const ExplainOptions& options) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::mutex mutex_;
};

// The explanation as JSON (docs/explain.md): "prediction" (as /v1/predict), "method",
// "outputs" [{name, value, baseline, attribution_sum, completeness_gap}], "pieces" [{token,
// word, attributions: {name: value}}], "words" [{text, before, start, end, truncated,
// attributions}], "after"; `id` is added when not null.
nlohmann::json explanation_json(const Explanation& explanation, const nlohmann::json& id);

// The prediction fields of /v1/predict's answer (empathy, distress, emotion, truncated,
// tokens); shared so that both endpoints spell them alike.
nlohmann::json prediction_fields(const EssayPrediction& prediction);

// Bounds a client may not exceed (steps cost time linearly).
inline constexpr std::size_t kMaxExplainSteps = 256;

// The explanation options of a request object: "outputs" (array of names), "steps",
// "baseline" ("pad" | "zeros"), "rule" ("gauss-legendre" | "trapezoid"); absent keys keep
// `defaults`. Error naming the key on a bad value or an output the explainer lacks.
ExplainOptions parse_explain_options(const nlohmann::json& request, const Explainer& explainer,
                                     const ExplainOptions& defaults = {});

}  // namespace emotune::predict
