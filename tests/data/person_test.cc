#include "data/person.h"

#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/test_support.h"
#include "data/wassa.h"

namespace emotune::data {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(PersonReal, EverySplitCarriesThePersonColumns) {
  for (const auto split : {Split::train, Split::dev, Split::test}) {
    const auto loaded = load_wassa(data(), split);
    const auto values = split_person_values(loaded);
    EXPECT_EQ(values.size(), loaded.rows.size()) << split_name(split);
  }
  const auto dev = load_wassa(data(), Split::dev);
  EXPECT_EQ(dev.person_file.filename(), kWassaDevGoldFile);
  const auto test = load_wassa(data(), Split::test);
  EXPECT_EQ(test.file.filename(), kWassaTestFile);
  EXPECT_EQ(test.person_file.filename(), kWassaTestFile2021);
}

TEST(PersonReal, EncoderStandardizesWithTrainStatistics) {
  const auto train = split_person_values(load_wassa(data(), Split::train));
  const auto encoder = PersonEncoder::fit(train);
  ASSERT_EQ(encoder.dimension(), PersonEncoder::feature_names().size());
  EXPECT_EQ(encoder.dimension(), 11u + 3 + 7 + 6);
  // Standardized train columns: mean 0, std 1; one-hot blocks sum to 1 per group.
  std::vector<double> sum(encoder.dimension(), 0.0), squares(encoder.dimension(), 0.0);
  for (const auto& row : train) {
    const auto x = encoder.encode(row);
    for (std::size_t c = 0; c < x.size(); ++c) {
      sum[c] += x[c];
      squares[c] += x[c] * x[c];
    }
    double gender = 0;
    for (std::size_t c = 11; c < 14; ++c) gender += x[c];
    EXPECT_DOUBLE_EQ(gender, 1.0);
  }
  const double n = static_cast<double>(train.size());
  for (std::size_t c = 0; c < 11; ++c) {
    EXPECT_NEAR(sum[c] / n, 0.0, 1e-9) << PersonEncoder::feature_names()[c];
    EXPECT_NEAR(squares[c] / n, 1.0, 1e-9) << PersonEncoder::feature_names()[c];
  }
  // Round trip through the stored form.
  const auto restored = PersonEncoder::from_json(encoder.to_json(), "test");
  EXPECT_EQ(restored.mean(), encoder.mean());
  EXPECT_EQ(restored.stddev(), encoder.stddev());
  EXPECT_EQ(restored.encode(train.front()), encoder.encode(train.front()));
}

// A copy of the real data folder whose files can be edited: each file as a list of lines.
class EditableData {
 public:
  EditableData() {
    fs::create_directories(temp_.path() / "wassa2021");
    for (const auto name : {kWassaTrainFile, kWassaDevFeaturesFile, kWassaDevGoldFile,
                            kWassaTestFile, kWassaTestFile2021}) {
      fs::copy_file(data() / "wassa2021" / name, temp_.path() / "wassa2021" / name);
    }
  }
  fs::path dir() const { return temp_.path(); }
  fs::path file(std::string_view name) const { return temp_.path() / "wassa2021" / name; }
  // Replaces field `column` (0-based, TAB-separated) of 1-based `line`.
  void set_field(std::string_view name, std::size_t line, std::size_t column,
                 const std::string& value) {
    const auto text = read_file(file(name));
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
      const auto end = text.find('\n', start);
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    auto& target = lines.at(line - 1);
    std::vector<std::string> fields;
    std::size_t from = 0;
    while (true) {
      const auto tab = target.find('\t', from);
      fields.push_back(target.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    fields.at(column) = value;
    target.clear();
    for (std::size_t i = 0; i < fields.size(); ++i) target += (i ? "\t" : "") + fields[i];
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    write_file_atomic(file(name), out);
  }

 private:
  emotune::testing::TempDir temp_;
};

// Columns of the train file (SOURCES.md): gender is 10th (index 9), personality_openess 16th.
constexpr std::size_t kTrainGender = 9;
constexpr std::size_t kTrainRace = 11;
constexpr std::size_t kTrainOpeness = 15;

TEST(PersonBadValues, UnknownGenderCodeNamesFileLineAndColumn) {
  EditableData d;
  d.set_field(kWassaTrainFile, 5, kTrainGender, "3");
  const auto message = error_of([&] { load_wassa(d.dir(), Split::train); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaTrainFile) + ":5:"),
                             HasSubstr("gender: unknown code 3")));
}

TEST(PersonBadValues, UnknownRaceCodeInDevFeatures) {
  EditableData d;
  d.set_field(kWassaDevFeaturesFile, 7, 6, "9.0");  // race is the 7th dev column
  const auto message = error_of([&] { load_wassa(d.dir(), Split::dev); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaDevFeaturesFile) + ":7:"),
                             HasSubstr("race: unknown code 9")));
}

