#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/test_paths.h"

namespace emotune::data {

using emotune::testing::error_of;

// The data directory of the tests ($EMOTUNE_DATA, else ../shared/data).
inline const std::filesystem::path& data() {
  static const std::filesystem::path dir = emotune::testing::data_dir();
  return dir;
}

}  // namespace emotune::data
