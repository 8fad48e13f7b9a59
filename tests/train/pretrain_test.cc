#include "train/pretrain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/test_paths.h"
#include "data/training_texts.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/encoder.h"
#include "text/tokenizer.h"
#include "text/vocab_trainer.h"
#include "train/cooccurrence_embeddings.h"
#include "train/local_attention_init.h"
#include "train/train_helpers.h"

namespace emotune::train {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;
using testing::expect_same_tensors;
using ::testing::HasSubstr;

fs::path fixture(const std::string& name) {
  return emotune::testing::hf_fixtures_dir() / name;
}

// The fixture ELECTRA's shape (read from its config.json) on 16 texts per source.
PretrainOptions tiny_options(const fs::path& out) {
  PretrainOptions o;
  o.data_dir = emotune::testing::data_dir();
  o.out_dir = out;
  o.config = (fixture("electra_pretraining") / "config.json").string();
  o.vocab_dir = fixture("electra");
  o.text_limit = 16;
  o.max_length = 32;
  o.batch_size = 4;
  o.steps = 6;
  o.learning_rate = 2e-3;
  o.warmup_ratio = 0.0;
  o.generator_ratio = 0.5;
  o.snapshot_every_steps = 3;
  o.log_every_steps = 2;
  return o;
}

PretrainHooks quiet() {
  PretrainHooks hooks;
  hooks.progress = false;
  return hooks;
}

std::set<std::string> tensor_names(const fs::path& file) {
  std::set<std::string> names;
  const io::SafetensorsFile safetensors(file);
  for (const auto& info : safetensors.tensors()) names.insert(info.name);
  return names;
}

// The config.json of a fixture folder, and what the pre-training code makes of it: every
// expected size below comes from these, so the tests hold for another fixture set.
nlohmann::json fixture_config(const std::string& name) {
  return read_json(fixture(name) / "config.json");
}
nlohmann::json expected_generator_config(const PretrainOptions& options) {
  return generator_config_for(discriminator_config(options), options.generator_ratio);
}
double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}
std::string last_layer(const nlohmann::json& config) {
  return std::to_string(config.at("num_hidden_layers").get<int>() - 1);
}

TEST(Pretrain, LossFallsOverTheFirstSteps) {
  const TempDir dir;
  auto options = tiny_options(dir / "out");
  options.steps = 80;
  options.snapshot_every_steps = 100;
  std::vector<double> losses;
  auto hooks = quiet();
  hooks.on_step = [&](std::int64_t, double loss, double, double) { losses.push_back(loss); };
  const auto result = run_pretraining(options, hooks);
  ASSERT_EQ(losses.size(), 80u);
  EXPECT_EQ(result.steps_done, 80);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += losses[static_cast<std::size_t>(i)];
    last += losses[losses.size() - 1 - static_cast<std::size_t>(i)];
  }
  // The fan-in RTD head starts confident and falls within the first five steps already, so
  // the ratio is smaller than with the old 0.02 init (which starts at RTD = ln 2 and held 0.8).
  std::printf("mean loss of the first five steps %.2f, of the last five %.2f\n", first / 5,
              last / 5);
  EXPECT_LT(last, 0.9 * first) << "first five " << first / 5 << ", last five " << last / 5;
  EXPECT_TRUE(fs::exists(dir / "out" / "log.jsonl"));
}

