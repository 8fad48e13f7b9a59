#pragma once

// The files of the page served at `/` (src/serve/web/), compiled into the program at build
// time by cmake/embed_files.cmake: nothing is read from disk or fetched at run time.

#include <span>
#include <string_view>

namespace emotune::serve {

struct WebAsset {
  std::string_view name;  // file name, e.g. "index.html"
  std::string_view body;
};

std::span<const WebAsset> web_assets();

// "text/html; charset=utf-8" etc. by extension; "application/octet-stream" otherwise.
std::string_view content_type_of(std::string_view name);

}  // namespace emotune::serve
