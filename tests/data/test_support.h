#pragma once

#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"

namespace emotune::data {

using emotune::testing::error_of;

}  // namespace emotune::data
