#pragma once

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "predict/run_predictor.h"

namespace emotune::cli {

// How `predict` and `serve` run a trained model: one definition of the flags, their help and
// defaults, so that the two commands cannot drift apart.
struct PredictorFlags {
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string kernels = "fast";
  std::size_t parallel_batches = 0;
};

// Adds --device, --precision, --kernels and --parallel-batches to `command`, writing into
// `flags`.
void add_predictor_flags(CLI::App& command, PredictorFlags& flags);

// The library's options from the flags, --threads and the essays per forward pass.
predict::RunPredictorOptions predictor_options(const PredictorFlags& flags,
                                             const GlobalOptions& globals,
                                             std::size_t forward_batch);

}  // namespace emotune::cli
