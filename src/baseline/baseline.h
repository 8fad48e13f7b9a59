#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "baseline/linear.h"
#include "baseline/tfidf.h"
#include "eval/metrics.h"

namespace emotune::baseline {

struct BaselineOptions {
  TfidfOptions tfidf;             // word 1-2 grams, min_df 2, sublinear tf, l2 rows
  double ridge_alpha = 1.0;       // fixed, not tuned on dev
  LogisticOptions logistic{1.0};  // C fixed at scikit-learn's default, not tuned on dev
};

struct BaselineReport {
  std::size_t train_rows = 0;
  std::size_t dev_rows = 0;
  std::size_t features = 0;
  std::size_t train_nonzeros = 0;
  int logistic_evaluations = 0;
  double logistic_loss = 0;
  eval::Track1Scores track1;
  eval::ClassificationScores track2;
};

// Fits the TF-IDF vectorizer, the ridge regressions (empathy, distress) and the multinomial
// logistic regression (emotion) on WASSA train, and scores WASSA dev with the official
// semantics. Deterministic.
BaselineReport run_wassa_baseline(const std::filesystem::path& data_dir,
                                  const BaselineOptions& options = {});

std::string format_baseline_text(const BaselineReport& report, const BaselineOptions& options);
std::string format_baseline_json(const BaselineReport& report, const BaselineOptions& options);

}  // namespace emotune::baseline
