// emotune.json (ModelManifest) and summary.json (RunSummary): what their one reader accepts,
// what it refuses (naming the file and the key), and that writing keeps every key.

#include "io/run_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/files.h"
#include "common/error_of.h"
#include "common/json_file.h"
#include "common/test_paths.h"

namespace emotune::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string manifest_error(const fs::path& folder, const std::string& text) {
  fs::create_directories(folder);
  write_file_atomic(folder / "emotune.json", text);
  try {
    (void)ModelManifest::read(folder);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(ModelManifest, TransformerRoundTripKeepsEveryKey) {
  testing::TempDir temp;
  const json written = {{"model_type", "electra"},
                        {"tasks", {"empathy", "distress"}},
                        {"inputs", {"text", "person"}},
                        {"max_length", 128},
                        {"person", {{"dimension", 21},
                                    {"features", {"iri_perspective"}},
                                    {"standardization", "person_standardization.json"}}},
                        {"heads", {{"empathy", {{"outputs", 1}}}}},
                        {"seed", 7}};
  write_json(temp / "emotune.json", written);
  const auto manifest = ModelManifest::read(temp.path());
  EXPECT_EQ(manifest.kind, ModelKind::transformer);
  EXPECT_EQ(manifest.model_type, "electra");
  EXPECT_EQ(manifest.tasks, (std::vector<Task>{Task::empathy, Task::distress}));
  EXPECT_TRUE(manifest.has_task(Task::distress));
  EXPECT_FALSE(manifest.has_task(Task::emotion));
  EXPECT_TRUE(manifest.reads_person());
  EXPECT_EQ(manifest.max_length, 128);
  ASSERT_TRUE(manifest.person);
  EXPECT_EQ(manifest.person->dimension, 21);
  EXPECT_EQ(manifest.details.at("seed"), 7);
  EXPECT_EQ(manifest.to_json(), written);
  manifest.write(temp / "copy");
  EXPECT_EQ(read_file(temp / "copy" / "emotune.json"), read_file(temp / "emotune.json"));
}

TEST(ModelManifest, LinearNeedsNoLengthAndMayReadPersonOnly) {
  testing::TempDir temp;
  write_json(temp / "emotune.json", {{"kind", "linear"},
                                     {"model_type", "linear"},
                                     {"tasks", {"emotion"}},
                                     {"inputs", {"person"}}});
  const auto manifest = ModelManifest::read(temp.path());
  EXPECT_EQ(manifest.kind, ModelKind::linear);
  EXPECT_FALSE(manifest.reads_text());
  EXPECT_EQ(manifest.to_json().at("kind"), "linear");
  EXPECT_FALSE(manifest.to_json().contains("max_length"));
}

TEST(ModelManifest, BadFilesNameTheFileAndTheKey) {
  testing::TempDir temp;
  const auto folder = temp / "best";
  const std::string ok_start = R"({"model_type": "bert", "max_length": 64, )";
  EXPECT_THAT(manifest_error(folder, "{"), AllOf(HasSubstr("emotune.json"), HasSubstr("JSON")));
  EXPECT_THAT(manifest_error(folder, "[]"), HasSubstr("expected a JSON object"));
  EXPECT_THAT(manifest_error(folder, R"({"model_type": "bert", "max_length": 64})"),
              HasSubstr("key 'tasks' is missing"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["joy"]})"),
              AllOf(HasSubstr("emotune.json"), HasSubstr("key 'tasks'"),
                    HasSubstr("unknown task \"joy\"")));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["emotion", "emotion"]})"),
              HasSubstr("given twice"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": []})"), HasSubstr("non-empty"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["emotion"], "inputs": ["image"]})"),
              HasSubstr("unknown input 'image'"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["emotion"], "inputs": ["person"]})"),
              HasSubstr("\"text\" is missing"));
  EXPECT_THAT(manifest_error(folder, R"({"model_type": "bert", "tasks": ["emotion"]})"),
              HasSubstr("key 'max_length' is missing"));
  EXPECT_THAT(
      manifest_error(folder, R"({"model_type": "bert", "max_length": 2, "tasks": ["emotion"]})"),
      HasSubstr("key 'max_length': expected an integer >= 3"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["emotion"], "person": {}})"),
              HasSubstr("key 'dimension' is missing"));
  EXPECT_THAT(manifest_error(folder, R"({"kind": "forest", "model_type": "x", "tasks": ["emotion"]})"),
              HasSubstr("key 'kind'"));
  EXPECT_THAT(manifest_error(folder, ok_start + R"("tasks": ["emotion"], )"
                                                R"("person": {"dimension": 3, "standardization": 7}})"),
              HasSubstr("key 'person.standardization': expected a string"));
}

