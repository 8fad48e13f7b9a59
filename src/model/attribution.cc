#include "model/attribution.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "common/error.h"
#include "model/albert.h"
#include "model/bert.h"
#include "model/electra.h"

namespace emotune::model {

IgBaseline parse_ig_baseline(std::string_view name) {
  if (name == "pad") return IgBaseline::pad;
  if (name == "zeros") return IgBaseline::zeros;
  throw Error(fmt::format("baseline: expected pad or zeros, got '{}'", name));
}

std::string ig_baseline_name(IgBaseline baseline) {
  return baseline == IgBaseline::pad ? "pad" : "zeros";
}

IgRule parse_ig_rule(std::string_view name) {
  if (name == "gauss-legendre") return IgRule::gauss_legendre;
  if (name == "trapezoid") return IgRule::trapezoid;
  throw Error(fmt::format("rule: expected gauss-legendre or trapezoid, got '{}'", name));
}

std::string ig_rule_name(IgRule rule) {
  return rule == IgRule::gauss_legendre ? "gauss-legendre" : "trapezoid";
}

Quadrature quadrature(IgRule rule, std::size_t steps) {
  Quadrature q;
  if (rule == IgRule::trapezoid) {
    if (steps < 2) throw Error(fmt::format("trapezoid rule: steps must be at least 2, got {}", steps));
    const double h = 1.0 / static_cast<double>(steps - 1);
    for (std::size_t i = 0; i < steps; ++i) {
      q.nodes.push_back(static_cast<double>(i) * h);
      q.weights.push_back(i == 0 || i + 1 == steps ? h / 2 : h);
    }
    return q;
  }
  if (steps < 1) throw Error("Gauss-Legendre rule: steps must be at least 1");
  // Roots of the Legendre polynomial P_n by Newton's method from Chebyshev-like starting
  // points, weights 2 / ((1 - x²) P_n'(x)²), then mapped from [-1, 1] to [0, 1].
  const auto n = static_cast<int>(steps);
  q.nodes.resize(steps);
  q.weights.resize(steps);
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
    double derivative = 0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p0 = 1.0, p1 = x;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = n * (x * p1 - p0) / (x * x - 1.0);
      const double step = p1 / derivative;
      x -= step;
      if (std::abs(step) < 1e-15) break;
    }
    const double weight = 2.0 / ((1.0 - x * x) * derivative * derivative);
    const auto lo = static_cast<std::size_t>(i);
    const auto hi = static_cast<std::size_t>(n - 1 - i);
    q.nodes[lo] = (1.0 - x) / 2.0;
    q.nodes[hi] = (1.0 + x) / 2.0;
    q.weights[lo] = q.weights[hi] = weight / 2.0;
  }
  return q;
}

IgResult integrated_gradients(const OutputsOfEmbeddings& f, const torch::Tensor& input,
                              const torch::Tensor& baseline,
                              const IntegratedGradientsOptions& options) {
  if (input.dim() != 2 || input.sizes() != baseline.sizes()) {
    throw Error("integrated gradients: input and baseline must both be [length, dim]");
  }
  const auto q = quadrature(options.rule, options.steps);
  const auto length = input.size(0);
  const auto input_d = input.detach();
  const auto baseline_d = baseline.detach();
  const auto delta = input_d - baseline_d;
  const auto float64 = torch::TensorOptions(torch::kFloat64).device(input.device());

  IgResult result;
  {
    torch::NoGradGuard no_grad;
    const auto ends = f(torch::stack({input_d, baseline_d})).to(torch::kFloat64);
    if (ends.dim() != 2 || ends.size(0) != 2) {
      throw Error("integrated gradients: the function must return [points, outputs]");
    }
    result.at_input = ends[0].cpu();
    result.at_baseline = ends[1].cpu();
  }
  const auto outputs = result.at_input.size(0);

  torch::AutoGradMode enable_grad(true);
  auto accumulated = torch::zeros({outputs, length, input.size(1)}, float64);
  const auto per_pass = static_cast<std::size_t>(
      std::max<std::int64_t>(1, static_cast<std::int64_t>(options.max_tokens_per_pass) /
                                    std::max<std::int64_t>(length, 1)));
  for (std::size_t start = 0; start < q.nodes.size(); start += per_pass) {
    const std::size_t end = std::min(q.nodes.size(), start + per_pass);
    const auto count = static_cast<std::int64_t>(end - start);
    const std::vector<double> alpha_values(q.nodes.begin() + static_cast<std::ptrdiff_t>(start),
                                           q.nodes.begin() + static_cast<std::ptrdiff_t>(end));
    const std::vector<double> weight_values(
        q.weights.begin() + static_cast<std::ptrdiff_t>(start),
        q.weights.begin() + static_cast<std::ptrdiff_t>(end));
    const auto alphas = torch::tensor(alpha_values, float64).to(input.scalar_type()).view({count, 1, 1});
    const auto weights = torch::tensor(weight_values, float64).view({count, 1, 1});
    auto points = (baseline_d.unsqueeze(0) + alphas * delta.unsqueeze(0)).detach();
    points.requires_grad_(true);
    const auto values = f(points);
    for (std::int64_t k = 0; k < outputs; ++k) {
      const auto gradient = torch::autograd::grad({values.select(1, k).sum()}, {points}, {},
                                                  /*retain_graph=*/k + 1 < outputs)[0];
      accumulated[k] += (gradient.to(torch::kFloat64) * weights).sum(0);
    }
  }
  result.attributions = (accumulated * delta.to(torch::kFloat64).unsqueeze(0)).sum(-1).cpu();
  return result;
}