TEST(PersonBadValues, NonNumericPersonalityNamesColumn) {
  EditableData d;
  d.set_field(kWassaTrainFile, 3, kTrainOpeness, "high");
  const auto message = error_of([&] { load_wassa(d.dir(), Split::train); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaTrainFile) + ":3:"),
                             HasSubstr("personality_openess: expected a number, found 'high'")));
}

TEST(PersonBadValues, NonNumericIriInDevGold) {
  EditableData d;
  d.set_field(kWassaDevGoldFile, 10, 8, "n/a");  // iri_perspective_taking, column 9
  const auto message = error_of([&] { load_wassa(d.dir(), Split::dev); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaDevGoldFile) + ":10:"),
                             HasSubstr("iri_perspective_taking: expected a number")));
}

TEST(PersonBadValues, MissingFieldIsAnError) {
  EditableData d;
  d.set_field(kWassaTrainFile, 4, kTrainRace, "");
  const auto message = error_of([&] { load_wassa(d.dir(), Split::train); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaTrainFile) + ":4:"),
                             HasSubstr("race: expected")));
  EditableData test;
  test.set_field(kWassaTestFile2021, 6, 16, "");  // iri_fantasy of the 2021 test file
  const auto test_message = error_of([&] { load_wassa(test.dir(), Split::test); });
  EXPECT_THAT(test_message, AllOf(HasSubstr(std::string(kWassaTestFile2021) + ":6:"),
                                  HasSubstr("iri_fantasy: expected a number, found ''")));
}

TEST(PersonBadValues, SplitWithoutPersonColumnsNamesTheFile) {
  EditableData d;
  fs::remove(d.file(kWassaTestFile2021));
  const auto test = load_wassa(d.dir(), Split::test);
  const auto message = error_of([&] { split_person_values(test); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaTestFile) + ":2:"),
                             HasSubstr("no person columns"), HasSubstr("personality_*"),
                             HasSubstr(std::string(kWassaTestFile2021))));
}

TEST(PersonBadValues, TestFilesThatDisagreeAreNotJoined) {
  EditableData d;
  d.set_field(kWassaTestFile2021, 8, 0, "R_not_the_same_id");
  const auto message = error_of([&] { load_wassa(d.dir(), Split::test); });
  EXPECT_THAT(message, AllOf(HasSubstr(std::string(kWassaTestFile2021) + ":8:"),
                             HasSubstr("cannot be joined")));
}

TEST(PersonFields, NamedFieldsParseAndFailClearly) {
  std::map<std::string, std::string> fields = {
      {"gender", "2"}, {"education", "6.0"}, {"race", "1"}, {"age", "30"}, {"income", "40000"},
      {"personality_conscientiousness", "5"}, {"personality_openess", "5.5"},
      {"personality_extraversion", "3"}, {"personality_agreeableness", "6"},
      {"personality_stability", "4"}, {"iri_perspective_taking", "3.5"},
      {"iri_personal_distress", "2"}, {"iri_fantasy", "3"}, {"iri_empathatic_concern", "4"}};
  const auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    const auto it = fields.find(std::string(name));
    if (it == fields.end()) return std::nullopt;
    return it->second;
  };
  const auto values = parse_person_fields(lookup, "in.tsv:2");
  EXPECT_EQ(values.demographics.gender, 2);
  EXPECT_EQ(values.demographics.education, 6);
  EXPECT_DOUBLE_EQ(values.personality.openness, 5.5);

  auto bad = fields;
  bad.erase("age");
  fields.swap(bad);
  EXPECT_THAT(error_of([&] { parse_person_fields(lookup, "in.tsv:2"); }),
              AllOf(HasSubstr("in.tsv:2: person column 'age' is missing")));
  fields.swap(bad);
  fields["education"] = "9";
  EXPECT_THAT(error_of([&] { parse_person_fields(lookup, "in.tsv:3"); }),
              HasSubstr("in.tsv:3: education: unknown code 9"));
  fields["education"] = "6";
  fields["iri_fantasy"] = "often";
  EXPECT_THAT(error_of([&] { parse_person_fields(lookup, "in.tsv:4"); }),
              HasSubstr("in.tsv:4: iri_fantasy: expected a number, found 'often'"));
}

}  // namespace
}  // namespace emotune::data
