#include "common/paths.h"

#include "common/error.h"
#include "common/files.h"

namespace emotune {

std::filesystem::path resolve_data_dir(const std::string& cli_value) {
  std::filesystem::path dir;
  std::string origin;
  if (!cli_value.empty()) {
    dir = cli_value;
    origin = "--data";
  } else if (auto from_env = env("EMOTUNE_DATA")) {
    dir = *from_env;
    origin = "EMOTUNE_DATA";
  } else {
    throw Error(
        "no data directory: pass --data DIR or set EMOTUNE_DATA to the folder that holds "
        "wassa2021/ and goemotions/ (e.g. ../shared/data)");
  }
  if (!std::filesystem::is_directory(dir)) {
    throw Error(fmt::format("data directory {} (from {}) does not exist or is not a directory",
                            dir.string(), origin));
  }
  return dir;
}

std::filesystem::path default_models_root() {
  if (auto from_env = env("EMOTUNE_MODELS"); from_env && !from_env->empty()) return *from_env;
  if (auto home = env("HOME"); home && !home->empty())
    return std::filesystem::path(*home) / ".cache" / "emotune" / "models";
  return {};
}

}  // namespace emotune
