#include "report/run_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/person.h"
#include "data/wassa.h"
#include "eval/report.h"
#include "eval/svg.h"
#include "io/run_files.h"
#include "predict/explainer.h"
#include "predict/prediction_run.h"
#include "report/explain_html.h"

namespace emotune::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ScoredMember {
  std::string name;
  fs::path dir;
  predict::MemberScores scores;
};

// The paper's Table 2 (dev) and its test results, for comparison.
struct PublishedRow {
  const char* model;
  double macro_f1;
  double accuracy_percent;
};
constexpr PublishedRow kPublishedDev[] = {
    {"ELECTRA base RA", 0.604, 69.25},  {"ELECTRA base BA", 0.608, 67.77},
    {"ELECTRA large RA", 0.582, 68.51}, {"ELECTRA large BA", 0.585, 66.29},
    {"RoBERTa large RA", 0.588, 67.03}, {"RoBERTa large BA", 0.583, 66.29},
    {"ALBERT large BA", 0.595, 68.51},  {"Ensemble 1", 0.64, 71.11},
    {"Ensemble 2", 0.65, 72.59},
};

std::string format_value(double value, int decimals = 4) {
  return fmt::format("{:.{}f}", value, decimals);
}

std::string file_stem_for(const std::string& name) {
  std::string stem;
  for (const char c : name) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    stem += keep ? c : '_';
  }
  return stem;
}

// Which words drove each member's predictions for the first dev essays.
eval::ReportSection attribution_section(const ReportRequest& request,
                                        const std::vector<ScoredMember>& members,
                                        const data::WassaSplit& dev) {
  eval::ReportSection section;
  section.heading = "Which words drove the predictions (integrated gradients, dev essays)";
  section.text = fmt::format(
      "The first {} dev essays, each word shaded by its attribution to the output named above "
      "it: integrated gradients over the word embeddings from an all-[PAD] baseline, {} "
      "Gauss-Legendre steps; the attributions of an output add up to its value minus its "
      "value at the baseline, up to the stated gap (docs/explain.md).",
      request.explain_essays, request.explain_steps);
  section.html.push_back(attribution_legend_html());
  std::size_t explained = 0;
  for (const auto& member : members) {
    if (explained >= request.explain_members) break;
    if (fs::is_regular_file(member.dir / "ensemble.json")) continue;
    fs::path folder;
    try {
      folder = io::resolve_model_folder(member.dir);
    } catch (const Error&) {
      continue;  // a prediction folder: no model to explain
    }
    ++explained;
    predict::RunExplainer explainer(folder, {request.predictor.threads, request.predictor.device});
    predict::ExplainOptions options;
    for (const auto& name : explainer.output_names()) {
      if (!name.starts_with("emotion:")) options.outputs.push_back(name);
    }
    for (const auto& task : explainer.info().tasks) {
      if (task == "emotion") options.outputs.push_back(predict::kPredictedEmotion);
    }
    options.method.steps = request.explain_steps;
    for (std::size_t i = 0; i < request.explain_essays && i < dev.rows.size(); ++i) {
      const auto& row = dev.rows[i];
      const auto explanation = explainer.explain({row.text, data::person_values(row)}, options);
      std::string html = fmt::format("<h3>{}: dev essay {}{}</h3>\n", eval::xml_escape(member.name),
                                     eval::xml_escape(row.id),
                                     explanation.prediction.truncated ? " (truncated)" : "");
      for (std::size_t k = 0; k < explanation.outputs.size(); ++k) {
        const auto& output = explanation.outputs[k];
        html += fmt::format(
            "<h4>{} = {:.3f} <small>(baseline {:.3f}; words add up to {:+.3f}, gap {:.1e})"
            "</small></h4>\n",
            eval::xml_escape(output.name), output.value, output.baseline_value,
            output.attribution_sum, output.completeness_gap);
        html += attribution_html(explanation, k) + "\n";
      }
      section.html.push_back(std::move(html));
    }
  }
  if (explained == 0) {
    section.text = "No member is a run folder with a model to explain.";
    section.html.clear();
  }
  return section;
}

}  // namespace

