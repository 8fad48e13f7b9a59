#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace emotune::train {

// Replaces the folder `target` by one built by `fill` (called with an empty temporary folder
// beside it): files are fsynced, then the folders are swapped with one rename (renameat2
// RENAME_EXCHANGE), so a run killed at any moment leaves either the old or the new folder.
void write_folder_atomic(const std::filesystem::path& target,
                         const std::function<void(const std::filesystem::path&)>& fill);

// The folder to read a snapshot from: `target`, or the swap temporary when a kill came between
// the two renames of a first snapshot; nullopt-like empty path when there is none.
std::filesystem::path existing_snapshot(const std::filesystem::path& target);

// sha256 of every regular file in `dir` (not recursive), by file name.
std::map<std::string, std::string> fingerprint_folder(const std::filesystem::path& dir);

// Log files of one JSON object a line (metrics.jsonl, log.jsonl). A resumed run first keeps
// the lines its snapshot had seen, so lines logged after that snapshot are not there twice.
void keep_first_lines(const std::filesystem::path& file, std::int64_t lines);
void append_line(const std::filesystem::path& file, const std::string& line);

// Copies the tokenizer files of an HF checkpoint folder (whichever exist) into `to`.
void copy_tokenizer_files(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace emotune::train
