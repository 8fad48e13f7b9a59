#include "train/batcher.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"
#include "data/augment.h"

namespace emotune::train {

namespace {

std::mt19937_64 engine_for(std::uint64_t seed, std::uint64_t epoch, std::uint64_t stream) {
  // A fixed odd-constant mix of the inputs; mt19937_64's output is fully specified by C++.
  return std::mt19937_64(seed * 0x9E3779B97F4A7C15ULL + epoch * 0xBF58476D1CE4E5B9ULL +
                         stream * 0x94D049BB133111EBULL);
}

void fisher_yates(std::vector<std::size_t>& items, std::mt19937_64& engine) {
  for (std::size_t i = items.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(data::uniform_below(engine, i));
    std::swap(items[i - 1], items[j]);
  }
}

}  // namespace

std::uint64_t step_seed(std::int64_t seed, std::int64_t step) {
  return static_cast<std::uint64_t>(seed) * 1000003ULL + static_cast<std::uint64_t>(step) + 1;
}

std::vector<std::size_t> epoch_order(std::size_t count, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  auto engine = engine_for(seed, epoch, 0);
  fisher_yates(order, engine);
  return order;
}

std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& order,
                                                   std::size_t batch_size,
                                                   const std::vector<EncodedExample>& encoded,
                                                   bool length_bucketing, std::uint64_t seed,
                                                   std::uint64_t epoch) {
  std::vector<std::size_t> arranged = order;
  if (length_bucketing) {
    const std::size_t chunk = batch_size * 50;
    for (std::size_t start = 0; start < arranged.size(); start += chunk) {
      const auto end = std::min(arranged.size(), start + chunk);
      std::stable_sort(arranged.begin() + static_cast<std::ptrdiff_t>(start),
                       arranged.begin() + static_cast<std::ptrdiff_t>(end),
                       [&](std::size_t a, std::size_t b) {
                         return encoded[a].input_ids.size() < encoded[b].input_ids.size();
                       });
    }
  }
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t start = 0; start < arranged.size(); start += batch_size) {
    const auto end = std::min(arranged.size(), start + batch_size);
    batches.emplace_back(arranged.begin() + static_cast<std::ptrdiff_t>(start),
                         arranged.begin() + static_cast<std::ptrdiff_t>(end));
  }
  if (length_bucketing) {
    std::vector<std::size_t> batch_order(batches.size());
    for (std::size_t i = 0; i < batch_order.size(); ++i) batch_order[i] = i;
    auto engine = engine_for(seed, epoch, 1);
    fisher_yates(batch_order, engine);
    std::vector<std::vector<std::size_t>> shuffled;
    for (const auto i : batch_order) shuffled.push_back(std::move(batches[i]));
    batches = std::move(shuffled);
  }
  return batches;
}

Batch collate(const std::vector<std::size_t>& chosen, const std::vector<EncodedExample>& encoded,
              const std::vector<Example>& examples, const std::vector<model::Task>& tasks,
              std::int64_t pad_id, std::int64_t pad_to) {
  const auto batch = static_cast<std::int64_t>(chosen.size());
  std::int64_t longest = 0;
  for (const auto i : chosen) {
    longest =
        std::max<std::int64_t>(longest, static_cast<std::int64_t>(encoded[i].input_ids.size()));
  }
  if (pad_to > 0) longest = std::max(longest, pad_to);
  Batch out;
  out.input_ids = torch::full({batch, longest}, pad_id, torch::kInt64);
  out.attention_mask = torch::zeros({batch, longest}, torch::kInt64);
  out.token_type_ids = torch::zeros({batch, longest}, torch::kInt64);
  auto ids = out.input_ids.accessor<std::int64_t, 2>();
  auto mask = out.attention_mask.accessor<std::int64_t, 2>();
  for (std::int64_t row = 0; row < batch; ++row) {
    const auto& tokens = encoded[chosen[static_cast<std::size_t>(row)]].input_ids;
    for (std::size_t col = 0; col < tokens.size(); ++col) {
      ids[row][static_cast<std::int64_t>(col)] = tokens[col];
      mask[row][static_cast<std::int64_t>(col)] = 1;
    }
  }
  for (const auto task : tasks) {
    std::vector<double> values;
    std::vector<std::int64_t> labels;
    for (const auto i : chosen) {
      const auto& example = examples[encoded[i].source_index];
      const auto missing = [&] {
        return Error(fmt::format("example {} has no {} value, but the run trains the {} task",
                                 example.id, model::task_name(task), model::task_name(task)));
      };
      if (task == model::Task::emotion) {
        if (!example.emotion) throw missing();
        labels.push_back(*example.emotion);
      } else {
        const auto& value = task == model::Task::empathy ? example.empathy : example.distress;
        if (!value) throw missing();
        values.push_back(*value);
      }
    }
    out.targets[task] = task == model::Task::emotion
                            ? torch::tensor(labels, torch::kInt64)
                            : torch::tensor(values, torch::kFloat64).to(torch::kFloat32);
  }
  const auto& first = examples[encoded[chosen.empty() ? 0 : chosen.front()].source_index];
  if (!chosen.empty() && !first.person.empty()) {
    const auto width = static_cast<std::int64_t>(first.person.size());
    out.person = torch::empty({batch, width}, torch::kFloat32);
    auto person = out.person.accessor<float, 2>();
    for (std::int64_t row = 0; row < batch; ++row) {
      const auto& example = examples[encoded[chosen[static_cast<std::size_t>(row)]].source_index];
      if (static_cast<std::int64_t>(example.person.size()) != width) {
        throw Error(fmt::format("example {} has {} person values, the batch has {}", example.id,
                                example.person.size(), width));
      }
      for (std::int64_t col = 0; col < width; ++col)
        person[row][col] = example.person[static_cast<std::size_t>(col)];
    }
  } else {
    for (const auto i : chosen) {
      const auto& example = examples[encoded[i].source_index];
      if (!example.person.empty()) {
        throw Error(fmt::format("example {} has person values, the batch has none", example.id));
      }
    }
  }
  for (const auto i : chosen) out.rows.push_back(encoded[i].source_index);
  return out;
}

}  // namespace emotune::train
