#pragma once

// The two pre-training models of ELECTRA under HuggingFace's names: ElectraForPreTraining (the
// discriminator with its replaced-token-detection head) and ElectraForMaskedLM (the generator),
// whose word/position/type embeddings are the discriminator's (shared, as in the paper).

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "io/hf_config.h"
#include "model/electra.h"
#include "model/layers.h"

namespace emotune::model {

// "discriminator_predictions": dense (H -> H), hidden_act, dense_prediction (H -> 1).
class ElectraDiscriminatorPredictionsImpl : public torch::nn::Module {
 public:
  explicit ElectraDiscriminatorPredictionsImpl(const io::HfConfig& config);
  // [batch, length, H] -> logits [batch, length] (positive = replaced).
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::nn::Linear dense{nullptr};
  torch::nn::Linear dense_prediction{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(ElectraDiscriminatorPredictions);

// "generator_predictions": dense (H_gen -> E), gelu, LayerNorm(E).
class ElectraGeneratorPredictionsImpl : public torch::nn::Module {
 public:
  explicit ElectraGeneratorPredictionsImpl(const io::HfConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(ElectraGeneratorPredictions);

// "generator_lm_head": its weight is the word-embedding matrix (tied), so only the bias is a
// parameter of its own.
class ElectraLmHeadBiasImpl : public torch::nn::Module {
 public:
  explicit ElectraLmHeadBiasImpl(std::int64_t vocab_size);
  torch::Tensor bias;
};
TORCH_MODULE(ElectraLmHeadBias);

// ElectraForMaskedLM: electra (ElectraModel in the generator's size) -> generator_predictions
// -> logits = x · word_embeddingsᵀ + generator_lm_head.bias.
class ElectraGeneratorImpl : public torch::nn::Module {
 public:
  ElectraGeneratorImpl(const io::HfConfig& config, const DropoutRates& dropout);

  // Last hidden states of the generator body [batch, length, H_gen].
  torch::Tensor hidden(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  // Vocabulary logits [n, vocab] of hidden vectors [n, H_gen].
  torch::Tensor logits(const torch::Tensor& hidden_rows);

  // Makes the generator use `embeddings` (the discriminator's) instead of its own; the
  // embedding sizes must agree.
  void share_embeddings(const BertEmbeddings& embeddings);

  std::shared_ptr<ElectraModel> electra;
  ElectraGeneratorPredictions generator_predictions{nullptr};
  ElectraLmHeadBias generator_lm_head{nullptr};
};
TORCH_MODULE(ElectraGenerator);

// ElectraForPreTraining: electra -> discriminator_predictions.
class ElectraDiscriminatorImpl : public torch::nn::Module {
 public:
  ElectraDiscriminatorImpl(const io::HfConfig& config, const DropoutRates& dropout);
  // RTD logits [batch, length].
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  std::shared_ptr<ElectraModel> electra;
  ElectraDiscriminatorPredictions discriminator_predictions{nullptr};
};
TORCH_MODULE(ElectraDiscriminator);

// The tensors of an HF checkpoint of each class: "electra.<ElectraModel name>" plus the head
// names. The generator's tied generator_lm_head.weight is left out, as HF's save_pretrained
// does; its shared embeddings are written (HF stores them in both checkpoints).
std::map<std::string, torch::Tensor> export_tensors(ElectraDiscriminatorImpl& discriminator);
std::map<std::string, torch::Tensor> export_tensors(ElectraGeneratorImpl& generator);

// Copies the tensors of a checkpoint of that class into the model by HF name ("electra."
// prefix optional; position_ids buffers and a tied lm_head weight ignored). With
// `require_head` false a checkpoint without the head tensors (a bare ElectraModel) loads and
// the head keeps its initial weights. Returns whether the head was found. Errors name `origin`.
bool import_tensors(ElectraDiscriminatorImpl& discriminator,
                    const std::map<std::string, torch::Tensor>& tensors, const std::string& origin,
                    bool require_head);
void import_tensors(ElectraGeneratorImpl& generator,
                    const std::map<std::string, torch::Tensor>& tensors, const std::string& origin);

// A BERT checkpoint's masked-LM model (HF BertForMaskedLM: bert -> cls.predictions.transform
// dense + gelu + LayerNorm -> tied decoder + cls.predictions.bias) has the generator's shape
// exactly when embedding_size == hidden_size, so continued (domain-adaptive) MLM pre-training
// of a BERT checkpoint trains an ElectraGenerator built from its config. These translate the
// names (one table in the .cc). Import accepts a bare BertModel ("embeddings.", "encoder."), a
// "bert."-prefixed one and BertForMaskedLM/BertForPreTraining checkpoints; the pooler, the
// next-sentence head and the tied decoder are ignored. Returns whether the MLM head was there
// (else it keeps its initial weights); a missing body weight is an Error naming `origin`.
bool import_bert_masked_lm(ElectraGeneratorImpl& generator,
                           const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& origin);
// The generator's tensors under BertForMaskedLM's names ("bert.", "cls.predictions."), the
// tied decoder weight left out as HF's save_pretrained does.
std::map<std::string, torch::Tensor> export_bert_masked_lm(ElectraGeneratorImpl& generator);

}  // namespace emotune::model
