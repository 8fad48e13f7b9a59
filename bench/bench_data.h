#pragma once

// Where the benchmarks find their inputs, and the WASSA essays most of them run on.

#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "data/wassa.h"

namespace emotune::bench {

// $EMOTUNE_DATA, else ../shared/data beside the source tree.
inline std::filesystem::path data_dir() {
  if (auto value = env("EMOTUNE_DATA")) return *value;
  return std::filesystem::path(__FILE__).parent_path().parent_path() / ".." / "shared" / "data";
}

// $EMOTUNE_HF_FIXTURES, else ../shared/fixtures/hf beside the source tree.
inline std::filesystem::path fixtures_dir() {
  if (auto value = env("EMOTUNE_HF_FIXTURES")) return *value;
  return std::filesystem::path(__FILE__).parent_path().parent_path() / ".." / "shared" /
         "fixtures" / "hf";
}

// The 1860 WASSA 2021 training essays, read (and unquoted) by the data layer once.
inline const std::vector<std::string>& wassa_train_essays() {
  static const std::vector<std::string> essays = [] {
    std::vector<std::string> texts;
    for (auto& row : data::load_wassa(data_dir(), data::Split::train).rows) {
      texts.push_back(std::move(row.text));
    }
    return texts;
  }();
  return essays;
}

}  // namespace emotune::bench
