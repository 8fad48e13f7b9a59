#include "data/person.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "io/tsv.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kNumericColumns = 11;
constexpr std::size_t kOneHotColumns = kGenderCodes.size() + kEducationCodes + kRaceCodes;

std::array<double, kNumericColumns> numeric(const PersonValues& v) {
  const auto& p = v.personality;
  const auto& i = v.iri;
  return {static_cast<double>(v.demographics.age),
          std::log1p(static_cast<double>(v.demographics.income)),
          p.conscientiousness,
          p.openness,
          p.extraversion,
          p.agreeableness,
          p.stability,
          i.perspective_taking,
          i.personal_distress,
          i.fantasy,
          i.empathic_concern};
}

std::string prefix(const std::string& where) {
  return where.empty() ? std::string() : where + ": ";
}

}  // namespace

void check_demographic_codes(const Demographics& d, const fs::path& file, std::size_t line) {
  if (std::find(kGenderCodes.begin(), kGenderCodes.end(), d.gender) == kGenderCodes.end()) {
    throw error_at(file, line,
                   fmt::format("gender: unknown code {} (expected 1 male, 2 female or 5 other)",
                               d.gender));
  }
  if (d.education < 1 || d.education > kEducationCodes) {
    throw error_at(file, line,
                   fmt::format("education: unknown code {} (expected 1..{})", d.education,
                               kEducationCodes));
  }
  if (d.race < 1 || d.race > kRaceCodes) {
    throw error_at(file, line,
                   fmt::format("race: unknown code {} (expected 1..{})", d.race, kRaceCodes));
  }
  if (d.age < 0) throw error_at(file, line, fmt::format("age: {} is negative", d.age));
  if (d.income < 0) throw error_at(file, line, fmt::format("income: {} is negative", d.income));
}

std::optional<PersonValues> person_values(const WassaRecord& record) {
  if (!record.demographics || !record.personality || !record.iri) return std::nullopt;
  return PersonValues{*record.demographics, *record.personality, *record.iri};
}

std::vector<PersonValues> split_person_values(const WassaSplit& split) {
  std::vector<PersonValues> out;
  out.reserve(split.rows.size());
  for (const auto& row : split.rows) {
    auto values = person_values(row);
    if (!values) {
      std::vector<std::string_view> missing;
      if (!row.demographics) missing.push_back("gender, education, race, age, income");
      if (!row.personality) missing.push_back("personality_*");
      if (!row.iri) missing.push_back("iri_*");
      const fs::path& file = split.person_file.empty() ? split.file : split.person_file;
      throw error_at(file, row.line,
                     fmt::format("the {} split has no person columns here ({} missing); person "
                                 "features need them in every split (test: the 2021 18-column "
                                 "file {})",
                                 split_name(split.split), fmt::join(missing, ", "),
                                 kWassaTestFile2021));
    }
    out.push_back(*values);
  }
  return out;
}

PersonValues parse_person_fields(
    const std::function<std::optional<std::string>(std::string_view)>& field,
    const std::string& where) {
  const auto get = [&](std::string_view name) {
    auto value = field(name);
    if (!value) {
      throw Error(fmt::format("{}person column '{}' is missing (the model reads person "
                              "features: {})",
                              prefix(where), name, fmt::join(kPersonColumns, ", ")));
    }
    return *value;
  };
  // io::parse_* name "file:line: column"; `where` already says file and line.
  const auto number = [&](std::string_view name) {
    const auto text = get(name);
    try {
      return io::parse_double(text, "", 0, name);
    } catch (const Error&) {
      throw Error(fmt::format("{}{}: expected a number, found '{}'", prefix(where), name, text));
    }
  };
  const auto integer = [&](std::string_view name) -> std::int64_t {
    const auto text = get(name);
    try {
      return io::parse_integer(text, "", 0, name);
    } catch (const Error&) {
      throw Error(
          fmt::format("{}{}: expected a whole number, found '{}'", prefix(where), name, text));
    }
  };
  PersonValues v;
  const auto small = [&](std::string_view name) {
    const auto value = integer(name);
    if (value < -1000000 || value > 1000000) {
      throw Error(fmt::format("{}{}: {} is out of range", prefix(where), name, value));
    }
    return static_cast<int>(value);
  };
  v.demographics.gender = small("gender");
  v.demographics.education = small("education");
  v.demographics.race = small("race");
  v.demographics.age = small("age");
  v.demographics.income = integer("income");
  v.personality.conscientiousness = number("personality_conscientiousness");
  v.personality.openness = number("personality_openess");
  v.personality.extraversion = number("personality_extraversion");
  v.personality.agreeableness = number("personality_agreeableness");
  v.personality.stability = number("personality_stability");
  v.iri.perspective_taking = number("iri_perspective_taking");
  v.iri.personal_distress = number("iri_personal_distress");
  v.iri.fantasy = number("iri_fantasy");
  v.iri.empathic_concern = number("iri_empathatic_concern");
  try {
    check_demographic_codes(v.demographics, "", 0);
  } catch (const Error& e) {
    // error_at("", 0, ...) starts with ":0: ".
    std::string message = e.what();
    if (message.rfind(":0: ", 0) == 0) message = message.substr(4);
    throw Error(prefix(where) + message);
  }
  return v;
}

