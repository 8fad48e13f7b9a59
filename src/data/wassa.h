#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::data {

enum class Split { train, dev, test };

std::string_view split_name(Split split);
// "train", "dev" or "test"; an Error otherwise.
Split parse_split(std::string_view name);

// Codes as in the organizers' README: gender 1 male, 2 female, 5 other; race 1..6;
// education 1..7. Train writes them as ints, dev/test as floats ("1.0"); both read the same.
struct Demographics {
  int gender = 0;
  int education = 0;
  int race = 0;
  int age = 0;
  std::int64_t income = 0;
};

// Big Five, 1..7 (column names keep the organizers' spelling "openess").
struct Personality {
  double conscientiousness = 0;
  double openness = 0;
  double extraversion = 0;
  double agreeableness = 0;
  double stability = 0;
};

// Interpersonal Reactivity Index subscales (column "iri_empathatic_concern" upstream).
struct Iri {
  double perspective_taking = 0;
  double personal_distress = 0;
  double fantasy = 0;
  double empathic_concern = 0;
};

// One essay with everything the files say about it. Labels are absent for test.
struct WassaRecord {
  std::string id;           // message_id, e.g. R_1hGrPtWM4SumG0U_1
  std::string response_id;  // the writer; disjoint across splits
  int article_id = 0;
  std::string text;                // the essay, unquoted
  std::optional<double> empathy;   // 1..7
  std::optional<double> distress;  // 1..7
  std::optional<int> empathy_bin;  // train only: 1 iff empathy >= 4
  std::optional<int> distress_bin;
  std::optional<int> emotion;  // class id into kEmotionLabels
  std::optional<Demographics> demographics;
  std::optional<Personality> personality;
  std::optional<Iri> iri;
  std::size_t line = 0;       // 1-based line in the features (or train) file
  std::size_t gold_line = 0;  // dev only: 1-based line in the gold file
};

struct WassaSplit {
  Split split = Split::train;
  std::filesystem::path file;       // train / features file
  std::filesystem::path gold_file;  // dev only
  // Where the personality/IRI values came from when not `file` (dev: the gold file; test: the
  // 2021 18-column file merged into the 2022 rows); empty otherwise.
  std::filesystem::path person_file;
  std::vector<WassaRecord> rows;
};

// File names inside <data_dir>/wassa2021/.
inline constexpr std::string_view kWassaTrainFile = "messages_train_ready_for_WS.tsv";
inline constexpr std::string_view kWassaDevFeaturesFile =
    "messages_dev_features_ready_for_WS_2022.tsv";
inline constexpr std::string_view kWassaDevGoldFile = "goldstandard_dev_2022.tsv";
inline constexpr std::string_view kWassaTestFile = "messages_test_features_ready_for_WS_2022.tsv";
inline constexpr std::string_view kWassaTestFile2021 = "messages_test_features_ready_for_WS.tsv";

// Loads a split from <data_dir>/wassa2021/. Test uses the 2022 features file, or the 2021
// 18-column one when only that exists; when both exist, the person columns of the 2021 file
// (personality, IRI) are merged into the 2022 rows (ids and essays must agree row by row).
WassaSplit load_wassa(const std::filesystem::path& data_dir, Split split);

// Train file: labels inline (empathy, distress, emotion required; *_bin, demographics,
// personality and IRI read when their columns are present).
WassaSplit read_wassa_train(const std::filesystem::path& file);

// Dev: features joined by row position with the header-less gold file (12 columns: empathy,
// distress, emotion, 5 personality, 4 IRI; or the 2021 3-column form). Row counts must match.
WassaSplit read_wassa_dev(const std::filesystem::path& features_file,
                          const std::filesystem::path& gold_file);

// Test features, 9-column (2022) or 18-column (2021) form; no labels.
WassaSplit read_wassa_test(const std::filesystem::path& file);

// Cross-validation folds grouped by writer: the fold (0..k-1) of each row, writers numbered in
// order of first appearance and writer w in fold w mod k (a row without a response_id is a
// writer of its own). Dev and test writers never appear in train, and each WASSA writer wrote
// five essays (one per article slot), so folds by row position (i mod 5) would let a model
// see the held-out writer's other four essays, inflating the out-of-fold scores of person
// features, while holding out whole article slots that dev does share with train.
std::vector<std::size_t> writer_folds(const std::vector<WassaRecord>& rows, std::size_t k);
// The same from the rows' response_ids alone.
std::vector<std::size_t> writer_folds(const std::vector<std::string>& response_ids, std::size_t k);

}  // namespace emotune::data
