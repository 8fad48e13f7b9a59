// Which inference path is fastest on this CPU, and what the reduced precisions cost on dev.
//
// Speed: RunPredictor::predict (what `emotune predict` and `emotune serve` run) on N WASSA
// train essays truncated to 128 tokens, ELECTRA-base shape with random weights, every variant
// once per round, interleaved, so the machine's noise hits all alike. Prints the median
// essays/s of each variant and the median of its per-round ratio to the reference fp32 path
// (main's path: the training modules' forward, length-sorted batches).
//
// Accuracy: for every --accuracy MODEL (a trained run or best/ folder) the 270 dev essays
// are predicted by every path; printed: official Pearson / macro-F1 of each, and against the
// reference fp32 predictions the largest |difference| of empathy, distress and the emotion
// probabilities and the fraction of essays whose emotion changes.
//
//   build/fast_inference_bench [--essays 200] [--rounds 5] [--threads 2] [--batch 16]
//       [--model-dir DIR] [--accuracy RUN ...] [--skip-speed]
// --model-dir keeps the random ELECTRA-base folder there (reused when it exists), so
// `emotune predict DIR --input ...` can be timed on it too.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "base_model.h"
#include "bench_data.h"
#include "data/wassa.h"
#include "predict/prediction_run.h"
#include "predict/run_predictor.h"
#include "runtime/cpu_capabilities.h"
#include "runtime/process.h"
#include "runtime/threads.h"
#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using namespace emotune;
using Clock = std::chrono::steady_clock;

struct Variant {
  std::string name;
  predict::RunPredictorOptions options;
};

std::vector<Variant> variants(int threads, std::size_t batch) {
  using predict::Kernels;
  using predict::Precision;
  // The padded schedules (packed_tokens off), then the packed one (the default).
  const auto make = [&](Kernels kernels, Precision precision, bool fused, bool first_only,
                        bool packed = false) {
    predict::RunPredictorOptions o;
    o.threads = threads;
    o.forward_batch = batch;
    o.kernels = kernels;
    o.precision = precision;
    o.fast_options.packed_tokens = packed;
    o.fast_options.fused_layers = fused;
    o.fast_options.first_token_last_layer = first_only;
    return o;
  };
  std::vector<Variant> list{
      {"reference fp32 (main's path)", make(Kernels::reference, Precision::fp32, false, false)},
      {"fast fp32: fused QKV, separate ops", make(Kernels::fast, Precision::fp32, false, false)},
      {"fast fp32: + first-token last layer", make(Kernels::fast, Precision::fp32, false, true)},
      {"fast fp32: + fused layers, nested", make(Kernels::fast, Precision::fp32, true, true)},
      {"reference bf16", make(Kernels::reference, Precision::bf16, false, false)},
      {"fast bf16: separate ops", make(Kernels::fast, Precision::bf16, false, true)},
      {"fast bf16: fused layers, nested", make(Kernels::fast, Precision::bf16, true, true)},
      {"fast int8 (dynamic), padded", make(Kernels::fast, Precision::int8, false, true)},
      {"packed fp32 (default)", make(Kernels::fast, Precision::fp32, true, true, true)},
      {"packed bf16", make(Kernels::fast, Precision::bf16, true, true, true)},
      {"packed int8", make(Kernels::fast, Precision::int8, false, true, true)},
  };
  // What int8's choice of range is worth here: each one forced (the row above is the
  // automatic choice, model/inference_encoder.h).
  for (const auto& [name, range] :
       {std::pair{"fast int8, 8-bit (forced)", model::Int8Range::full},
        std::pair{"fast int8, 7-bit activations", model::Int8Range::seven_bit_activations},
        std::pair{"fast int8, 7-bit weights", model::Int8Range::seven_bit_weights}}) {
    auto o = make(Kernels::fast, Precision::int8, false, true, true);
    o.fast_options.int8_range = range;
    list.push_back({name, o});
  }
  // bf16 is refused on CPUs without native bf16: leave it out there, saying so.
  if (const auto refusal = runtime::bf16_refusal(runtime::reduced_precision_support());
      !refusal.empty()) {
    static bool said = false;
    if (!said) fmt::print("bf16 rows left out: {}\n", refusal);
    said = true;
    std::erase_if(list, [](const Variant& v) { return v.options.precision == Precision::bf16; });
  }
  return list;
}

