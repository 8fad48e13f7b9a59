#pragma once

#include <filesystem>

#include <toml++/toml.h>

namespace emotune::train {

// A TOML file parsed whole; a syntax error is an Error naming the file and line.
toml::table read_toml_file(const std::filesystem::path& file);

}  // namespace emotune::train
