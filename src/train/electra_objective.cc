#include "train/electra_objective.h"

#include <algorithm>
#include <cmath>

namespace emotune::train {

MaskedInput select_for_electra(const torch::Tensor& ids, const torch::Tensor& attention,
                               const torch::Tensor& never_selected, double mask_probability,
                               std::int64_t mask_id) {
  const auto options = torch::TensorOptions().device(ids.device());
  const auto candidates = attention.to(torch::kBool) & ~never_selected.index({ids});
  const auto wanted =
      torch::clamp_min(torch::round(candidates.sum(1).to(torch::kFloat) * mask_probability), 1.0)
          .to(torch::kLong);
  auto scores = torch::rand(ids.sizes(), options);
  scores = scores.masked_fill(~candidates, 2.0);
  const auto rank = scores.argsort(std::int64_t{1}, false).argsort(std::int64_t{1}, false);
  MaskedInput out;
  out.selected = (rank < wanted.unsqueeze(1)) & candidates;
  out.shown_as_mask = out.selected & (torch::rand(ids.sizes(), options) < 0.85);
  out.generator_input = torch::where(out.shown_as_mask, torch::full_like(ids, mask_id), ids);
  return out;
}

ElectraCounts& ElectraCounts::operator+=(const ElectraCounts& o) {
  mask_correct += o.mask_correct;
  mask_count += o.mask_count;
  kept_correct += o.kept_correct;
  kept_count += o.kept_count;
  rtd_correct += o.rtd_correct;
  rtd_count += o.rtd_count;
  replaced += o.replaced;
  replaced_detected += o.replaced_detected;
  return *this;
}

namespace {

double count_of(const torch::Tensor& t) {
  return t.sum().item<double>();
}

}  // namespace

MaskedLmResult masked_lm(model::ElectraGeneratorImpl& generator, const MaskedInput& masked,
                         const torch::Tensor& original_ids, const torch::Tensor& attention) {
  const auto hidden = generator.hidden(masked.generator_input, attention);
  const auto original = original_ids.index({masked.selected});
  MaskedLmResult out;
  out.logits = generator.logits(hidden.index({masked.selected}));
  out.loss = torch::nn::functional::cross_entropy(out.logits, original);
  torch::NoGradGuard no_grad;
  const auto correct = out.logits.argmax(-1).eq(original);
  const auto as_mask = masked.shown_as_mask.index({masked.selected});
  out.counts.mask_correct = count_of(correct & as_mask);
  out.counts.mask_count = count_of(as_mask);
  out.counts.kept_correct = count_of(correct & ~as_mask);
  out.counts.kept_count = count_of(~as_mask);
  return out;
}

RtdResult replaced_token_detection(model::ElectraDiscriminatorImpl& discriminator,
                                   const torch::Tensor& input_ids,
                                   const torch::Tensor& original_ids,
                                   const torch::Tensor& attention) {
  const auto active = attention.to(torch::kBool);
  const auto replaced = input_ids.ne(original_ids).index({active});
  RtdResult out;
  out.logits = discriminator.forward(input_ids, attention);
  const auto active_logits = out.logits.index({active});
  out.loss = torch::nn::functional::binary_cross_entropy_with_logits(
      active_logits, replaced.to(active_logits.scalar_type()));
  torch::NoGradGuard no_grad;
  const auto called_replaced = active_logits.gt(0);
  out.counts.rtd_correct = count_of(called_replaced.eq(replaced));
  out.counts.rtd_count = static_cast<double>(replaced.numel());
  out.counts.replaced = count_of(replaced);
  out.counts.replaced_detected = count_of(called_replaced & replaced);
  return out;
}

ElectraStep electra_step(model::ElectraGeneratorImpl& generator,
                         model::ElectraDiscriminatorImpl& discriminator,
                         const torch::Tensor& ids, const torch::Tensor& attention,
                         const torch::Tensor& never_selected, std::int64_t mask_id,
                         double mask_probability, double rtd_weight) {
  const auto masked = select_for_electra(ids, attention, never_selected, mask_probability, mask_id);
  auto mlm = masked_lm(generator, masked, ids, attention);
  torch::Tensor discriminator_input;
  {
    torch::NoGradGuard no_grad;
    const auto sampling_logits =
        mlm.logits.detach().to(torch::kFloat).masked_fill(never_selected, -INFINITY);
    const auto sampled = torch::multinomial(torch::softmax(sampling_logits, -1), 1).squeeze(1);
    discriminator_input = ids.clone();
    discriminator_input.index_put_({masked.selected}, sampled);
  }
  auto rtd = replaced_token_detection(discriminator, discriminator_input, ids, attention);
  ElectraStep out;
  out.mlm = mlm.loss;
  out.rtd = rtd.loss;
  out.loss = mlm.loss + rtd_weight * rtd.loss;
  out.counts = mlm.counts;
  out.counts += rtd.counts;
  return out;
}

ElectraStep masked_lm_step(model::ElectraGeneratorImpl& model, const torch::Tensor& ids,
                           const torch::Tensor& attention, const torch::Tensor& never_selected,
                           std::int64_t mask_id, double mask_probability) {
  const auto masked = select_for_electra(ids, attention, never_selected, mask_probability, mask_id);
  auto mlm = masked_lm(model, masked, ids, attention);
  ElectraStep out;
  out.mlm = mlm.loss;
  out.rtd = torch::zeros({}, mlm.loss.options());
  out.loss = mlm.loss;
  out.counts = mlm.counts;
  return out;
}

double binary_entropy(double p) {
  if (!(p > 0.0 && p < 1.0)) return 0.0;
  return -p * std::log(p) - (1.0 - p) * std::log1p(-p);
}

ElectraDiagnostics diagnose(const ElectraCounts& c, double mean_rtd_loss) {
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  ElectraDiagnostics d;
  d.generator_mask_accuracy = ratio(c.mask_correct, c.mask_count);
  d.generator_kept_accuracy = ratio(c.kept_correct, c.kept_count);
  d.rtd_accuracy = ratio(c.rtd_correct, c.rtd_count);
  d.replaced_share = ratio(c.replaced, c.rtd_count);
  d.rtd_accuracy_gain = d.rtd_accuracy - (1.0 - d.replaced_share);
  d.rtd_prior_entropy = binary_entropy(d.replaced_share);
  d.rtd_gain_nats = d.rtd_prior_entropy - mean_rtd_loss;
  d.replaced_recall = ratio(c.replaced_detected, c.replaced);
  return d;
}

// Counts the step being taken (step + 1 during the warm-up), so the first step already learns.
// Fine-tuning's schedule (learning_rate_at in trainer.cc) instead follows HuggingFace's
// get_linear_schedule_with_warmup step for step, whose first step has lr 0: parity with the
// reference stack matters there; here it would only change every pre-training run's numbers.
double warmup_then_linear_decay(double peak, std::int64_t warmup_steps, std::int64_t total_steps,
                                std::int64_t step) {
  if (step < warmup_steps)
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  return peak * std::max(0.0, static_cast<double>(total_steps - step) /
                                  static_cast<double>(std::max<std::int64_t>(
                                      1, total_steps - warmup_steps)));
}

void ParameterGroups::add(const std::string& name, const torch::Tensor& tensor) {
  const bool exempt = name.find("LayerNorm") != std::string::npos || name.ends_with(".bias");
  (exempt ? no_decay : decay).emplace_back(name, tensor);
}

ElectraPair make_electra_pair(const io::HfConfig& discriminator_config,
                              const io::HfConfig& generator_config,
                              std::optional<double> dropout) {
  const auto dropout_of = [&](const io::HfConfig& config) {
    if (dropout) return model::DropoutRates{*dropout, *dropout};
    return model::DropoutRates{config.hidden_dropout_prob, config.attention_probs_dropout_prob};
  };
  ElectraPair pair;
  pair.discriminator =
      model::ElectraDiscriminator(discriminator_config, dropout_of(discriminator_config));
  pair.generator = model::ElectraGenerator(generator_config, dropout_of(generator_config));
  model::initialize_weights(*pair.discriminator, discriminator_config.initializer_range);
  model::initialize_weights(*pair.generator, generator_config.initializer_range);
  // ELECTRA ties the two models' embeddings where their sizes agree; a generator with its own
  // embedding size keeps (and trains) its own.
  pair.shared_embeddings = generator_config.embedding_size == discriminator_config.embedding_size;
  if (pair.shared_embeddings)
    pair.generator->share_embeddings(pair.discriminator->electra->embeddings);
  for (const auto& item : pair.discriminator->named_parameters(true))
    pair.groups.add("discriminator." + item.key(), item.value());
  for (const auto& item : pair.generator->named_parameters(true))
    if (!pair.shared_embeddings || !item.key().starts_with("electra.embeddings."))
      pair.groups.add("generator." + item.key(), item.value());
  return pair;
}

}  // namespace emotune::train
