#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "train/config.h"

namespace emotune::train {
namespace {

namespace fs = std::filesystem;
using emotune::testing::TempDir;

using emotune::testing::error_of;

TEST(Config, ReadsNestedTablesListsAndDefaults) {
  TempDir temp;
  write_file_atomic(
      temp / "c.toml",
      "backbone = \"/models/x\"\ntasks = [\"empathy\", \"distress\"]\nbatch_size = 8\n"
      "learning_rate = 2e-5\nseeds = [1, 2, 3]\n[loss_weights]\ndistress = 0.5\n");
  const auto config = load_config(temp / "c.toml");
  EXPECT_EQ(config.tasks, (std::vector<model::Task>{model::Task::empathy, model::Task::distress}));
  EXPECT_EQ(config.batch_size, 8);
  EXPECT_DOUBLE_EQ(config.learning_rate, 2e-5);
  EXPECT_EQ(config.seeds, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(config.loss_weights.at(model::Task::distress), 0.5);
  // The paper's optimizer defaults.
  EXPECT_DOUBLE_EQ(config.adam_beta1, 0.9);
  EXPECT_DOUBLE_EQ(config.adam_beta2, 0.99);
  EXPECT_DOUBLE_EQ(config.adam_eps, 1e-6);
  EXPECT_DOUBLE_EQ(config.weight_decay, 0.0);
  EXPECT_EQ(config.lr_schedule, "constant");
  EXPECT_EQ(config.resolved_selection_metric(), "avg_pearson");
  EXPECT_NO_THROW(validate(config));
}

TEST(Config, UnknownKeySuggestsTheNearestWithFileAndLine) {
  TempDir temp;
  write_file_atomic(temp / "c.toml", "backbone = \"x\"\n\nbatch_sise = 8\n");
  const auto message = error_of([&] { load_config(temp / "c.toml"); });
  EXPECT_NE(message.find("c.toml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'batch_size'"), std::string::npos) << message;
  TrainConfig config;
  EXPECT_NE(error_of([&] {
              apply_override(config, "loss_weights.empaty=2");
            }).find("did you mean 'loss_weights.empathy'"),
            std::string::npos);
}

TEST(Config, WrongTypesAndOutOfRangeValuesAreErrors) {
  TempDir temp;
  write_file_atomic(temp / "c.toml", "backbone = \"x\"\nepochs = \"many\"\n");
  EXPECT_NE(
      error_of([&] { load_config(temp / "c.toml"); }).find("c.toml:2: epochs: expected an integer"),
      std::string::npos);
  TrainConfig config;
  config.backbone = "x";
  for (const char* bad :
       {"learning_rate=2", "batch_size=0", "adam_beta2=1", "lr_schedule=cosine", "augment=xx",
        "dtype=int8", "tasks=empathy,empathy", "max_length=1", "selection_metric=macro_f1",
        "tasks=anger", "head_bias_init=mean", "mixed_precision=fp16", "attention_scale=0",
        "attention_scale=-1", "backbone_weights=embeddings", "initializer_range=0"}) {
    auto copy = config;
    EXPECT_THROW(
        {
          apply_override(copy, bad);
          validate(copy);
        },
        Error)
        << bad;
  }
  EXPECT_NE(error_of([&] {
              auto copy = config;
              apply_override(copy, "learning_rate=2");
              validate(copy);
            }).find("learning_rate"),
            std::string::npos);
}

TEST(Config, MixedPrecisionNeedsFloat32Weights) {
  TrainConfig config;
  config.backbone = "x";
  apply_override(config, "mixed_precision=auto");
  EXPECT_NO_THROW(validate(config));
  apply_override(config, "mixed_precision=bf16");
  EXPECT_NO_THROW(validate(config));
  apply_override(config, "dtype=bfloat16");
  EXPECT_NE(error_of([&] { validate(config); }).find("mixed_precision"), std::string::npos);
}

TEST(Config, OverridesAcceptTomlAndBareWords) {
  TrainConfig config;
  apply_override(config, "learning_rate=3e-5");
  apply_override(config, "tasks=emotion");
  apply_override(config, "seeds=1,2,3");
  apply_override(config, "backbone=/some/path");
  apply_override(config, "lr_schedule=linear");
  apply_override(config, "length_bucketing=true");
  apply_override(config, "head_dropout=0.3");
  EXPECT_DOUBLE_EQ(config.learning_rate, 3e-5);
  EXPECT_EQ(config.tasks, std::vector<model::Task>{model::Task::emotion});
  EXPECT_EQ(config.seeds, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(config.backbone, "/some/path");
  EXPECT_EQ(config.lr_schedule, "linear");
  EXPECT_TRUE(config.length_bucketing);
  EXPECT_DOUBLE_EQ(config.head_dropout.value(), 0.3);
  EXPECT_EQ(config.resolved_selection_metric(), "macro_f1");
  EXPECT_THROW(apply_override(config, "no_equals_sign"), Error);
}

TEST(Config, WrittenTomlReadsBackTheSame) {
  TrainConfig config;
  config.backbone = "/m/electra";
  config.tasks = {model::Task::emotion};
  config.loss_weights[model::Task::emotion] = 2.0;
  config.seeds = {4, 5};
  config.augment = "ra";
  config.head_dropout = 0.0;
  TempDir temp;
  write_file_atomic(temp / "c.toml", to_toml(config));
  const auto back = load_config(temp / "c.toml");
  EXPECT_EQ(to_toml(back), to_toml(config));
  EXPECT_EQ(back.seeds, config.seeds);
  EXPECT_EQ(back.head_dropout, config.head_dropout);
}

TEST(Config, AttentionScaleIsWrittenOnlyWhenSet) {
  TrainConfig config;
  config.backbone = "/m/x";
  EXPECT_EQ(to_toml(config).find("attention_scale"), std::string::npos);
  apply_override(config, "attention_scale=0.1");
  EXPECT_DOUBLE_EQ(config.attention_scale, 0.1);
  TempDir temp;
  write_file_atomic(temp / "c.toml", to_toml(config));
  EXPECT_DOUBLE_EQ(load_config(temp / "c.toml").attention_scale, 0.1);
}

TEST(Config, BackboneWeightsAndInitializerRangeAreWrittenOnlyWhenSet) {
  TrainConfig config;
  config.backbone = "/m/x";
  EXPECT_EQ(to_toml(config).find("backbone_weights"), std::string::npos);
  EXPECT_EQ(to_toml(config).find("initializer_range"), std::string::npos);
  apply_override(config, "backbone_weights=word_embeddings");
  apply_override(config, "initializer_range=0.02");
  validate(config);
  TempDir temp;
  write_file_atomic(temp / "c.toml", to_toml(config));
  const auto back = load_config(temp / "c.toml");
  EXPECT_EQ(back.backbone_weights, "word_embeddings");
  EXPECT_DOUBLE_EQ(back.initializer_range.value_or(0), 0.02);
  // A fresh draw keeps nothing of the backbone: asking for its word embeddings contradicts it.
  apply_override(config, "random_init=true");
  EXPECT_NE(error_of([&] { validate(config); }).find("random_init"), std::string::npos);
}

TEST(Config, InputsKeyReadsPersonAndIsChecked) {
  TrainConfig config;
  config.backbone = "/m/x";
  EXPECT_EQ(config.inputs, std::vector<std::string>{"text"});
  EXPECT_FALSE(config.reads_person());
  apply_override(config, "inputs=text,person");
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"text", "person"}));
  EXPECT_TRUE(config.reads_person());
  EXPECT_NO_THROW(validate(config));
  TempDir temp;
  write_file_atomic(temp / "c.toml", to_toml(config));
  EXPECT_EQ(load_config(temp / "c.toml").inputs, config.inputs);
  apply_override(config, R"(inputs=["text", "persons"])");
  EXPECT_NE(error_of([&] { validate(config); }).find("unknown input 'persons'"), std::string::npos);
  apply_override(config, "inputs=person");
  EXPECT_NE(error_of([&] { validate(config); }).find("inputs"), std::string::npos);
  apply_override(config, "inputs=text,text");
  EXPECT_NE(error_of([&] { validate(config); }).find("listed twice"), std::string::npos);
}

TEST(Config, PersonConfigsLoadAndValidate) {
  const auto root = fs::path(__FILE__).parent_path() / ".." / "..";
  for (const auto* file :
       {"configs/minilm/multitask-person.toml", "configs/minilm/emotion-ba-person.toml",
        "configs/quick/person/multitask-person.toml", "configs/quick/person/emotion-person.toml"}) {
    SCOPED_TRACE(file);
    auto config = load_config(root / file);
    if (config.backbone.empty()) config.backbone = "/m/x";  // quickstart sets it
    config.models_root = "/models";
    EXPECT_NO_THROW(validate(config));
    EXPECT_TRUE(config.reads_person());
  }
}

TEST(Config, ModelsRootIsResolvedAtRunTime) {
  TrainConfig config;
  config.backbone = "${models_root}/electra-large-discriminator";
  config.models_root = "/opt/models";
  EXPECT_EQ(config.backbone_dir(), fs::path("/opt/models/electra-large-discriminator"));
}

TEST(Config, EveryPaperConfigLoadsAndValidates) {
  const auto dir = fs::path(__FILE__).parent_path() / ".." / ".." / "configs" / "paper";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    SCOPED_TRACE(entry.path().string());
    auto config = load_config(entry.path());
    config.models_root = "/models";
    EXPECT_NO_THROW(validate(config));
    EXPECT_EQ(config.backbone.rfind("${models_root}/", 0), 0u);
    EXPECT_DOUBLE_EQ(config.learning_rate, 1e-5);
    ++count;
  }
  EXPECT_EQ(count, 12);
}

}  // namespace
}  // namespace emotune::train
