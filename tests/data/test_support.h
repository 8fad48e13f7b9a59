#pragma once

#include <string>

#include <gtest/gtest.h>

#include "common/error.h"

namespace emotune::data {

// The Error message of a call that must throw one.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an emotune::Error";
  return {};
}

}  // namespace emotune::data
