#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/heads.h"

namespace emotune::train {

// One labelled text, as the trainer sees it (train and dev rows, GoEmotions additions).
struct Example {
  std::string id;
  std::string text;
  std::optional<double> empathy;
  std::optional<double> distress;
  std::optional<int> emotion;  // index into model::emotion_labels()
  // The writer's person vector (data::PersonEncoder::encode) when the run reads person
  // features; empty otherwise.
  std::vector<float> person;
};

// An example after tokenization ([CLS] … [SEP], truncated to max_length).
struct EncodedExample {
  std::vector<std::int64_t> input_ids;
  std::size_t source_index = 0;  // position in the example list it came from
};

struct Batch {
  torch::Tensor input_ids;        // int64 [batch, longest]
  torch::Tensor attention_mask;   // int64 [batch, longest]
  torch::Tensor token_type_ids;   // int64 zeros [batch, longest]
  torch::Tensor person;           // float [batch, person width]; undefined when the
                                  // examples carry no person vector
  model::TaskTargets targets;     // per task: float [batch] or int64 [batch]
  std::vector<std::size_t> rows;  // source indices, in batch order
};

// The order of `count` items in epoch `epoch` of a run seeded with `seed`: a Fisher-Yates
// shuffle driven by mt19937_64 seeded from (seed, epoch). Depends on nothing but its arguments,
// which is what lets a resumed run continue mid-epoch.
std::vector<std::size_t> epoch_order(std::size_t count, std::uint64_t seed, std::uint64_t epoch);

// The seed given to torch before step `step` of a run seeded with `seed` (dropout masks, the
// pre-training generator's samples), fine-tuning and pre-training alike. Like epoch_order it
// depends on nothing but its arguments, so a resumed run draws what an uninterrupted one would.
std::uint64_t step_seed(std::int64_t seed, std::int64_t step);

// Splits an epoch order into batches of `batch_size` (the last one may be smaller). With
// bucketing, runs of 50 batches are sorted by length before cutting and the batches are then
// shuffled, so each batch holds texts of similar length.
std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& order,
                                                   std::size_t batch_size,
                                                   const std::vector<EncodedExample>& encoded,
                                                   bool length_bucketing, std::uint64_t seed,
                                                   std::uint64_t epoch);

// Pads the chosen examples to the longest among them (pad_id right padding) and gathers the
// targets of `tasks` from `examples` (an Error when an example lacks one, naming its id), and
// their person vectors when they have them (all or none; an Error naming the id otherwise).
// pad_to > 0 pads to that length instead (for benchmarks).
Batch collate(const std::vector<std::size_t>& chosen, const std::vector<EncodedExample>& encoded,
              const std::vector<Example>& examples, const std::vector<model::Task>& tasks,
              std::int64_t pad_id, std::int64_t pad_to = 0);

}  // namespace emotune::train
