#include "baseline/baseline.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/labels.h"
#include "data/wassa.h"

namespace emotune::baseline {
namespace {

double required(const std::optional<double>& value, const data::WassaSplit& split,
                const data::WassaRecord& row, const char* what) {
  if (!value) throw error_at(split.file, row.line, fmt::format("no {} label", what));
  return *value;
}

}  // namespace

BaselineReport run_wassa_baseline(const std::filesystem::path& data_dir,
                                  const BaselineOptions& options) {
  const auto train = data::load_wassa(data_dir, data::Split::train);
  const auto dev = data::load_wassa(data_dir, data::Split::dev);
  std::vector<std::string> train_texts, dev_texts;
  std::vector<double> train_empathy, train_distress, dev_empathy, dev_distress;
  std::vector<int> train_emotion, dev_emotion;
  for (const auto& row : train.rows) {
    train_texts.push_back(row.text);
    train_empathy.push_back(required(row.empathy, train, row, "empathy"));
    train_distress.push_back(required(row.distress, train, row, "distress"));
    if (!row.emotion) throw error_at(train.file, row.line, "no emotion label");
    train_emotion.push_back(*row.emotion);
  }
  for (const auto& row : dev.rows) {
    dev_texts.push_back(row.text);
    dev_empathy.push_back(required(row.empathy, dev, row, "empathy"));
    dev_distress.push_back(required(row.distress, dev, row, "distress"));
    if (!row.emotion) throw error_at(dev.gold_file, row.gold_line, "no emotion label");
    dev_emotion.push_back(*row.emotion);
  }

  TfidfVectorizer vectorizer(options.tfidf);
  const auto x_train = vectorizer.fit_transform(train_texts);
  const auto x_dev = vectorizer.transform(dev_texts);

  RidgeRegression ridge;
  ridge.fit(x_train, {train_empathy, train_distress}, options.ridge_alpha);
  const auto predicted = ridge.predict(x_dev);

  LogisticRegression logistic;
  logistic.fit(x_train, train_emotion, static_cast<int>(data::kNumEmotions), options.logistic);
  const auto predicted_emotion = logistic.predict(x_dev);

  BaselineReport report;
  report.train_rows = train.rows.size();
  report.dev_rows = dev.rows.size();
  report.features = x_train.cols;
  report.train_nonzeros = x_train.nonzeros();
  report.logistic_evaluations = logistic.iterations();
  report.logistic_loss = logistic.final_loss();
  report.track1 = eval::track1_scores(dev_empathy, dev_distress, predicted[0], predicted[1]);
  report.track2 = eval::classification_scores(dev_emotion, predicted_emotion);
  return report;
}

std::string format_baseline_text(const BaselineReport& report, const BaselineOptions& options) {
  std::string out;
  out += fmt::format(
      "TF-IDF word {}-{} grams (min_df {}, sublinear tf, l2 rows): {} features from {} WASSA "
      "train essays\n",
      options.tfidf.min_n, options.tfidf.max_n, options.tfidf.min_df, report.features,
      report.train_rows);
  out += fmt::format("ridge alpha {} | logistic regression C {} ({} L-BFGS evaluations)\n",
                     options.ridge_alpha, options.logistic.c, report.logistic_evaluations);
  out += fmt::format("dev ({} essays):\n", report.dev_rows);
  out += fmt::format("  Pearson empathy:  {:.4f}\n", report.track1.empathy);
  out += fmt::format("  Pearson distress: {:.4f}\n", report.track1.distress);
  out += fmt::format("  Pearson average:  {:.4f}\n", report.track1.average);
  out += fmt::format("  emotion macro-F1: {:.4f}\n", report.track2.macro_f1);
  out += fmt::format("  emotion accuracy: {:.4f}\n", report.track2.accuracy);
  return out;
}

std::string format_baseline_json(const BaselineReport& report, const BaselineOptions& options) {
  const nlohmann::json json = {{"train_rows", report.train_rows},
                               {"dev_rows", report.dev_rows},
                               {"features", report.features},
                               {"ridge_alpha", options.ridge_alpha},
                               {"logistic_c", options.logistic.c},
                               {"logistic_evaluations", report.logistic_evaluations},
                               {"dev",
                                {{"pearson_empathy", report.track1.empathy},
                                 {"pearson_distress", report.track1.distress},
                                 {"pearson_average", report.track1.average},
                                 {"macro_f1", report.track2.macro_f1},
                                 {"micro_f1", report.track2.micro_f1},
                                 {"accuracy", report.track2.accuracy}}}};
  return json.dump(2) + "\n";
}

}  // namespace emotune::baseline
