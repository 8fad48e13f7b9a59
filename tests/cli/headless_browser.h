#pragma once

// Headless Chromium for the tests that check what a user sees (the report, the page of
// `emotune serve`): finding the browser, running it with a throw-away profile, and reading
// its screenshots. Those tests skip only when no Chromium is installed (Debian package
// `chromium`, see setup.sh).

#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/test_paths.h"

namespace emotune::testing {

// The browser: $EMOTUNE_CHROMIUM, else `chromium` on PATH; empty when there is none.
inline std::string find_chromium() {
  if (const char* named = std::getenv("EMOTUNE_CHROMIUM"); named && *named) return named;
  const auto found = run_command("(command -v chromium || command -v chromium-browser)");
  if (found.exit_code != 0 || found.out.empty()) return "";
  return found.out.substr(0, found.out.find('\n'));
}

// `chromium` headless on `url` with `arguments` (--dump-dom, --screenshot=...), with its
// profile and HOME in `profile` so that it runs anywhere (root, CI, no X); killed after
// `timeout_seconds`.
inline CommandResult run_headless_chromium(const std::string& chromium,
                                           const std::filesystem::path& profile,
                                           const std::string& arguments, const std::string& url,
                                           int timeout_seconds) {
  std::filesystem::create_directories(profile / "home");
  return run_command("HOME=" + shell_quote((profile / "home").string()) + " timeout " +
                     std::to_string(timeout_seconds) + " " + shell_quote(chromium) +
                     " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                     " --force-device-scale-factor=1 --no-first-run --user-data-dir=" +
                     shell_quote(profile.string()) + " " + arguments + " " + shell_quote(url));
}

struct Image {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> rgb;  // row-major, 3 bytes a pixel
};

// A PNG as RGB; an empty image (and a test failure naming the file) when it cannot be read.
inline Image read_png(const std::filesystem::path& file) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, file.c_str())) {
    ADD_FAILURE() << file << ": " << image.message;
    return {};
  }
  image.format = PNG_FORMAT_RGB;
  Image out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) {
    ADD_FAILURE() << file << ": " << image.message;
    return {};
  }
  return out;
}

// A `width` × `height` screenshot taken by `run` (a test's chromium(arguments)) into `file`, read
// back; an empty image and a test failure when the browser failed or wrote nothing.
template <typename Run>
Image screenshot(Run&& run, const std::filesystem::path& file, int width, int height) {
  const auto result = run("--screenshot=" + shell_quote(file.string()) +
                          " --window-size=" + std::to_string(width) + "," + std::to_string(height));
  if (result.exit_code != 0 || !std::filesystem::exists(file)) {
    ADD_FAILURE() << "no screenshot " << file << " (exit " << result.exit_code << "): "
                  << result.err;
    return {};
  }
  return read_png(file);
}

}  // namespace emotune::testing
