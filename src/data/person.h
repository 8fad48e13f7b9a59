#pragma once

// Person-level features: what the WASSA 2021 files say about an essay's writer (demographics,
// Big Five, Interpersonal Reactivity Index), turned into one numeric vector a model can read.
//
// The vector (PersonEncoder::dimension() values, names from feature_names()):
//   - 11 numeric columns, standardized with the TRAIN split's mean and std (stored with the
//     model, never computed on dev or test): age, log(1 + income) (income runs from 0 to
//     1 000 000, so its log), the 5 personality and the 4 IRI scales;
//   - one-hot codes (SOURCES.md): gender 1 male, 2 female, 5 other; education 1..7;
//     race 1..6.
// Unknown codes are an Error naming file, line and column where the value is read.

#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/wassa.h"

namespace emotune::data {

// All the person columns of one essay.
struct PersonValues {
  Demographics demographics;
  Personality personality;
  Iri iri;
};

// Column names as in the WASSA files (the organizers' spelling).
inline constexpr std::array<std::string_view, 14> kPersonColumns = {
    "gender",
    "education",
    "race",
    "age",
    "income",
    "personality_conscientiousness",
    "personality_openess",
    "personality_extraversion",
    "personality_agreeableness",
    "personality_stability",
    "iri_perspective_taking",
    "iri_personal_distress",
    "iri_fantasy",
    "iri_empathatic_concern"};

inline constexpr std::array<int, 3> kGenderCodes = {1, 2, 5};
inline constexpr int kEducationCodes = 7;  // 1..7
inline constexpr int kRaceCodes = 6;       // 1..6

// Throws an Error "file:line: column: ..." when a code is not one of the documented ones or
// age/income is negative.
void check_demographic_codes(const Demographics& demographics, const std::filesystem::path& file,
                             std::size_t line);

// The person values of a record; nullopt when any of the three groups is absent.
std::optional<PersonValues> person_values(const WassaRecord& record);

// The person values of every row of `split`; an Error naming the file (and the columns it
// lacks) when the split does not carry them, e.g. the 2022 test file without its 2021 twin.
std::vector<PersonValues> split_person_values(const WassaSplit& split);

// Person values from named fields, as `predict --input` (TSV/CSV/JSONL columns) and `serve`
// (a "person" object) give them: `field(name)` returns the text of that field or nullopt when
// absent. Errors: "<where>: person column '<name>' is missing" / "expected a number" /
// unknown code, where `where` names file and line (or the request and essay).
PersonValues parse_person_fields(
    const std::function<std::optional<std::string>(std::string_view)>& field,
    const std::string& where);

// Standardization and one-hot encoding fitted on the training rows only.
class PersonEncoder {
 public:
  PersonEncoder() = default;
  // Mean and (population) std of each numeric column over `train`; a constant column keeps
  // std 1. Error when `train` is empty.
  static PersonEncoder fit(const std::vector<PersonValues>& train);

  std::size_t dimension() const;
  static std::vector<std::string> feature_names();
  // The vector of one person. Codes are checked (an unknown one is an Error naming `where`).
  std::vector<double> encode(const PersonValues& values, const std::string& where = "") const;

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }

  nlohmann::json to_json() const;
  // `source` names the file in errors.
  static PersonEncoder from_json(const nlohmann::json& json, const std::string& source);
  void save(const std::filesystem::path& file) const;
  static PersonEncoder load(const std::filesystem::path& file);

 private:
  std::vector<double> mean_;  // one per numeric column
  std::vector<double> std_;
};

// The file a run keeps its PersonEncoder in.
inline constexpr std::string_view kPersonStandardizationFile = "person_standardization.json";

}  // namespace emotune::data