PersonEncoder PersonEncoder::fit(const std::vector<PersonValues>& train) {
  if (train.empty()) throw Error("person features: no training rows to standardize with");
  PersonEncoder encoder;
  encoder.mean_.assign(kNumericColumns, 0.0);
  encoder.std_.assign(kNumericColumns, 0.0);
  for (const auto& row : train) {
    const auto x = numeric(row);
    for (std::size_t c = 0; c < kNumericColumns; ++c) encoder.mean_[c] += x[c];
  }
  const double n = static_cast<double>(train.size());
  for (auto& m : encoder.mean_) m /= n;
  for (const auto& row : train) {
    const auto x = numeric(row);
    for (std::size_t c = 0; c < kNumericColumns; ++c) {
      const double d = x[c] - encoder.mean_[c];
      encoder.std_[c] += d * d;
    }
  }
  for (auto& s : encoder.std_) {
    s = std::sqrt(s / n);
    if (!(s > 1e-12)) s = 1.0;
  }
  return encoder;
}

std::size_t PersonEncoder::dimension() const {
  return kNumericColumns + kOneHotColumns;
}

std::vector<std::string> PersonEncoder::feature_names() {
  std::vector<std::string> names = {"age",
                                    "log1p_income",
                                    "personality_conscientiousness",
                                    "personality_openess",
                                    "personality_extraversion",
                                    "personality_agreeableness",
                                    "personality_stability",
                                    "iri_perspective_taking",
                                    "iri_personal_distress",
                                    "iri_fantasy",
                                    "iri_empathatic_concern"};
  for (int code : kGenderCodes) names.push_back(fmt::format("gender={}", code));
  for (int code = 1; code <= kEducationCodes; ++code)
    names.push_back(fmt::format("education={}", code));
  for (int code = 1; code <= kRaceCodes; ++code) names.push_back(fmt::format("race={}", code));
  return names;
}

std::vector<double> PersonEncoder::encode(const PersonValues& values,
                                          const std::string& where) const {
  if (mean_.size() != kNumericColumns) throw Error("person features: the encoder is not fitted");
  try {
    check_demographic_codes(values.demographics, "", 0);
  } catch (const Error& e) {
    std::string message = e.what();
    if (message.rfind(":0: ", 0) == 0) message = message.substr(4);
    throw Error(prefix(where) + message);
  }
  std::vector<double> out(dimension(), 0.0);
  const auto x = numeric(values);
  for (std::size_t c = 0; c < kNumericColumns; ++c) out[c] = (x[c] - mean_[c]) / std_[c];
  std::size_t at = kNumericColumns;
  const auto gender = std::find(kGenderCodes.begin(), kGenderCodes.end(),
                                values.demographics.gender) -
                      kGenderCodes.begin();
  out[at + static_cast<std::size_t>(gender)] = 1.0;
  at += kGenderCodes.size();
  out[at + static_cast<std::size_t>(values.demographics.education - 1)] = 1.0;
  at += kEducationCodes;
  out[at + static_cast<std::size_t>(values.demographics.race - 1)] = 1.0;
  return out;
}

json PersonEncoder::to_json() const {
  std::vector<std::string> numeric_names = feature_names();
  numeric_names.resize(kNumericColumns);
  return {{"numeric_columns", numeric_names},
          {"mean", mean_},
          {"std", std_},
          {"fitted_on", "train"},
          {"one_hot",
           {{"gender", kGenderCodes},
            {"education", fmt::format("1..{}", kEducationCodes)},
            {"race", fmt::format("1..{}", kRaceCodes)}}},
          {"dimension", dimension()}};
}

PersonEncoder PersonEncoder::from_json(const json& j, const std::string& source) {
  const auto vector = [&](const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_array() ||
        j[key].size() != kNumericColumns ||
        !std::all_of(j[key].begin(), j[key].end(), [](const json& v) { return v.is_number(); })) {
      throw Error(fmt::format("{}: key '{}': expected an array of {} numbers", source, key,
                              kNumericColumns));
    }
    return j[key].get<std::vector<double>>();
  };
  PersonEncoder encoder;
  encoder.mean_ = vector("mean");
  encoder.std_ = vector("std");
  for (double s : encoder.std_) {
    if (!(s > 0) || !std::isfinite(s)) {
      throw Error(fmt::format("{}: key 'std': values must be positive", source));
    }
  }
  return encoder;
}

void PersonEncoder::save(const fs::path& file) const {
  write_json(file, to_json());
}

PersonEncoder PersonEncoder::load(const fs::path& file) {
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
  }
  return from_json(j, file.string());
}

}  // namespace emotune::data
