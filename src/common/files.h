#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace emotune {

// Whole file as bytes; Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Writes to a temporary file beside `path`, fsyncs it, then renames it over `path`, so a
// reader (or a run killed mid-write) sees either the old file or the new one, never half.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Removes a file or folder tree, ignoring failure (a cache that will simply be rebuilt, a
// temporary folder). Uses the throwing remove_all, never the error_code overload: PyPI's
// libtorch 2.11 exports a copy of that one which jumps to address 0 when a program binds to it
// (docs/libtorch2.md).
void remove_all_quietly(const std::filesystem::path& path);

// Value of an environment variable, or nullopt when unset or empty.
std::optional<std::string> env(const char* name);

// Lowercase hex sha256 of bytes / of a file's content.
std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::filesystem::path& path);

}  // namespace emotune
