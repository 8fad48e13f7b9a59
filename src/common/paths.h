#pragma once

#include <filesystem>
#include <string>

namespace emotune {

// The data directory holding wassa2021/ and goemotions/: the --data value when given, else
// $EMOTUNE_DATA; an Error that says how to set it otherwise.
std::filesystem::path resolve_data_dir(const std::string& cli_value);

// Where pretrained checkpoint folders live (scripts/fetch_models.sh unpacks them there):
// $EMOTUNE_MODELS, else $HOME/.cache/emotune/models; empty when neither can be named.
std::filesystem::path default_models_root();

}  // namespace emotune
