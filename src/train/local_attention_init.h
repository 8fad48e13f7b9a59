#pragma once

// A start from which a small ELECTRA learns from its neighbours within minutes instead of sitting
// on the all-original prior (issue #19, docs/pretraining.md "What kept the discriminator on its
// prior"). With random position embeddings a fresh encoder attends nowhere in particular, and
// on the real corpus a 4-layer, 128-wide discriminator did not find its way to the previous and
// next token in 4 500 steps; started with layer 0 already looking there, it did in ~600.
// Nothing about the architecture changes: the checkpoint is an ordinary HF ELECTRA one.

#include <string>

#include <torch/torch.h>

#include "io/hf_config.h"

namespace emotune::train {

// Overwrites `positions` ([max_positions, E], E even) with sinusoids of E/2 frequencies
// pi·(f + 1/2)/(E/2), scaled to standard deviation `std`.
void initialize_sinusoidal_positions(torch::Tensor positions, double std);

// In the ELECTRA body under `prefix` of `model` (e.g. "electra."), whose position embeddings are
// sinusoids as above: sets the query and key rows of layer 0's first two heads (one, for a
// one-head model) so that head 0 attends to the previous token and head 1 to the next, each
// through its own share of the frequencies; the peak logit grows as `scale`². Rows
// are mapped through the pseudo-inverse of `embeddings_project` where there is one. Returns
// false, changing nothing, when the embeddings are wider than the hidden size (a projection
// down cannot carry the sinusoids) or a head has fewer than 2 dimensions. Error if the model
// lacks one of the tensors.
bool initialize_local_attention(torch::nn::Module& model, const io::HfConfig& config,
                                const std::string& prefix, double scale = 2.5);

}  // namespace emotune::train