// The families hold the entry point as plain members: a virtual on Encoder would be the
// natural home, but this keeps encoder.h (included nearly everywhere) unchanged.
torch::Tensor word_embeddings_of(Encoder& encoder, const torch::Tensor& input_ids) {
  if (auto* bert = dynamic_cast<BertModel*>(&encoder)) return bert->word_embeddings(input_ids);
  if (auto* electra = dynamic_cast<ElectraModel*>(&encoder)) {
    return electra->word_embeddings(input_ids);
  }
  if (auto* albert = dynamic_cast<AlbertModel*>(&encoder)) {
    return albert->word_embeddings(input_ids);
  }
  throw Error(fmt::format("the {} encoder has no word-embedding entry point", encoder.model_type()));
}

torch::Tensor forward_word_embeddings(Encoder& encoder, const torch::Tensor& word_embeddings,
                                      const torch::Tensor& input_ids,
                                      const torch::Tensor& attention_mask,
                                      const torch::Tensor& token_type_ids) {
  if (auto* bert = dynamic_cast<BertModel*>(&encoder)) {
    return bert->forward_word_embeddings(word_embeddings, input_ids, attention_mask,
                                         token_type_ids);
  }
  if (auto* electra = dynamic_cast<ElectraModel*>(&encoder)) {
    return electra->forward_word_embeddings(word_embeddings, input_ids, attention_mask,
                                            token_type_ids);
  }
  if (auto* albert = dynamic_cast<AlbertModel*>(&encoder)) {
    return albert->forward_word_embeddings(word_embeddings, input_ids, attention_mask,
                                           token_type_ids);
  }
  throw Error(fmt::format("the {} encoder has no word-embedding entry point", encoder.model_type()));
}

std::string ModelOutput::name() const {
  if (task != Task::emotion) return task_name(task);
  return "emotion:" + emotion_labels().at(emotion_class);
}

std::optional<ModelOutput> parse_model_output(std::string_view name) {
  if (name.starts_with("emotion:")) {
    const auto label = name.substr(8);
    const auto& labels = emotion_labels();
    for (std::size_t k = 0; k < labels.size(); ++k) {
      if (labels[k] == label) return ModelOutput{Task::emotion, k};
    }
    return std::nullopt;
  }
  const auto task = parse_task(name);
  if (!task || *task == Task::emotion) return std::nullopt;
  return ModelOutput{*task, 0};
}

std::vector<ModelOutput> model_outputs(const std::vector<Task>& tasks) {
  std::vector<ModelOutput> outputs;
  for (const Task task : {Task::empathy, Task::distress}) {
    if (std::find(tasks.begin(), tasks.end(), task) != tasks.end()) outputs.push_back({task, 0});
  }
  if (std::find(tasks.begin(), tasks.end(), Task::emotion) != tasks.end()) {
    for (std::size_t k = 0; k < emotion_labels().size(); ++k) outputs.push_back({Task::emotion, k});
  }
  return outputs;
}

double OutputAttribution::sum() const {
  double total = 0;
  for (const double value : tokens) total += value;
  return total;
}

