#include "train/toml_file.h"

#include <string>

#include "common/error.h"
#include "common/files.h"

namespace emotune::train {

toml::table read_toml_file(const std::filesystem::path& file) {
  const auto text = read_file(file);
  try {
    return toml::parse(text, file.string());
  } catch (const toml::parse_error& error) {
    throw error_at(file, error.source().begin.line, std::string(error.description()));
  }
}

}  // namespace emotune::train
