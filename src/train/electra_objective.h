#pragma once

// The objective of one ELECTRA pre-training step, apart from the run around it (data, schedule,
// snapshots: train/pretrain.cc), so that tests can train the same code on synthetic languages:
// dynamic masking, the generator's masked-LM loss, replacements sampled from it, the
// discriminator's replaced-token-detection (RTD) loss, and the counts behind the diagnostics
// that tell whether either network uses context.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "model/electra_pretraining.h"

namespace emotune::train {

struct MaskedInput {
  torch::Tensor selected;         // bool [batch, length]: positions the generator predicts
  torch::Tensor shown_as_mask;    // bool: the selected positions replaced by [MASK] (85%)
  torch::Tensor generator_input;  // the ids with [MASK] put in
};

// ELECTRA's masking: in each row exactly max(1, round(p · n)) of its n candidate tokens
// (attention 1 and not `never_selected`, a bool [vocab] table) are selected; 85% of them are
// shown as `mask_id`, the rest stay as they are. Draws from torch's global generator.
MaskedInput select_for_electra(const torch::Tensor& ids, const torch::Tensor& attention,
                               const torch::Tensor& never_selected, double mask_probability,
                               std::int64_t mask_id);

// Sums over steps; the ratios are the diagnostics (see ElectraDiagnostics).
struct ElectraCounts {
  double mask_correct = 0, mask_count = 0;  // generator top-1 at positions shown as [MASK]
  double kept_correct = 0, kept_count = 0;  // at selected positions shown as themselves
  double rtd_correct = 0, rtd_count = 0;    // discriminator, every non-padding token
  double replaced = 0;                      // non-padding tokens that differ from the original
  double replaced_detected = 0;             // of those, the ones called replaced
  ElectraCounts& operator+=(const ElectraCounts& other);
};

struct MaskedLmResult {
  torch::Tensor loss;    // cross-entropy over every selected position (ELECTRA's MLM loss)
  torch::Tensor logits;  // [selected positions, vocab], row-major order of `selected`
  ElectraCounts counts;  // mask_* and kept_*
};

// The generator's MLM loss and its top-1 accuracy at [MASK] and at kept positions.
MaskedLmResult masked_lm(model::ElectraGeneratorImpl& generator, const MaskedInput& masked,
                         const torch::Tensor& original_ids, const torch::Tensor& attention);

struct RtdResult {
  torch::Tensor loss;    // binary cross-entropy over every non-padding token
  torch::Tensor logits;  // [batch, length], positive = replaced
  ElectraCounts counts;  // rtd_*, replaced*
};

// The discriminator's RTD loss on `input_ids` (a token counts as replaced where it differs from
// `original_ids`).
RtdResult replaced_token_detection(model::ElectraDiscriminatorImpl& discriminator,
                                   const torch::Tensor& input_ids,
                                   const torch::Tensor& original_ids,
                                   const torch::Tensor& attention);

struct ElectraStep {
  torch::Tensor loss;  // mlm + rtd_weight · rtd, to call backward() on
  torch::Tensor mlm;
  torch::Tensor rtd;
  ElectraCounts counts;
};

// One forward pass of both models as `emotune pretrain` runs it: select, generator MLM, every
// selected position replaced by a sample of the generator's softmax (tokens of
// `never_sampled` excluded, no gradient through the sampling; a sample equal to the original
// counts as original), discriminator RTD.
ElectraStep electra_step(model::ElectraGeneratorImpl& generator,
                         model::ElectraDiscriminatorImpl& discriminator,
                         const torch::Tensor& ids, const torch::Tensor& attention,
                         const torch::Tensor& never_selected, std::int64_t mask_id,
                         double mask_probability, double rtd_weight);

// One masked-LM step alone (continued pre-training of a BERT checkpoint): ELECTRA's selection,
// the MLM loss; `rtd` is 0 and `loss` == `mlm`.
ElectraStep masked_lm_step(model::ElectraGeneratorImpl& model, const torch::Tensor& ids,
                           const torch::Tensor& attention, const torch::Tensor& never_selected,
                           std::int64_t mask_id, double mask_probability);

// Entropy in nats of a coin with probability p (0 at p = 0 or 1).
double binary_entropy(double p);

// What the counts of a window say, against what a model that ignores context scores.
struct ElectraDiagnostics {
  double generator_mask_accuracy = 0;  // top-1 at [MASK]: compare with the unigram level
  double generator_kept_accuracy = 0;  // top-1 where the answer is the input token itself
  double rtd_accuracy = 0;
  double replaced_share = 0;  // calling every token original scores 1 - this
  double rtd_accuracy_gain = 0;  // rtd_accuracy - (1 - replaced_share)
  double rtd_prior_entropy = 0;  // binary_entropy(replaced_share): the RTD loss of the prior
  double rtd_gain_nats = 0;      // rtd_prior_entropy - mean RTD loss
  double replaced_recall = 0;    // share of the replaced tokens called replaced
};
ElectraDiagnostics diagnose(const ElectraCounts& counts, double mean_rtd_loss);

// Linear warm-up over `warmup_steps` (step 0 gets peak/warmup_steps), then linear decay to 0
// at `total_steps`.
double warmup_then_linear_decay(double peak, std::int64_t warmup_steps, std::int64_t total_steps,
                                std::int64_t step);

// Named parameters split into those that take weight decay and those that do not (biases and
// LayerNorms), as ELECTRA and BERT group them.
struct ParameterGroups {
  std::vector<std::pair<std::string, torch::Tensor>> decay, no_decay;
  void add(const std::string& name, const torch::Tensor& tensor);
};

// The two models of a new ELECTRA pre-training run: both initialised as HF does, the
// generator's word/position/type embeddings replaced by the discriminator's (shared, as in the
// paper), and every trainable tensor once in `groups` ("discriminator.<name>",
// "generator.<name>"; the shared embeddings only under "discriminator.").
struct ElectraPair {
  model::ElectraDiscriminator discriminator{nullptr};
  model::ElectraGenerator generator{nullptr};
  ParameterGroups groups;
  bool shared_embeddings = true;  // the generator reads the discriminator's embeddings
};
// The generator shares the discriminator's embeddings when their embedding sizes agree.
// `dropout`, when set, replaces both configs' hidden and attention dropout rates.
ElectraPair make_electra_pair(const io::HfConfig& discriminator_config,
                              const io::HfConfig& generator_config,
                              std::optional<double> dropout = std::nullopt);

}  // namespace emotune::train