TEST(Pretrain, WritesHfElectraForPreTrainingAndMaskedLmNames) {
  const TempDir dir;
  const auto options = tiny_options(dir / "out");
  const auto result = run_pretraining(options, quiet());
  const auto out = dir / "out";
  EXPECT_EQ(result.steps_done, 6);

  // Exactly the tensor names and shapes of HF's ElectraForPreTraining (the fixture was saved by
  // transformers from this config), less the position_ids buffer that HF ≥ 4.31 omits too.
  auto expected = tensor_names(fixture("electra_pretraining") / "model.safetensors");
  expected.erase("electra.embeddings.position_ids");
  EXPECT_EQ(tensor_names(out / "model.safetensors"), expected);
  const auto written = model::load_tensors(out / "model.safetensors");
  for (const auto& [name, tensor] :
       model::load_tensors(fixture("electra_pretraining") / "model.safetensors"))
    if (written.contains(name)) {
      EXPECT_EQ(written.at(name).sizes(), tensor.sizes()) << name;
    }

  const auto config = read_json(out / "config.json");
  EXPECT_EQ(config.at("model_type"), "electra");
  EXPECT_EQ(config.at("architectures").at(0), "ElectraForPreTraining");
  EXPECT_TRUE(fs::exists(out / "vocab.txt"));

  // ElectraForMaskedLM: shared embeddings, a body generator_ratio as wide as the
  // discriminator's (embeddings_project from the embedding size when they differ),
  // generator_predictions back to the embedding size, lm head bias (its weight is tied to the
  // embeddings).
  const auto want_generator = expected_generator_config(options);
  const auto generator = tensor_names(out / "generator" / "model.safetensors");
  std::vector<std::string> names = {
      "electra.embeddings.word_embeddings.weight", "electra.embeddings.LayerNorm.weight",
      "electra.encoder.layer." + last_layer(want_generator) + ".output.dense.weight",
      "generator_predictions.dense.weight", "generator_predictions.LayerNorm.bias",
      "generator_lm_head.bias"};
  const bool projected = want_generator.at("embedding_size") != want_generator.at("hidden_size");
  EXPECT_EQ(generator.contains("electra.embeddings_project.weight"), projected);
  for (const auto& name : names) EXPECT_TRUE(generator.contains(name)) << name;
  for (const auto& name : generator)
    EXPECT_TRUE(name.starts_with("electra.") || name.starts_with("generator_")) << name;
  const auto generator_config = read_json(out / "generator" / "config.json");
  EXPECT_EQ(generator_config.at("hidden_size"), want_generator.at("hidden_size"));
  EXPECT_EQ(generator_config.at("embedding_size"),
            fixture_config("electra_pretraining").at("embedding_size"));
  EXPECT_EQ(generator_config.at("embedding_size"), want_generator.at("embedding_size"));
  // The pre-training rule itself: generator_ratio of the discriminator's width, rounded.
  EXPECT_EQ(want_generator.at("hidden_size").get<double>(),
            std::max(1.0, std::round(fixture_config("electra_pretraining")
                                         .at("hidden_size")
                                         .get<double>() *
                                     options.generator_ratio)));
  EXPECT_EQ(generator_config.at("architectures").at(0), "ElectraForMaskedLM");
  const auto gen_tensors = model::load_tensors(out / "generator" / "model.safetensors");
  EXPECT_TRUE(torch::equal(gen_tensors.at("electra.embeddings.word_embeddings.weight"),
                           written.at("electra.embeddings.word_embeddings.weight")))
      << "generator and discriminator share their embeddings";

  // emotune's own loader takes it as a backbone.
  const auto encoder = model::load_encoder(out);
  EXPECT_EQ(encoder->model_type(), "electra");
  EXPECT_EQ(encoder->hidden_size(), fixture_config("electra_pretraining").at("hidden_size"));
}