TEST(RunSummary, SeedsGiveStatisticsBestSeedAndRanks) {
  testing::TempDir temp;
  const json seeds = {{{"seed", 1}, {"best", {{"score", 0.2}, {"step", 10}}}},
                      {{"seed", 2}, {"best", {{"score", 0.5}, {"step", 20}}}},
                      {{"seed", 3}, {"best", {{"score", 0.5}, {"step", 30}}}},
                      {{"seed", 4}, {"best", {{"score", 0.3}, {"step", 40}}}}};
  auto summary = RunSummary::of_seeds("macro_f1", seeds, temp.path());
  EXPECT_EQ(summary.best_seed, 2);  // the first of equal scores
  EXPECT_DOUBLE_EQ(*summary.best_score, 0.5);
  EXPECT_EQ(summary.best_model, (temp.path() / "seed-2" / "best").string());
  EXPECT_DOUBLE_EQ(summary.statistics["score"]["mean"].get<double>(), 0.375);
  EXPECT_DOUBLE_EQ(summary.statistics["score"]["min"].get<double>(), 0.2);
  EXPECT_FALSE(summary.statistics.contains("step"));  // integers are positions, not scores
  EXPECT_EQ(summary.seed_numbers(), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(summary.seeds_by_score(), (std::vector<std::int64_t>{2, 3, 4, 1}));

  summary.details["emotune_version"] = "test";
  EXPECT_FALSE(RunSummary::present_in(temp.path()));
  summary.write(temp.path());
  ASSERT_TRUE(RunSummary::present_in(temp.path()));
  const auto again = RunSummary::read(temp.path());
  EXPECT_EQ(again.to_json(), summary.to_json());
  EXPECT_EQ(again.details.at("emotune_version"), "test");
  EXPECT_EQ(again.selection_metric, "macro_f1");
}

TEST(RunSummary, BadSeedEntriesAreClearErrors) {
  testing::TempDir temp;
  write_file_atomic(temp / "summary.json", R"({"seeds": [{"seed": 1}]})");
  try {
    (void)RunSummary::read(temp.path());
    FAIL() << "accepted a seed without a best score";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), AllOf(HasSubstr("summary.json"), HasSubstr("key 'seeds'")));
  }
  write_file_atomic(temp / "summary.json", R"({"statistics": {}})");
  EXPECT_THROW((void)RunSummary::read(temp.path()), Error);  // a transformer run has seeds
  const std::string seeds = R"("seeds": [{"seed": 1, "best": {"score": 0.5}}])";
  for (const auto& [body, key] :
       {std::pair{"{" + seeds + R"(, "best_seed": "1"})", "key 'best_seed'"},
        std::pair{"{" + seeds + R"(, "best_score": "high"})", "key 'best_score'"},
        std::pair{"{" + seeds + R"(, "selection_metric": 3})", "key 'selection_metric'"},
        std::pair{"{" + seeds + R"(, "statistics": {"score": 0.5}})", "key 'statistics'"}}) {
    write_file_atomic(temp / "summary.json", body);
    EXPECT_THAT(emotune::testing::error_of([&] { (void)RunSummary::read(temp.path()); }),
                AllOf(HasSubstr("summary.json"), HasSubstr(key)))
        << body;
  }
  write_file_atomic(temp / "summary.json", R"({"kind": "linear", "statistics": {}, "dev": {}})");
  EXPECT_EQ(RunSummary::read(temp.path()).kind, ModelKind::linear);
}

TEST(ResolveModelFolder, FindsTheBestSeedEvenWhenTheRunMoved) {
  testing::TempDir temp;
  const auto run = temp / "run";
  for (const char* seed : {"seed-1", "seed-2"}) {
    fs::create_directories(run / seed / "best");
    write_json(run / seed / "best" / "emotune.json",
               {{"model_type", "bert"}, {"max_length", 8}, {"tasks", {"emotion"}}});
  }
  EXPECT_THROW((void)resolve_model_folder(run), Error);  // two seeds, no summary
  auto summary = RunSummary::of_seeds(
      "macro_f1",
      json{{{"seed", 1}, {"best", {{"score", 0.1}}}}, {{"seed", 2}, {"best", {{"score", 0.4}}}}},
      "/elsewhere/run");
  summary.write(run);
  EXPECT_EQ(resolve_model_folder(run), run / "seed-2" / "best");
  EXPECT_EQ(resolve_model_folder(run / "seed-1"), run / "seed-1" / "best");
  EXPECT_EQ(resolve_model_folder(run / "seed-1" / "best"), run / "seed-1" / "best");
  EXPECT_THAT(
      [&] {
        try {
          (void)resolve_model_folder(temp / "missing");
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("not a folder"));
}

}  // namespace
}  // namespace emotune::io