double OutputAttribution::completeness_gap() const {
  return value - baseline_value - sum();
}

std::vector<OutputAttribution> attribute_tokens(TaskModelImpl& model,
                                                const TokenAttributionRequest& request) {
  const auto length = static_cast<std::int64_t>(request.input_ids.size());
  if (length == 0) throw Error("token attributions: no input ids");
  if (request.attributed.size() != request.input_ids.size()) {
    throw Error("token attributions: `attributed` must have one flag per input id");
  }
  if (request.outputs.empty()) throw Error("token attributions: no output requested");
  const auto& tasks = model.tasks();
  for (const auto& output : request.outputs) {
    if (std::find(tasks.begin(), tasks.end(), output.task) == tasks.end()) {
      throw Error(fmt::format("token attributions: the model has no {} task", task_name(output.task)));
    }
    if (output.task == Task::emotion && output.emotion_class >= emotion_labels().size()) {
      throw Error(fmt::format("token attributions: emotion class {} out of range",
                              output.emotion_class));
    }
  }
  if (model.is_training()) throw Error("token attributions: the model must be in eval mode");

  auto& encoder = model.encoder();
  const auto parameters = model.parameters();
  const auto device = parameters.empty() ? torch::Device(torch::kCPU) : parameters[0].device();
  const auto ids = torch::tensor(request.input_ids, torch::kInt64).to(device).unsqueeze(0);
  std::vector<std::uint8_t> flags(request.attributed.begin(), request.attributed.end());
  const auto moved = torch::tensor(std::vector<std::int64_t>(flags.begin(), flags.end()), torch::kInt64)
                         .to(device)
                         .to(torch::kBool)
                         .unsqueeze(1);

  torch::Tensor input_words, baseline_words;
  {
    torch::NoGradGuard no_grad;
    input_words = word_embeddings_of(encoder, ids)[0];
    const auto blank = request.options.baseline == IgBaseline::pad
                           ? word_embeddings_of(encoder, torch::full_like(ids, request.pad_id))[0]
                           : torch::zeros_like(input_words);
    baseline_words = torch::where(moved, blank, input_words);
  }

  torch::Tensor person;
  if (!request.person.empty()) {
    person = torch::tensor(request.person, torch::kFloat64).to(device).unsqueeze(0);
  }
  if (static_cast<std::int64_t>(request.person.size()) != model.person_dimension()) {
    throw Error(fmt::format("token attributions: the model reads {} person values, {} given",
                            model.person_dimension(), request.person.size()));
  }

  const auto outputs = request.outputs;
  const OutputsOfEmbeddings f = [&](const torch::Tensor& words) {
    const auto points = words.size(0);
    const auto batch_ids = ids.expand({points, length});
    const auto mask = torch::ones_like(batch_ids);
    const auto types = torch::zeros_like(batch_ids);
    const auto hidden = forward_word_embeddings(encoder, words, batch_ids, mask, types);
    const auto heads = model.head_outputs(
        hidden.select(1, 0), person.defined() ? person.expand({points, person.size(1)}) : person);
    torch::Tensor probabilities;
    std::vector<torch::Tensor> columns;
    for (const auto& output : outputs) {
      if (output.task != Task::emotion) {
        columns.push_back(heads.at(output.task));
        continue;
      }
      if (!probabilities.defined()) probabilities = torch::softmax(heads.at(Task::emotion), 1);
      columns.push_back(probabilities.select(1, static_cast<std::int64_t>(output.emotion_class)));
    }
    return torch::stack(columns, 1);
  };
  const auto ig = integrated_gradients(f, input_words, baseline_words, request.options);

  std::vector<OutputAttribution> result;
  const auto attributions = ig.attributions.contiguous();
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    OutputAttribution item;
    item.output = outputs[k];
    item.value = ig.at_input[static_cast<std::int64_t>(k)].item<double>();
    item.baseline_value = ig.at_baseline[static_cast<std::int64_t>(k)].item<double>();
    const auto* row = attributions.data_ptr<double>() + k * static_cast<std::size_t>(length);
    item.tokens.assign(row, row + length);
    // Unmoved positions contribute exactly nothing; keep rounding noise out of them.
    for (std::size_t t = 0; t < item.tokens.size(); ++t) {
      if (!request.attributed[t]) item.tokens[t] = 0.0;
    }
    result.push_back(std::move(item));
  }
  return result;
}

}  // namespace emotune::model
