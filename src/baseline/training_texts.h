#pragma once

// The training-text corpus moved to data/ so that train/ (pre-training) can read it too; the
// baseline keeps its old names.
#include "data/training_texts.h"

namespace emotune::baseline {
using data::load_training_texts;
using data::TrainingTextOptions;
using data::TrainingTexts;
}  // namespace emotune::baseline