TEST(Pretrain, CheckpointRunsThroughEmotuneEncode) {
  const TempDir dir;
  run_pretraining(tiny_options(dir / "out"), quiet());
  write_file_atomic(dir / "in.jsonl", "{\"text\": \"I feel so sad for the families.\"}\n");
  const auto result = emotune::testing::run_cli(
      "encode --model " + emotune::testing::shell_quote((dir / "out").string()) + " --input " +
      emotune::testing::shell_quote((dir / "in.jsonl").string()) + " --output " +
      emotune::testing::shell_quote((dir / "h.safetensors").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto hidden = model::load_tensors(dir / "h.safetensors");
  EXPECT_EQ(hidden.at("first_token").size(1),
            fixture_config("electra_pretraining").at("hidden_size").get<std::int64_t>());
  EXPECT_TRUE(torch::isfinite(hidden.at("last_hidden_state")).all().item<bool>());
}

TEST(Pretrain, ResumeAfterACrashMatchesAnUninterruptedRunBitForBit) {
  const TempDir dir;
  run_pretraining(tiny_options(dir / "straight"), quiet());

  auto hooks = quiet();
  hooks.crash_after_step = 5;  // after the step-3 snapshot, before the end
  EXPECT_THROW(run_pretraining(tiny_options(dir / "crashed"), hooks), SimulatedPretrainCrash);
  const auto state = read_json(dir / "crashed" / "snapshot" / "state.json");
  EXPECT_EQ(state.at("position").at("step"), 3);

  auto resume = tiny_options(dir / "crashed");
  resume.resume = true;
  std::vector<std::int64_t> steps;
  auto resume_hooks = quiet();
  resume_hooks.on_step = [&](std::int64_t step, double, double, double) { steps.push_back(step); };
  const auto result = run_pretraining(resume, resume_hooks);
  EXPECT_EQ(steps, (std::vector<std::int64_t>{4, 5, 6}));
  EXPECT_EQ(result.steps_done, 6);
  expect_same_tensors(dir / "straight" / "model.safetensors",
                      dir / "crashed" / "model.safetensors");
  expect_same_tensors(dir / "straight" / "generator" / "model.safetensors",
                      dir / "crashed" / "generator" / "model.safetensors");
  // The same log lines (elapsed time aside): the crashed run's lines after its snapshot were
  // dropped and written again.
  const auto lines = [](const fs::path& file) {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_file(file));
    for (std::string line; std::getline(in, line);) {
      auto entry = nlohmann::json::parse(line);
      entry.erase("elapsed_seconds");
      out.push_back(entry);
    }
    return out;
  };
  EXPECT_EQ(lines(dir / "straight" / "log.jsonl"), lines(dir / "crashed" / "log.jsonl"));
}

TEST(Pretrain, FromACheckpointWithoutGeneratorStartsFromItsWeights) {
  const TempDir dir;
  auto options = tiny_options(dir / "adapted");
  options.from = fixture("electra_pretraining");
  options.vocab_dir.clear();
  options.config = "ignored-with-from";
  options.steps = 1;
  options.learning_rate = 1e-9;
  const auto result = run_pretraining(options, quiet());
  EXPECT_EQ(result.steps_done, 1);
  const auto before = model::load_tensors(fixture("electra_pretraining") / "model.safetensors");
  const auto after = model::load_tensors(dir / "adapted" / "model.safetensors");
  for (const auto& name :
       {std::string("electra.embeddings.word_embeddings.weight"),
        "electra.encoder.layer." + last_layer(fixture_config("electra_pretraining")) +
            ".output.dense.weight",
        std::string("discriminator_predictions.dense_prediction.weight")})
    EXPECT_LT(max_abs_difference(before.at(name), after.at(name)), 1e-5) << name;
  EXPECT_TRUE(fs::exists(dir / "adapted" / "generator" / "model.safetensors"));
  EXPECT_EQ(read_json(dir / "adapted" / "generator" / "config.json").at("hidden_size"),
            expected_generator_config(options).at("hidden_size"));

  // And once more from the result, which now has a generator of its own.
  auto again = options;
  again.from = dir / "adapted";
  again.out_dir = dir / "again";
  run_pretraining(again, quiet());
  const auto generator_before =
      model::load_tensors(dir / "adapted" / "generator" / "model.safetensors");
  const auto generator_after =
      model::load_tensors(dir / "again" / "generator" / "model.safetensors");
  EXPECT_LT(max_abs_difference(generator_before.at("generator_predictions.dense.weight"),
                               generator_after.at("generator_predictions.dense.weight")),
            1e-5);
}

// Continued pre-training of a BERT checkpoint (domain-adaptive): masked-LM alone, written as
// an HF BertForMaskedLM folder that emotune's loader fine-tunes like the original.
PretrainOptions bert_options(const fs::path& out) {
  auto options = tiny_options(out);
  options.from = fixture("bert");
  options.vocab_dir.clear();
  options.config = "ignored-with-from";
  return options;
}

TEST(Pretrain, ContinuesABertCheckpointWithMaskedLmAlone) {
  const TempDir dir;
  // A step at a negligible learning rate: the body is the checkpoint's, under BERT's names.
  auto still = bert_options(dir / "still");
  still.steps = 1;
  still.learning_rate = 1e-9;
  run_pretraining(still, quiet());
  const auto config = read_json(dir / "still" / "config.json");
  EXPECT_EQ(config.at("model_type"), "bert");
  EXPECT_EQ(config.at("architectures").at(0), "BertForMaskedLM");
  EXPECT_EQ(config.at("hidden_size"), fixture_config("bert").at("hidden_size"));
  EXPECT_FALSE(fs::exists(dir / "still" / "generator"));
  for (const auto& name : tensor_names(dir / "still" / "model.safetensors"))
    EXPECT_TRUE(name.starts_with("bert.") || name.starts_with("cls.predictions.")) << name;
  const auto written = model::load_tensors(dir / "still" / "model.safetensors");
  for (const char* head : {"cls.predictions.bias", "cls.predictions.transform.dense.weight",
                           "cls.predictions.transform.LayerNorm.weight"})
    EXPECT_TRUE(written.contains(head)) << head;
  EXPECT_FALSE(written.contains("cls.predictions.decoder.weight")) << "tied, left out as HF does";
  const auto original = model::load_encoder(fixture("bert"));
  const auto adapted = model::load_encoder(dir / "still");
  original->eval();
  adapted->eval();
  const auto tokenizer = text::load_tokenizer(fixture("bert"));
  std::vector<std::int64_t> tokens{tokenizer->special_ids().cls};
  for (const auto id : tokenizer->encode_without_specials("I feel so sad for the families."))
    tokens.push_back(id);
  tokens.push_back(tokenizer->special_ids().sep);
  const auto ids = torch::tensor(tokens, torch::kLong).unsqueeze(0);
  const auto mask = torch::ones_like(ids);
  {
    torch::NoGradGuard no_grad;
    EXPECT_LT(
        max_abs_difference(original->forward(ids, mask, {}), adapted->forward(ids, mask, {})),
        1e-4);
  }

  // Trained for real, the MLM loss falls (a fresh head on the tiny fixture: unigram first).
  auto learning = bert_options(dir / "learning");
  learning.steps = 30;
  learning.snapshot_every_steps = 100;
  std::vector<double> mlm;
  auto hooks = quiet();
  hooks.on_step = [&](std::int64_t, double loss, double masked_lm, double rtd) {
    EXPECT_EQ(loss, masked_lm);
    EXPECT_EQ(rtd, 0.0);
    mlm.push_back(masked_lm);
  };
  run_pretraining(learning, hooks);
  ASSERT_EQ(mlm.size(), 30u);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    first += mlm[i];
    last += mlm[mlm.size() - 1 - i];
  }
  EXPECT_LT(last, 0.9 * first) << "first five " << first / 5 << ", last five " << last / 5;
  const auto log = read_file(dir / "learning" / "log.jsonl");
  EXPECT_THAT(log, HasSubstr("generator_mask_accuracy"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("rtd_loss")));
  EXPECT_EQ(read_json(dir / "learning" / "pretraining.json").at("recipe").at("objective"), "mlm");

  // From its own result, the trained MLM head is taken over too.
  auto again = bert_options(dir / "again");
  again.from = dir / "learning";
  again.steps = 1;
  again.learning_rate = 1e-9;
  run_pretraining(again, quiet());
  const auto head_before = model::load_tensors(dir / "learning" / "model.safetensors");
  const auto head_after = model::load_tensors(dir / "again" / "model.safetensors");
  EXPECT_LT(max_abs_difference(head_before.at("cls.predictions.transform.dense.weight"),
                               head_after.at("cls.predictions.transform.dense.weight")),
            1e-5);
}

