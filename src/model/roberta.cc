#include "model/roberta.h"

namespace emotune::model {

RobertaModel::RobertaModel(const io::HfConfig& config, const DropoutRates& dropout)
    : BertModel(config, dropout, BertEmbeddingsImpl::Positions::AfterPadding) {}

}  // namespace emotune::model