std::vector<fs::path> write_report(const ReportRequest& request) {
  if (request.members.empty()) throw Error("report: give at least one run or ensemble folder");
  const auto train = data::load_wassa(request.data_dir, data::Split::train);
  const auto dev = data::load_wassa(request.data_dir, data::Split::dev);
  const auto gold = predict::gold_standard(dev);

  std::vector<ScoredMember> members;
  for (const auto& dir : request.members) {
    const auto predictions = predict::member_predictions(dir, dev, request.predictor);
    members.push_back({predict::member_name(dir), dir, predict::score_predictions(predictions, gold)});
  }

  const fs::path out_dir =
      request.out_html.has_parent_path() ? request.out_html.parent_path() : fs::path(".");
  fs::create_directories(out_dir);
  const std::string prefix = request.out_html.stem().string();
  std::vector<fs::path> written{request.out_html};
  const auto save_svg = [&](const std::string& name, const std::string& svg) {
    const auto path = out_dir / (prefix + "-" + name + ".svg");
    write_file_atomic(path, svg);
    written.push_back(path);
    return svg;
  };

  eval::Report report;
  report.title = "emotune report: WASSA 2021 empathy, distress and emotion";
  report.subtitle = fmt::format("{} model(s)/ensemble(s) scored on the dev split ({} essays)",
                                members.size(), dev.rows.size());

  // Figure 1: the class imbalance the paper's augmentation addresses.
  {
    std::vector<int> emotions;
    for (const auto& row : train.rows)
      if (row.emotion) emotions.push_back(*row.emotion);
    eval::ReportSection section;
    section.heading = "Figure 1: emotion class frequency in the training set";
    section.text = fmt::format("{} training essays.", emotions.size());
    section.charts.push_back(save_svg("figure1-train-emotions",
                                      eval::render_bar_chart(eval::emotion_frequency_chart(
                                          emotions, "Figure 1: emotion class frequency (train)"))));
    report.sections.push_back(std::move(section));
  }

  // Figure 2: Pearson r per model on dev, empathy and distress.
  {
    eval::ReportSection section;
    section.heading = "Figure 2: Pearson r on dev per model/ensemble";
    eval::BarChart empathy, distress;
    empathy.title = "Figure 2a: dev Pearson r, empathy";
    distress.title = "Figure 2b: dev Pearson r, distress";
    empathy.y_label = distress.y_label = "Pearson r";
    for (const auto& member : members) {
      // Vanilla (single-target) members add a bar to their target's chart only.
      if (member.scores.empathy_only)
        empathy.bars.push_back({member.name, *member.scores.empathy_only});
      if (member.scores.distress_only)
        distress.bars.push_back({member.name, *member.scores.distress_only});
      if (!member.scores.track1) continue;
      empathy.bars.push_back({member.name, member.scores.track1->empathy});
      distress.bars.push_back({member.name, member.scores.track1->distress});
    }
    if (empathy.bars.empty() && distress.bars.empty()) {
      section.text = "No member predicts empathy/distress.";
    } else {
      if (!empathy.bars.empty()) {
        section.charts.push_back(
            save_svg("figure2-pearson-empathy", eval::render_bar_chart(empathy)));
      }
      if (!distress.bars.empty()) {
        section.charts.push_back(
            save_svg("figure2-pearson-distress", eval::render_bar_chart(distress)));
      }
      eval::ReportTable table{
          "Track I on dev", {"model", "empathy r", "distress r", "average"}, {}};
      for (const auto& member : members) {
        if (member.scores.empathy_only)
          table.rows.push_back({member.name, format_value(*member.scores.empathy_only), "–", "–"});
        if (member.scores.distress_only)
          table.rows.push_back({member.name, "–", format_value(*member.scores.distress_only), "–"});
        if (!member.scores.track1) continue;
        const auto& t = *member.scores.track1;
        table.rows.push_back({member.name, format_value(t.empathy), format_value(t.distress),
                              format_value(t.average)});
      }
      section.tables.push_back(std::move(table));
    }
    report.sections.push_back(std::move(section));
  }

  // Figure 3 and Table 2: emotion classification.
  {
    eval::ReportSection section;
    section.heading = "Figure 3 and Table 2: emotion classification on dev";
    eval::ReportTable table{
        "Table 2 (ours): dev macro-F1 and accuracy",
        {"model", "macro-F1", "accuracy (%)", "macro precision", "macro recall"},
        {}};
    for (const auto& member : members) {
      if (!member.scores.track2) continue;
      const auto& t = *member.scores.track2;
      table.rows.push_back({member.name, format_value(t.macro_f1),
                            format_value(t.accuracy * 100.0, 2), format_value(t.macro_precision),
                            format_value(t.macro_recall)});
      section.charts.push_back(
          save_svg("figure3-confusion-" + file_stem_for(member.name),
                   eval::render_confusion_heatmap(eval::confusion_heatmap(
                       t.confusion, "Figure 3: normalized dev confusion matrix, " + member.name))));
    }
    if (table.rows.empty()) section.text = "No member predicts emotions.";
    section.tables.push_back(std::move(table));
    report.sections.push_back(std::move(section));
  }

  // Seed spread from each run's summary.json.
  {
    eval::ReportSection section;
    section.heading = "Seed spread (best dev evaluation per seed, from summary.json)";
    eval::ReportTable table{"", {"run", "metric", "seeds", "mean", "std", "min", "max"}, {}};
    for (const auto& member : members) {
      if (!io::RunSummary::present_in(member.dir)) continue;
      const auto summary = io::RunSummary::read(member.dir);
      const auto seeds = std::to_string(summary.seeds.size());
      for (const auto& [metric, stats] : summary.statistics.items()) {
        if (metric == "train_loss" || metric == "dev_loss") continue;
        table.rows.push_back({member.name, metric, seeds, format_value(stats.value("mean", 0.0)),
                              format_value(stats.value("std", 0.0)),
                              format_value(stats.value("min", 0.0)),
                              format_value(stats.value("max", 0.0))});
      }
    }
    if (table.rows.empty()) section.text = "No member folder holds a summary.json.";
    section.tables.push_back(std::move(table));
    report.sections.push_back(std::move(section));
  }

  if (request.explain_essays > 0) report.sections.push_back(attribution_section(request, members, dev));

  // The paper's published numbers.
  {
    eval::ReportSection section;
    section.heading = "Published results (WASSA@IITK 2021)";
    section.text =
        "Test: empathy r 0.558, distress r 0.507; emotion macro-F1 0.5528 (Ensemble 1), "
        "0.588 (Ensemble 2).";
    eval::ReportTable table{
        "Paper Table 2: dev macro-F1 and accuracy", {"model", "macro-F1", "accuracy (%)"}, {}};
    for (const auto& row : kPublishedDev) {
      table.rows.push_back(
          {row.model, format_value(row.macro_f1, 3), format_value(row.accuracy_percent, 2)});
    }
    section.tables.push_back(std::move(table));
    report.sections.push_back(std::move(section));
  }

  write_file_atomic(request.out_html, eval::render_html(report));
  return written;
}

}  // namespace emotune::report
