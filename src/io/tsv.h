#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::io {

// One data row of a TSV file: its fields, already unquoted, and the 1-based line it came from.
struct TsvRow {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

struct TsvOptions {
  // The first line names the columns; every row must then have exactly that many fields.
  bool has_header = true;
  // For header-less files: the field count every row must have. Unset: the first row's count.
  std::optional<std::size_t> field_count;
};

// A whole TSV file. Rows are split on TAB first, then each field is unquoted RFC-4180 style
// (a field starting with `"` must end with `"`, inner `""` stands for `"`), which is how
// pandas writes these files: no field holds a TAB or a newline.
struct TsvTable {
  std::filesystem::path file;
  std::vector<std::string> header;  // empty when the file has none
  std::vector<TsvRow> rows;

  // Index of a header column, or nullopt when absent.
  std::optional<std::size_t> find_column(std::string_view name) const;
  // Index of a header column; an Error naming the file and the missing column otherwise.
  std::size_t column(std::string_view name) const;
};

// Reads and validates a file: UTF-8 (utf8proc), quoting and strict field counts, each
// problem an Error "file:line: what". A leading UTF-8 byte-order mark and a CR before each
// LF are tolerated; an empty line is a row with one empty field (and so usually an error).
TsvTable read_tsv(const std::filesystem::path& file, const TsvOptions& options = {});

// The same on bytes already in memory; `file` is only used in messages.
TsvTable parse_tsv(std::string_view content, const std::filesystem::path& file,
                   const TsvOptions& options = {});

// The unquoted value of one raw field (see TsvTable).
std::string unquote_field(std::string_view raw, const std::filesystem::path& file,
                          std::size_t line);

// Numbers as pandas writes them. A float accepts `4`, `4.0`, `5.667000000000001`, `1e3`;
// an integer accepts `4` and an integral float such as `4.0` (dev/test demographics), but
// not `4.5`. Errors name file, line and column (`what`).
double parse_double(std::string_view text, const std::filesystem::path& file, std::size_t line,
                    std::string_view what);
std::int64_t parse_integer(std::string_view text, const std::filesystem::path& file,
                           std::size_t line, std::string_view what);

}  // namespace emotune::io
