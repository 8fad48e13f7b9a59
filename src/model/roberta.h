#pragma once

#include "model/bert.h"

namespace emotune::model {

// RobertaModel: BERT's layers; positions count real tokens from pad_token_id + 1 on, so
// padding keeps position pad_token_id (max_position_embeddings = 512 + 2 in roberta-base).
class RobertaModel : public BertModel {
 public:
  RobertaModel(const io::HfConfig& config, const DropoutRates& dropout);

  std::string model_type() const override { return "roberta"; }
  std::string weight_prefix() const override { return "roberta"; }
};

}  // namespace emotune::model