TEST(Pretrain, BertContinuationResumesBitForBit) {
  const TempDir dir;
  run_pretraining(bert_options(dir / "straight"), quiet());
  auto hooks = quiet();
  hooks.crash_after_step = 5;
  EXPECT_THROW(run_pretraining(bert_options(dir / "crashed"), hooks), SimulatedPretrainCrash);
  auto resume = bert_options(dir / "crashed");
  resume.resume = true;
  run_pretraining(resume, quiet());
  expect_same_tensors(dir / "straight" / "model.safetensors",
                      dir / "crashed" / "model.safetensors");
}

// New weights are drawn with std 1/sqrt(hidden) of each model, and the checkpoints' configs say
// so; --init config keeps the configs' range; a checkpoint given with --from keeps its own.
TEST(Pretrain, FanInInitialisationIsDrawnAndRecorded) {
  const TempDir dir;
  auto options = tiny_options(dir / "fan-in");
  options.steps = 1;
  run_pretraining(options, quiet());
  const auto expected_range = [](const nlohmann::json& config) {
    return 1.0 / std::sqrt(config.at("hidden_size").get<double>());
  };
  for (const auto& folder : {dir / "fan-in", dir / "fan-in" / "generator"}) {
    const auto config = read_json(folder / "config.json");
    EXPECT_NEAR(config.at("initializer_range").get<double>(), expected_range(config), 1e-4)
        << folder;
  }
  // The drawn weights follow it (std of a 2-D weight the single step barely moved).
  const double discriminator_range = expected_range(read_json(dir / "fan-in" / "config.json"));
  const auto weights = model::load_tensors(dir / "fan-in" / "model.safetensors");
  const auto& query = weights.at("electra.encoder.layer.0.attention.self.query.weight");
  EXPECT_NEAR(query.std().item<double>(), discriminator_range, 0.2 * discriminator_range);

  auto kept = tiny_options(dir / "config");
  kept.steps = 1;
  kept.initialization = "config";
  run_pretraining(kept, quiet());
  EXPECT_EQ(read_json(dir / "config" / "config.json").at("initializer_range"),
            discriminator_config(kept).at("initializer_range"));

  auto from = tiny_options(dir / "from");
  from.from = fixture("electra_pretraining");
  from.vocab_dir.clear();
  from.steps = 1;
  run_pretraining(from, quiet());
  EXPECT_EQ(read_json(dir / "from" / "config.json").at("initializer_range"),
            fixture_config("electra_pretraining").at("initializer_range"));
  const auto generator = read_json(dir / "from" / "generator" / "config.json");
  EXPECT_NEAR(generator.at("initializer_range").get<double>(), expected_range(generator), 1e-4);

  auto bad = tiny_options(dir / "bad");
  bad.initialization = "xavier";
  EXPECT_THROW(run_pretraining(bad, quiet()), Error);
}

