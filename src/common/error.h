#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace emotune {

// Every failure a user can cause (bad file, bad option, bad value) is an Error whose message
// already says where (file, line, key) and what was expected; the CLI prints it as is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "path:line: message", the form compilers use, so editors can jump to it.
inline Error error_at(const std::filesystem::path& file, std::size_t line, const std::string& what) {
  return Error(fmt::format("{}:{}: {}", file.string(), line, what));
}

inline Error error_in(const std::filesystem::path& file, const std::string& what) {
  return Error(fmt::format("{}: {}", file.string(), what));
}

}  // namespace emotune
