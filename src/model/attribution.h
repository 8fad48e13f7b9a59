#pragma once

// Token attributions by integrated gradients (Sundararajan et al. 2017): for an output F and
// word embeddings x of an input, with a baseline x',
//   IG_t = (x_t - x'_t) · ∫_0^1 ∂F/∂x_t (x' + α (x - x')) dα     (summed over the embedding)
// and completeness: Σ_t IG_t = F(x) - F(x'). The integral is evaluated by a quadrature rule;
// the gap between both sides is the quadrature (and rounding) error, reported with every
// explanation so that a user can raise the steps when it is large.
//
// Only the word embeddings move along the path: positions, token types, the attention mask and
// any other input of the model (e.g. a per-person feature vector) keep their real values, so
// attributions are over text tokens and other inputs are held fixed.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "model/heads.h"

namespace emotune::model {

// The word embeddings the path starts from, at every attributed position.
enum class IgBaseline {
  pad,    // the [PAD] token's embedding (as if the text were blanked out)
  zeros,  // the zero vector
};
IgBaseline parse_ig_baseline(std::string_view name);  // "pad" | "zeros"; Error otherwise
std::string ig_baseline_name(IgBaseline baseline);

// How ∫_0^1 g(α) dα is evaluated from `steps` evaluations of the gradient.
enum class IgRule {
  // Gauss-Legendre nodes and weights on [0, 1]: exact for polynomials of degree 2·steps - 1,
  // and for the smooth (analytic) paths of these encoders the error falls geometrically.
  gauss_legendre,
  // The trapezoid rule on steps equally spaced points including both ends: error O(1/steps²).
  trapezoid,
};
IgRule parse_ig_rule(std::string_view name);  // "gauss-legendre" | "trapezoid"
std::string ig_rule_name(IgRule rule);

struct IntegratedGradientsOptions {
  std::size_t steps = 32;  // gradient evaluations along the path
  IgBaseline baseline = IgBaseline::pad;
  IgRule rule = IgRule::gauss_legendre;
  // Interpolation points are run as batches of at most this many tokens (points × length),
  // which bounds the memory the backward passes hold.
  std::size_t max_tokens_per_pass = 2048;
};

// Nodes α_i in [0, 1] and weights w_i (Σ w_i = 1) of `rule` with `steps` points.
struct Quadrature {
  std::vector<double> nodes;
  std::vector<double> weights;
};
Quadrature quadrature(IgRule rule, std::size_t steps);

// The outputs of a differentiable function of word embeddings: [points, length, dim] ->
// [points, outputs]. Rows must not interact (a batch of independent inputs).
using OutputsOfEmbeddings = std::function<torch::Tensor(const torch::Tensor& embeddings)>;

struct IgResult {
  torch::Tensor attributions;  // float64 [outputs, length]
  torch::Tensor at_input;      // float64 [outputs]: F(x)
  torch::Tensor at_baseline;   // float64 [outputs]: F(x')
};

// Integrated gradients of every output of `f` from `baseline` to `input` (both
// [length, dim], same dtype and device). Gradients are accumulated in float64.
IgResult integrated_gradients(const OutputsOfEmbeddings& f, const torch::Tensor& input,
                              const torch::Tensor& baseline,
                              const IntegratedGradientsOptions& options);

// The word-embedding lookup of an encoder, input_ids [batch, length] -> [batch, length,
// embedding_size]: the vectors attributions move along. Every family (BERT, RoBERTa, ELECTRA,
// ALBERT); an Error for other encoders.
torch::Tensor word_embeddings_of(Encoder& encoder, const torch::Tensor& input_ids);

// The encoder's forward with the word embeddings given instead of looked up (HF's
// inputs_embeds): `input_ids` still decides the position ids (RoBERTa counts non-pad ids), and
// token types and attention mask apply as given, so a path of interpolated word embeddings
// keeps the real input's positions and types. Returns last_hidden_state.
torch::Tensor forward_word_embeddings(Encoder& encoder, const torch::Tensor& word_embeddings,
                                      const torch::Tensor& input_ids,
                                      const torch::Tensor& attention_mask,
                                      const torch::Tensor& token_type_ids);

// One scalar output of a TaskModel: a regression value (empathy, distress) or the softmax
// probability of one emotion class.
struct ModelOutput {
  Task task = Task::empathy;
  std::size_t emotion_class = 0;  // with Task::emotion: index into emotion_labels()

  // "empathy", "distress", or "emotion:<label>" (e.g. "emotion:sadness").
  std::string name() const;
  bool operator==(const ModelOutput&) const = default;
};
// The output named `name` (see ModelOutput::name); nullopt for an unknown name.
std::optional<ModelOutput> parse_model_output(std::string_view name);
// Every output of a model with `tasks`: regression tasks first, then the seven emotions.
std::vector<ModelOutput> model_outputs(const std::vector<Task>& tasks);

struct TokenAttributionRequest {
  std::vector<std::int64_t> input_ids;  // one sequence, specials included
  // Positions whose word embedding moves (the text pieces); the others ([CLS], [SEP]) are the
  // same in input and baseline, so their attribution is exactly 0 and the whole difference
  // F(x) - F(x') is spread over the attributed positions.
  std::vector<bool> attributed;
  std::int64_t pad_id = 0;  // for IgBaseline::pad
  std::vector<ModelOutput> outputs;
  IntegratedGradientsOptions options;
  // The model's person vector (TaskModelImpl::person_dimension() values) when it reads one:
  // held at its real value along the whole path, so it gets no attribution and the
  // completeness gap compares F(text, person) with F(baseline text, person). Empty otherwise.
  std::vector<double> person;
};

struct OutputAttribution {
  ModelOutput output;
  double value = 0;           // F(x)
  double baseline_value = 0;  // F(x')
  std::vector<double> tokens;  // one per input id; 0 where not attributed
  double sum() const;
  // F(x) - F(x') - Σ tokens: the quadrature and rounding error of this explanation.
  double completeness_gap() const;
};

// Integrated gradients of each requested output of `model` (the reference forward, float32 or
// float64 weights; dropout must be off) with respect to the word embeddings of one input.
std::vector<OutputAttribution> attribute_tokens(TaskModelImpl& model,
                                                const TokenAttributionRequest& request);

}  // namespace emotune::model