// The local attention start with pre-training dropout 0 and a rate so small that the weights
// stay (to float precision) where they started, for `steps` steps.
PretrainOptions local_start_options(const fs::path& out, std::int64_t steps) {
  auto o = tiny_options(out);
  o.steps = steps;
  o.learning_rate = 1e-12;
  o.attention_init = "local";
  o.dropout = 0.0;
  return o;
}
// What initialize_sinusoidal_positions writes into a tensor shaped like `positions`.
torch::Tensor sinusoids_like(const torch::Tensor& positions, double std) {
  auto expected = torch::zeros_like(positions);
  initialize_sinusoidal_positions(expected, std);
  return expected;
}

// --attention-init local and --dropout: written into the checkpoint (sinusoidal positions),
// kept out of its config.json (fine-tuning keeps the config's dropout), recorded in the recipe,
// and refused where they cannot apply.
TEST(Pretrain, LocalAttentionStartAndPretrainingDropout) {
  const TempDir dir;
  const auto options = local_start_options(dir / "local", 1);
  // Another fixture set may hold embeddings wider than the hidden size: then a named refusal.
  const auto shape = fixture_config("electra_pretraining");
  const auto hidden = shape.at("hidden_size").get<std::int64_t>();
  const auto embedding = shape.value("embedding_size", hidden);
  if (embedding > hidden || embedding % 2 != 0) {
    EXPECT_THAT(emotune::testing::error_of([&] { run_pretraining(options, quiet()); }),
                HasSubstr("--attention-init local needs"));
    GTEST_SKIP() << "fixture embedding_size " << embedding << " > hidden_size " << hidden;
  }
  run_pretraining(options, quiet());
  const auto weights = model::load_tensors(dir / "local" / "model.safetensors");
  const auto config = read_json(dir / "local" / "config.json");
  const auto expected = sinusoids_like(weights.at("electra.embeddings.position_embeddings.weight"),
                                       config.at("initializer_range").get<double>());
  EXPECT_LT(max_abs_difference(weights.at("electra.embeddings.position_embeddings.weight"),
                               expected),
            1e-5);
  EXPECT_EQ(config.at("hidden_dropout_prob"), discriminator_config(options).at("hidden_dropout_prob"));
  const auto recipe = read_json(dir / "local" / "pretraining.json").at("recipe");
  EXPECT_EQ(recipe.at("attention_init"), "local");
  EXPECT_EQ(recipe.at("dropout"), 0.0);

  auto plain = tiny_options(dir / "plain");
  plain.steps = 1;
  run_pretraining(plain, quiet());
  const auto plain_recipe = read_json(dir / "plain" / "pretraining.json").at("recipe");
  EXPECT_EQ(plain_recipe.at("attention_init"), "random");
  EXPECT_TRUE(plain_recipe.at("dropout").is_null());
  EXPECT_GT(max_abs_difference(model::load_tensors(dir / "plain" / "model.safetensors")
                                   .at("electra.embeddings.position_embeddings.weight"),
                               expected),
            1e-3);

  auto bad = tiny_options(dir / "bad");
  bad.attention_init = "global";
  EXPECT_THROW(run_pretraining(bad, quiet()), Error);
  bad = tiny_options(dir / "bad-dropout");
  bad.dropout = 1.0;
  EXPECT_THROW(run_pretraining(bad, quiet()), Error);
  bad = tiny_options(dir / "bad-from");
  bad.from = fixture("electra_pretraining");
  bad.vocab_dir.clear();
  bad.attention_init = "local";
  EXPECT_THROW(run_pretraining(bad, quiet()), Error);
}

