#pragma once

// Data folders for tests that must show what a run does NOT read: a folder of symbolic links to
// the real WASSA 2021 files, in which a test then rewrites one file (shuffled dev gold, changed
// person values of dev and test).

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/test_paths.h"
#include "data/wassa.h"

namespace emotune::testing {

// ROOT/wassa2021/ with a link to each real file; returns ROOT.
inline std::filesystem::path linked_wassa_data(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "wassa2021");
  for (const auto name :
       {data::kWassaTrainFile, data::kWassaDevFeaturesFile, data::kWassaDevGoldFile,
        data::kWassaTestFile, data::kWassaTestFile2021}) {
    std::filesystem::create_symlink(data_dir() / "wassa2021" / name, root / "wassa2021" / name);
  }
  return root;
}

// A file's lines, without their '\n'.
inline std::vector<std::string> lines_of(const std::filesystem::path& file) {
  const auto text = read_file(file);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// Replaces `file` (a link into the real data) by a file of these lines.
inline void write_lines(const std::filesystem::path& file, const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  std::filesystem::remove(file);
  write_file_atomic(file, out);
}

// Every numeric field of a TAB-separated line from column `first` on, doubled plus one.
inline std::string perturbed(const std::string& line, std::size_t first) {
  std::vector<std::string> fields;
  for (std::size_t from = 0;;) {
    const auto tab = line.find('\t', from);
    fields.push_back(line.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
    if (tab == std::string::npos) break;
    from = tab + 1;
  }
  for (std::size_t c = first; c < fields.size(); ++c)
    fields[c] = std::to_string(std::stod(fields[c]) * 2 + 1);
  std::string out;
  for (std::size_t c = 0; c < fields.size(); ++c) out += (c ? "\t" : "") + fields[c];
  return out;
}

// linked_wassa_data(ROOT) in which every numeric person value of the dev gold (personality,
// IRI), the dev features (age, income) and the 2021 test file differs from the real one.
inline std::filesystem::path wassa_data_with_changed_person_values(
    const std::filesystem::path& root) {
  const auto w = linked_wassa_data(root) / "wassa2021";
  auto gold = lines_of(w / data::kWassaDevGoldFile);
  for (auto& line : gold) line = perturbed(line, 3);
  write_lines(w / data::kWassaDevGoldFile, gold);
  auto features = lines_of(w / data::kWassaDevFeaturesFile);
  for (std::size_t i = 1; i < features.size(); ++i) features[i] = perturbed(features[i], 7);
  write_lines(w / data::kWassaDevFeaturesFile, features);
  auto test = lines_of(w / data::kWassaTestFile2021);
  for (std::size_t i = 1; i < test.size(); ++i) test[i] = perturbed(test[i], 7);
  write_lines(w / data::kWassaTestFile2021, test);
  return root;
}

}  // namespace emotune::testing