void speed(const fs::path& folder, const std::vector<predict::EssayInput>& essays, int rounds,
           int threads, std::size_t batch, std::size_t max_length) {
  auto list = variants(threads, batch);
  std::vector<std::unique_ptr<predict::RunPredictor>> predictors;
  for (const auto& v : list) {
    predictors.push_back(std::make_unique<predict::RunPredictor>(folder, v.options));
    predictors.back()->predict({essays.front()});  // warm-up: allocator, oneDNN primitives
  }
  auto tokenizer = text::load_tokenizer(folder);
  const std::vector<model::Task> tasks = {model::Task::empathy, model::Task::distress,
                                          model::Task::emotion};
  model::TaskModel padded_model(model::create_encoder(folder / "config.json"), tasks, 0.0);
  padded_model->import_tensors(model::load_tensors(folder / "model.safetensors"), "bench");
  padded_model->eval();

  std::vector<std::vector<double>> rates(list.size() + 1);
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < list.size(); ++k) {
      const auto started = Clock::now();
      predictors[k]->predict(essays);
      rates[k].push_back(static_cast<double>(essays.size()) /
                         std::chrono::duration<double>(Clock::now() - started).count());
      fmt::print(stderr, "round {} {:<40} {:8.3f} essays/s\n", r + 1, list[k].name,
                 rates[k].back());
    }
    {
      c10::InferenceMode inference;
      rates.back().push_back(
          bench::padded_essays_per_second(essays, max_length, padded_model, *tokenizer));
    }
    fmt::print(stderr, "round {} {:<40} {:8.3f} essays/s\n", r + 1, "eager fp32, padded to 128",
               rates.back().back());
  }
  fmt::print("{:<40} {:>10} {:>16}\n", "path (forward batch " + std::to_string(batch) + ")",
             "essays/s", "× reference fp32");
  const auto ratio_to_reference = [&](std::size_t k) {
    std::vector<double> ratios;
    for (int r = 0; r < rounds; ++r) ratios.push_back(rates[k][r] / rates[0][r]);
    return bench::median(ratios);
  };
  fmt::print("{:<40} {:>10.2f} {:>16.2f}\n", "eager fp32, file order, padded to 128",
             bench::median(rates.back()), ratio_to_reference(list.size()));
  for (std::size_t k = 0; k < list.size(); ++k) {
    fmt::print("{:<40} {:>10.2f} {:>16.2f}\n", list[k].name, bench::median(rates[k]),
               ratio_to_reference(k));
  }
  std::fflush(stdout);
}

