#pragma once

// The files of a WASSA 2021 submission and of emotune's own prediction output:
//  - goldstandard.tsv: header-less, columns empathy, distress, emotion (further columns, as
//    in goldstandard_dev_2022.tsv, are ignored);
//  - predictions_EMP.tsv: header-less, exactly 2 columns: empathy, distress;
//  - predictions_EMO.tsv: header-less, one emotion label per line;
//  - predictions.zip: the two files above at the archive root, as CodaLab expects;
//  - predictions.tsv: with a header; id, then empathy and/or distress and/or emotion and one
//    probability column per label ("p_anger", ...), in the label order of the model.
// Every reader checks every row and throws emotune::Error naming the file and line.

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::eval {

struct GoldStandard {
  std::vector<double> empathy;
  std::vector<double> distress;
  std::vector<int> emotion;  // indices into kEmotionLabels
  std::size_t size() const { return emotion.size(); }
};

struct EmpathyPredictions {
  std::vector<double> empathy;
  std::vector<double> distress;
  std::size_t size() const { return empathy.size(); }
};

GoldStandard read_gold_standard(const std::filesystem::path& path);
EmpathyPredictions read_emp_predictions(const std::filesystem::path& path);
std::vector<int> read_emo_predictions(const std::filesystem::path& path);

// The same from text already in memory (e.g. a zip entry); `source` names it in errors.
EmpathyPredictions parse_emp_predictions(const std::string& source, std::string_view text);
std::vector<int> parse_emo_predictions(const std::string& source, std::string_view text);

// The predictions of a submission archive; a file absent from the archive stays nullopt, and
// an archive holding neither is an Error.
struct SubmissionArchive {
  std::optional<EmpathyPredictions> empathy;
  std::optional<std::vector<int>> emotions;
};
SubmissionArchive read_submission_zip(const std::filesystem::path& path);

void write_emp_predictions(const std::filesystem::path& path,
                           const EmpathyPredictions& predictions);
void write_emo_predictions(const std::filesystem::path& path, std::span<const int> emotions);

// The text the writers above put in the file (for callers that zip or serve it).
std::string emp_predictions_text(const EmpathyPredictions& predictions);
std::string emo_predictions_text(std::span<const int> emotions);

// Writes predictions.zip with predictions_EMP.tsv and/or predictions_EMO.tsv (whichever is
// given; at least one). Entries carry a fixed timestamp so equal predictions give equal bytes.
void write_submission_zip(const std::filesystem::path& path, const EmpathyPredictions* empathy,
                          std::span<const int> emotions);

// Every entry of a zip archive: name -> content.
std::map<std::string, std::string> read_zip_entries(const std::filesystem::path& path);

// One row per essay, in input order.
struct Predictions {
  std::vector<std::string> ids;
  bool has_regression = false;  // empathy and/or distress columns
  // With has_regression, which of the two columns are present: both unless the model is a
  // vanilla (single-target) one; an absent column's vector stays empty.
  bool empathy_column = true;
  bool distress_column = true;
  std::vector<double> empathy;
  std::vector<double> distress;
  bool has_empathy() const { return has_regression && empathy_column; }
  bool has_distress() const { return has_regression && distress_column; }
  bool has_both_regression() const { return has_empathy() && has_distress(); }
  bool has_emotion = false;
  std::vector<std::string> labels;  // probability column order; labels[emotion[i]] is row i's
  std::vector<int> emotion;         // index into `labels`
  std::vector<std::vector<double>> probabilities;  // [row][label]
  std::size_t size() const { return ids.size(); }
};

// Throws when the columns of `predictions` disagree in length or with the flags.
void validate(const Predictions& predictions);

std::string predictions_text(const Predictions& predictions);
void write_predictions(const std::filesystem::path& path, const Predictions& predictions);
Predictions read_predictions(const std::filesystem::path& path);

// Converts `predictions.emotion` (indices into predictions.labels) to kEmotionLabels indices;
// Error when a label is not one of the seven.
std::vector<int> official_emotion_ids(const Predictions& predictions);

}  // namespace emotune::eval
