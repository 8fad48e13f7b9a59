#include "pipeline/systems.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "common/json_file.h"
#include "eval/metrics.h"
#include "predict/prediction_run.h"

namespace emotune::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

std::optional<SystemPredictions> predict_system(const SystemSpec& spec, const MemberLocator& locate,
                                                const data::WassaSplit& split,
                                                const predict::RunPredictorOptions& options,
                                                std::string& why_not) {
  SystemPredictions system;
  system.description = {{"name", spec.name},
                        {"title", spec.title},
                        {"split", std::string(data::split_name(split.split))},
                        {"emotion_method", std::string(eval::to_string(spec.emotion_method))}};
  std::vector<std::string> empty_columns;
  // The members of one column that can be used, as (reference, columns) pairs.
  const auto gather = [&](const std::string& column, const std::vector<MemberRef>& refs) {
    std::vector<std::pair<std::string, MemberColumns>> used;
    json described = {{"used", json::array()}, {"left_out", json::array()}};
    for (const auto& ref : refs) {
      std::string reason;
      std::optional<fs::path> folder;
      if (const auto run = locate(ref.member, reason))
        folder = member_folder(*run, ref.rank, reason);
      if (!folder) {
        system.notes.push_back(
            fmt::format("{}: {} member {} left out: {}", spec.name, column, ref.text(), reason));
        described["left_out"].push_back({{"member", ref.text()}, {"reason", reason}});
        continue;
      }
      used.emplace_back(ref.text(), member_columns(*folder, split, options));
      described["used"].push_back(
          {{"member", ref.text()}, {"folder", fs::absolute(*folder).lexically_normal().string()}});
    }
    if (!refs.empty() && used.empty()) empty_columns.push_back(column);
    system.description["columns"][column] = described;
    return used;
  };

  const auto mean_of = [&](const std::string& column, const auto& used, auto field) {
    std::vector<double> mean(split.rows.size(), 0.0);
    for (const auto& [name, columns] : used) {
      const auto& values = columns.*field;
      if (!values) {
        throw Error(fmt::format("{}: member {} does not predict {}", spec.name, name, column));
      }
      for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += (*values)[i];
    }
    for (auto& value : mean) value /= static_cast<double>(used.size());
    return mean;
  };

  eval::Predictions& out = system.predictions;
  for (const auto& row : split.rows) out.ids.push_back(row.id);
  const auto empathy = gather("empathy", spec.empathy);
  const auto distress = gather("distress", spec.distress);
  const auto emotion = gather("emotion", spec.emotion);
  if (!empty_columns.empty()) {
    why_not = fmt::format("no member available for {} ({})", fmt::join(empty_columns, ", "),
                          fmt::join(system.notes, "; "));
    return std::nullopt;
  }
  if (!empathy.empty()) {
    out.has_regression = true;
    out.empathy = mean_of("empathy", empathy, &MemberColumns::empathy);
    out.distress = mean_of("distress", distress, &MemberColumns::distress);
  }
  if (!emotion.empty()) {
    std::vector<eval::Predictions> members;
    for (const auto& [name, columns] : emotion) {
      if (!columns.emotion) {
        throw Error(fmt::format("{}: member {} does not predict emotions", spec.name, name));
      }
      members.push_back(*columns.emotion);
    }
    eval::EnsembleOptions ensemble_options;
    ensemble_options.combination = spec.emotion_method;
    const auto combined = eval::ensemble(members, ensemble_options);
    out.has_emotion = true;
    out.labels = combined.labels;
    out.emotion = combined.emotion;
    out.probabilities = combined.probabilities;
  }
  eval::validate(out);
  return system;
}

void write_system(const fs::path& dir, const SystemPredictions& system, data::Split split) {
  predict::write_prediction_folder(dir, system.predictions, split,
                                 json{{"source", "pipeline system"}, {"system", "system.json"}});
  write_json(dir / "system.json", system.description);
}

void write_submission(const fs::path& dir, const eval::Predictions* track1,
                      const eval::Predictions* track2) {
  if (!track1 && !track2) throw Error("submission: no system for Track I or Track II");
  if (track1 && !track1->has_regression)
    throw Error("submission: the Track I system predicts no empathy/distress");
  if (track2 && !track2->has_emotion)
    throw Error("submission: the Track II system predicts no emotions");
  if (track1 && track2 && track1->ids != track2->ids) {
    throw Error("submission: the Track I and Track II predictions are for different essays");
  }
  fs::create_directories(dir);
  std::optional<eval::EmpathyPredictions> empathy;
  if (track1) {
    empathy = eval::EmpathyPredictions{track1->empathy, track1->distress};
    eval::write_emp_predictions(dir / "predictions_EMP.tsv", *empathy);
  } else {
    fs::remove(dir / "predictions_EMP.tsv");
  }
  std::vector<int> emotions;
  if (track2) {
    emotions = eval::official_emotion_ids(*track2);
    eval::write_emo_predictions(dir / "predictions_EMO.tsv", emotions);
  } else {
    fs::remove(dir / "predictions_EMO.tsv");
  }
  eval::write_submission_zip(dir / "predictions.zip", empathy ? &*empathy : nullptr, emotions);
}

Scores dev_scores(const MemberColumns& columns, const eval::GoldStandard& gold) {
  if (columns.ids.size() != gold.size()) {
    throw Error(fmt::format("{} predictions, but the dev gold standard has {} rows",
                            columns.ids.size(), gold.size()));
  }
  Scores scores;
  if (columns.empathy) scores["empathy_r"] = eval::pearson(gold.empathy, *columns.empathy);
  if (columns.distress) scores["distress_r"] = eval::pearson(gold.distress, *columns.distress);
  if (columns.empathy && columns.distress) {
    scores["average_r"] = (scores["empathy_r"] + scores["distress_r"]) / 2.0;
  }
  if (columns.emotion) {
    const auto t2 =
        eval::classification_scores(gold.emotion, eval::official_emotion_ids(*columns.emotion));
    scores["macro_f1"] = t2.macro_f1;
    scores["accuracy"] = t2.accuracy;
  }
  return scores;
}

Scores dev_scores(const eval::Predictions& predictions, const eval::GoldStandard& gold) {
  MemberColumns columns;
  columns.ids = predictions.ids;
  if (predictions.has_regression) {
    columns.empathy = predictions.empathy;
    columns.distress = predictions.distress;
  }
  if (predictions.has_emotion) columns.emotion = predictions;
  return dev_scores(columns, gold);
}

}  // namespace emotune::pipeline