void accuracy(const fs::path& run, const data::WassaSplit& dev, int threads) {
  const auto essays = predict::wassa_essays(dev);
  const auto gold = predict::gold_standard(dev);
  auto list = variants(threads, 16);
  std::vector<eval::Predictions> predictions;
  for (const auto& v : list) {
    predict::RunPredictor predictor(run, v.options);
    predictions.push_back(predict::predict_essays(predictor, essays));
  }
  fmt::print("accuracy on {} dev essays: {}\n", essays.size(), run.string());
  fmt::print("{:<40} {:>7} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>8}\n", "path", "P(emp)", "P(dis)",
             "P(avg)", "macroF1", "max|Δemp|", "max|Δdis|", "max|Δp|", "Δargmax");
  const auto& ref = predictions.front();
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto& p = predictions[k];
    const auto scores = predict::score_predictions(p, gold);
    double d_emp = 0, d_dis = 0, d_prob = 0;
    std::size_t changed = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p.has_regression) {
        d_emp = std::max(d_emp, std::abs(p.empathy[i] - ref.empathy[i]));
        d_dis = std::max(d_dis, std::abs(p.distress[i] - ref.distress[i]));
      }
      if (p.has_emotion) {
        changed += p.emotion[i] != ref.emotion[i];
        for (std::size_t c = 0; c < p.probabilities[i].size(); ++c)
          d_prob = std::max(d_prob, std::abs(p.probabilities[i][c] - ref.probabilities[i][c]));
      }
    }
    const auto cell = [](bool present, double value, int digits) {
      return present ? fmt::format("{:.{}f}", value, digits) : std::string("-");
    };
    const bool t1 = scores.track1.has_value();
    const bool t2 = scores.track2.has_value();
    fmt::print(
        "{:<40} {:>7} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>8}\n", list[k].name,
        cell(t1, t1 ? scores.track1->empathy : 0, 4), cell(t1, t1 ? scores.track1->distress : 0, 4),
        cell(t1, t1 ? scores.track1->average : 0, 4), cell(t2, t2 ? scores.track2->macro_f1 : 0, 4),
        cell(t1, d_emp, 6), cell(t1, d_dis, 6), cell(t2, d_prob, 6),
        t2 ? fmt::format("{}/{}", changed, p.size()) : std::string("-"));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  emotune::runtime::prepare_process(argv);
  std::size_t essay_count = 200;
  int rounds = 5;
  int threads = 2;
  std::size_t batch = 16;
  fs::path model_dir;
  std::vector<fs::path> accuracy_runs;
  bool skip_speed = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--essays" && has_value) {
      essay_count = std::stoul(argv[++i]);
    } else if (arg == "--rounds" && has_value) {
      rounds = std::stoi(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      threads = std::stoi(argv[++i]);
    } else if (arg == "--batch" && has_value) {
      batch = std::stoul(argv[++i]);
    } else if (arg == "--model-dir" && has_value) {
      model_dir = argv[++i];
    } else if (arg == "--accuracy" && has_value) {
      accuracy_runs.emplace_back(argv[++i]);
    } else if (arg == "--skip-speed") {
      skip_speed = true;
    } else {
      fmt::print(stderr,
                 "usage: fast_inference_bench [--essays N] [--rounds R] [--threads T] [--batch B] "
                 "[--model-dir DIR] [--accuracy RUN ...] [--skip-speed]\n");
      return 2;
    }
  }
  runtime::configure_threads(threads);
  constexpr std::size_t kMaxLength = 128;
  const bool keep = !model_dir.empty();
  if (!keep) model_dir = fs::temp_directory_path() / fmt::format("emotune-fast-{}", ::getpid());
  if (!fs::exists(model_dir / "emotune.json"))
    bench::make_base_model(model_dir, bench::fixtures_dir(), kMaxLength);

  std::string engines;
  for (const auto engine : at::globalContext().supportedQEngines())
    engines += " " + c10::toString(engine);
  fmt::print("libtorch {}, oneDNN {}, quantized engines:{}, {} threads\n", TORCH_VERSION,
             at::hasMKLDNN() ? "yes" : "no", engines, threads);

  if (!skip_speed) {
    const auto& texts = bench::wassa_train_essays();
    std::vector<predict::EssayInput> essays;
    for (std::size_t i = 0; i < essay_count && i < texts.size(); ++i) essays.push_back({texts[i]});
    fmt::print(
        "speed: ELECTRA-base shape (random weights), {} WASSA train essays, max_length {}, "
        "median of {} rounds\n",
        essays.size(), kMaxLength, rounds);
    speed(model_dir, essays, rounds, threads, batch, kMaxLength);
  }
  if (!accuracy_runs.empty()) {
    const auto dev = data::load_wassa(bench::data_dir(), data::Split::dev);
    for (const auto& run : accuracy_runs) accuracy(run, dev, threads);
  }
  if (!keep) fs::remove_all(model_dir);
  return 0;
}