TEST(Pretrain, GeneratorWithItsOwnEmbeddingsTakesTheLocalStartToo) {
  const TempDir dir;
  auto options = local_start_options(dir / "own", 2);
  options.snapshot_every_steps = 1;
  options.generator_embeddings = "own";
  const auto generator_config =
      generator_config_for(discriminator_config(options), options.generator_ratio, true);
  const auto hidden = generator_config.at("hidden_size").get<std::int64_t>();
  ASSERT_EQ(generator_config.at("embedding_size"), hidden);
  if (hidden % 2 != 0 || hidden / generator_config.at("num_attention_heads").get<int>() < 2)
    GTEST_SKIP() << "fixture generator of hidden size " << hidden << " cannot take the local start";
  run_pretraining(options, quiet());

  const auto folder = dir / "own" / "generator";
  const auto written = read_json(folder / "config.json");
  EXPECT_EQ(written.at("embedding_size"), hidden);
  EXPECT_EQ(written.at("hidden_size"), hidden);
  const auto weights = model::load_tensors(folder / "model.safetensors");
  const auto& positions = weights.at("electra.embeddings.position_embeddings.weight");
  EXPECT_EQ(positions.size(1), hidden);
  const auto expected = sinusoids_like(positions, written.at("initializer_range").get<double>());
  EXPECT_LT(max_abs_difference(positions, expected), 1e-5) << "the generator's own sinusoids";
  EXPECT_EQ(weights.count("electra.embeddings_project.weight"), 0u);
  const auto discriminator = model::load_tensors(dir / "own" / "model.safetensors");
  EXPECT_NE(discriminator.at("electra.embeddings.word_embeddings.weight").sizes(),
            weights.at("electra.embeddings.word_embeddings.weight").sizes());
  // Layer 0's first head looks at the previous token from the start (attention logits of
  // position 5 over positions 0..9, from the position embeddings alone).
  const auto query = weights.at("electra.encoder.layer.0.attention.self.query.weight");
  const auto key = weights.at("electra.encoder.layer.0.attention.self.key.weight");
  const auto head = hidden / generator_config.at("num_attention_heads").get<std::int64_t>();
  const auto logits = torch::matmul(positions.slice(0, 5, 6).matmul(query.slice(0, 0, head).t()),
                                    positions.slice(0, 0, 10).matmul(key.slice(0, 0, head).t()).t());
  EXPECT_EQ(logits.argmax().item<std::int64_t>(), 4) << logits;

  // The snapshot holds the generator's own embeddings, so --resume rebuilds the same pair.
  auto resumed = options;
  resumed.resume = true;
  resumed.steps = 3;
  EXPECT_NO_THROW(run_pretraining(resumed, quiet()));
  EXPECT_LT(max_abs_difference(model::load_tensors(folder / "model.safetensors")
                                   .at("electra.embeddings.position_embeddings.weight"),
                               expected),
            1e-5);

  auto bad = tiny_options(dir / "bad");
  bad.generator_embeddings = "tied";
  EXPECT_THAT(emotune::testing::error_of([&] { run_pretraining(bad, quiet()); }),
              HasSubstr("--generator-embeddings must be shared or own"));
}

