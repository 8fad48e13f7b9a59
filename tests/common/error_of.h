#pragma once

#include <string>

#include "common/error.h"

namespace emotune::testing {

// The message of the emotune::Error that `action` throws, or "(no error)" when it throws none
// (so an expectation on the message fails, showing that nothing was thrown).
template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace emotune::testing