// --word-embeddings cooccurrence: the checkpoint's word embeddings are the corpus's PPMI-SVD
// vectors, centred and at the draw's std; the recipe records it; refused with --from and for a
// vocabulary too large for the dense count matrix.
TEST(Pretrain, WordEmbeddingsCanStartFromCooccurrenceCounts) {
  const TempDir dir;
  data::TrainingTextOptions texts;
  texts.limit_per_source = 200;
  text::VocabTrainOptions vocab_options;
  vocab_options.vocab_size = 400;
  text::train_vocab(data::load_training_texts(emotune::testing::data_dir(), texts).texts,
                    dir / "vocab", vocab_options);
  // The fixture's shape, whose vocab_size may exceed this vocabulary's.
  auto options = tiny_options(dir / "cooccurrence");
  options.vocab_dir = dir / "vocab";
  options.text_limit = texts.limit_per_source;
  options.steps = 1;
  options.learning_rate = 1e-12;
  options.word_embeddings = "cooccurrence";
  run_pretraining(options, quiet());
  auto random = options;
  random.out_dir = dir / "random";
  random.word_embeddings = "random";
  run_pretraining(random, quiet());

  const std::string name = "electra.embeddings.word_embeddings.weight";
  // The tokenizer's rows; a larger vocab_size in the config keeps its draw past them.
  const auto tokenizer = text::load_tokenizer(dir / "vocab");
  const auto seen = static_cast<std::int64_t>(tokenizer->vocab_size());
  const auto full = model::load_tensors(dir / "cooccurrence" / "model.safetensors").at(name);
  const auto full_drawn = model::load_tensors(dir / "random" / "model.safetensors").at(name);
  const auto table = full.narrow(0, 0, seen);
  const auto drawn = full_drawn.narrow(0, 0, seen);
  if (full.size(0) > seen)
    EXPECT_LT(max_abs_difference(full.narrow(0, seen, full.size(0) - seen),
                                 full_drawn.narrow(0, seen, full.size(0) - seen)),
              1e-6);
  const auto config = read_json(dir / "cooccurrence" / "config.json");
  const auto range = config.at("initializer_range").get<double>();
  EXPECT_NEAR(table.std().item<double>() / range, 1.0, 0.02);
  EXPECT_LT(table.mean(0).abs().max().item<double>(), 0.1 * range) << "centred";
  EXPECT_GT(max_abs_difference(table, drawn), range);
  // Special tokens are never counted: [SEP] and [MASK] share one row (zero before centring),
  // a word does not.
  const auto& special = tokenizer->special_ids();
  const auto the = tokenizer->encode_without_specials("the").at(0);
  EXPECT_LT(max_abs_difference(table[special.sep], table[special.mask]), 1e-6);
  EXPECT_GT(max_abs_difference(table[special.sep], table[the]), 0.1 * range);
  EXPECT_EQ(read_json(dir / "cooccurrence" / "pretraining.json").at("recipe").at("word_embeddings"),
            "cooccurrence");
  EXPECT_EQ(read_json(dir / "random" / "pretraining.json").at("recipe").at("word_embeddings"),
            "random");

  auto from = options;
  from.out_dir = dir / "from";
  from.from = dir / "cooccurrence";
  from.vocab_dir.clear();
  EXPECT_THAT(emotune::testing::error_of([&] { run_pretraining(from, quiet()); }),
              HasSubstr("does not apply with --from"));
  auto bad = options;
  bad.out_dir = dir / "bad";
  bad.word_embeddings = "glove";
  EXPECT_THAT(emotune::testing::error_of([&] { run_pretraining(bad, quiet()); }),
              HasSubstr("--word-embeddings must be random or cooccurrence"));
  auto large = tiny_options(dir / "large");
  large.word_embeddings = "cooccurrence";
  if (static_cast<std::int64_t>(text::load_tokenizer(large.vocab_dir)->vocab_size()) >
      kMaxCooccurrenceVocabulary)
    EXPECT_THAT(emotune::testing::error_of([&] { run_pretraining(large, quiet()); }),
                HasSubstr("counts a dense vocabulary × vocabulary matrix"));
}

TEST(Pretrain, TimeBudgetStopsCleanlyWithACheckpoint) {
  const TempDir dir;
  auto options = tiny_options(dir / "out");
  options.steps = 100000;
  options.budget_minutes = 0.001;
  const auto result = run_pretraining(options, quiet());
  EXPECT_TRUE(result.stopped_by_budget);
  EXPECT_LT(result.steps_done, 100000);
  EXPECT_NO_THROW(model::load_encoder(dir / "out"));
  EXPECT_FALSE(read_json(dir / "out" / "pretraining.json").at("finished").get<bool>());
}

TEST(Pretrain, BadInputIsANamedError) {
  const TempDir dir;
  const auto expect_error = [](const PretrainOptions& options, const std::string& text) {
    try {
      run_pretraining(options, quiet());
      ADD_FAILURE() << "expected an error containing '" << text << "'";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(text));
    }
  };
  auto options = tiny_options(dir / "a");
  options.config = "huge";
  expect_error(options, "neither a preset");

  options = tiny_options(dir / "b");
  options.vocab_dir.clear();
  expect_error(options, "--vocab");

  options = tiny_options(dir / "c");
  options.resume = true;
  expect_error(options, "no pre-training snapshot");

  options = tiny_options(dir / "d");
  options.from = fixture("roberta");
  expect_error(options, "model_type is 'roberta'");

  // A BERT whose MLM head would apply another activation than the generator's gelu.
  fs::create_directories(dir / "relu-bert");
  for (const auto& entry : fs::directory_iterator(fixture("bert")))
    fs::copy_file(entry.path(), dir / "relu-bert" / entry.path().filename());
  auto relu_config = fixture_config("bert");
  relu_config["hidden_act"] = "relu";
  write_json(dir / "relu-bert" / "config.json", relu_config);
  options = bert_options(dir / "d2");
  options.from = dir / "relu-bert";
  expect_error(options, "hidden_act gelu");

  options = tiny_options(dir / "e");
  options.max_length = 4;
  expect_error(options, "--max-length");

  options = tiny_options(dir / "f");
  options.data_dir = dir / "nowhere";
  expect_error(options, "nowhere");

  options = tiny_options(dir / "g");
  options.steps = 1;
  run_pretraining(options, quiet());
  expect_error(options, "--resume");

  EXPECT_THROW(electra_preset("giant", 100), Error);
}

TEST(Pretrain, PresetsAndGeneratorSizes) {
  EXPECT_EQ(electra_preset("tiny", 16000).at("hidden_size"), 128);
  EXPECT_EQ(generator_config_for(electra_preset("tiny", 16000), 0.25).at("hidden_size"), 32);
  const auto small = electra_preset("small", 16000);
  EXPECT_EQ(small.at("hidden_size"), 256);
  EXPECT_EQ(small.at("num_hidden_layers"), 12);
  EXPECT_EQ(small.at("vocab_size"), 16000);
  const auto generator = generator_config_for(small, 0.25);
  EXPECT_EQ(generator.at("hidden_size"), 64);
  EXPECT_EQ(generator.at("num_attention_heads"), 1);
  EXPECT_EQ(generator.at("intermediate_size"), 256);
  EXPECT_EQ(generator.at("embedding_size"), 128);
  const auto base = generator_config_for(electra_preset("base", 30522), 1.0 / 3);
  EXPECT_EQ(base.at("hidden_size"), 256);
  EXPECT_EQ(base.at("num_attention_heads"), 4);
}

}  // namespace
}  // namespace emotune::train

namespace emotune::train {
namespace {

TEST(PretrainCli, BadOptionsFailWithAMessage) {
  const emotune::testing::TempDir dir;
  const auto out = emotune::testing::shell_quote((dir / "out").string()) + " --data " +
                   emotune::testing::shell_quote(emotune::testing::data_dir().string());
  auto result =
      emotune::testing::run_cli("pretrain --out " + out + " --config nonsense --vocab " +
                                emotune::testing::shell_quote(fixture("electra").string()));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("neither a preset"));
  result = emotune::testing::run_cli("quickstart --out " + out + " --budget-minutes 0");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--budget-minutes"));
}

}  // namespace
}  // namespace emotune::train
