#include "io/tsv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/ranges.h>

#include "common/error.h"
#include "common/files.h"
#include "io/utf8.h"

namespace emotune::io {
namespace {

// Shown in messages instead of a whole essay.
std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 40;
  if (text.size() <= kMax) return std::string(text);
  std::size_t cut = kMax;
  // Never cut inside a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::size_t line_of_offset(std::string_view content, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(content.begin(), content.begin() + offset, '\n'));
}

std::vector<std::string> split_line(std::string_view line, const std::filesystem::path& file,
                                    std::size_t line_number) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    const std::string_view raw =
        line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    fields.push_back(unquote_field(raw, file, line_number));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return fields;
}

}  // namespace

std::optional<std::size_t> TsvTable::find_column(std::string_view name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header.begin());
}

std::size_t TsvTable::column(std::string_view name) const {
  if (auto index = find_column(name)) return *index;
  throw error_at(
      file, 1,
      fmt::format("missing column '{}' in the header (found: {})", name, fmt::join(header, ", ")));
}

std::string unquote_field(std::string_view raw, const std::filesystem::path& file,
                          std::size_t line) {
  if (raw.empty() || raw.front() != '"') return std::string(raw);
  if (raw.size() < 2 || raw.back() != '"') {
    throw error_at(file, line,
                   fmt::format("quoted field does not end with a closing quote: {}", excerpt(raw)));
  }
  std::string out;
  out.reserve(raw.size() - 2);
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '"') {
      out.push_back(inner[i]);
      continue;
    }
    if (i + 1 < inner.size() && inner[i + 1] == '"') {
      out.push_back('"');
      ++i;
      continue;
    }
    throw error_at(file, line,
                   fmt::format("lone '\"' inside a quoted field (a quote in a quoted field must be "
                               "doubled): {}",
                               excerpt(raw)));
  }
  return out;
}

TsvTable parse_tsv(std::string_view content, const std::filesystem::path& file,
                   const TsvOptions& options) {
  TsvTable table;
  table.file = file;
  if (auto bad = first_invalid_utf8(content)) {
    const std::size_t line = line_of_offset(content, *bad);
    const std::size_t line_start = content.rfind('\n', *bad == 0 ? 0 : *bad - 1);
    const std::size_t column =
        *bad - (line_start == std::string_view::npos || *bad == 0 ? 0 : line_start + 1) + 1;
    throw error_at(file, line,
                   fmt::format("invalid UTF-8 at byte {} of the line (byte 0x{:02X})", column,
                               static_cast<unsigned char>(content[*bad])));
  }
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (content.starts_with(kByteOrderMark)) content.remove_prefix(kByteOrderMark.size());
  if (content.empty()) throw error_in(file, "file is empty");

  std::optional<std::size_t> expected = options.field_count;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    ++line_number;
    std::size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(start, end - start);
    start = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);

    auto fields = split_line(line, file, line_number);
    if (options.has_header && line_number == 1) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].empty()) {
          throw error_at(file, 1, fmt::format("header column {} has an empty name", i + 1));
        }
        if (std::find(fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(i), fields[i]) !=
            fields.begin() + static_cast<std::ptrdiff_t>(i)) {
          throw error_at(file, 1, fmt::format("duplicate header column '{}'", fields[i]));
        }
      }
      expected = fields.size();
      table.header = std::move(fields);
      continue;
    }
    if (!expected) expected = fields.size();
    if (fields.size() != *expected) {
      throw error_at(file, line_number,
                     fmt::format("expected {} tab-separated fields, found {}{}", *expected,
                                 fields.size(), line.empty() ? " (empty line)" : ""));
    }
    table.rows.push_back(TsvRow{line_number, std::move(fields)});
  }
  return table;
}

TsvTable read_tsv(const std::filesystem::path& file, const TsvOptions& options) {
  if (!std::filesystem::exists(file)) throw error_in(file, "no such file");
  const std::string content = read_file(file);
  return parse_tsv(content, file, options);
}

double parse_double(std::string_view text, const std::filesystem::path& file, std::size_t line,
                    std::string_view what) {
  double value = 0.0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  // from_chars rejects a leading '+', which no writer here produces; it is locale-free.
  const auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc() || end != last || !std::isfinite(value)) {
    throw error_at(file, line,
                   fmt::format("{}: expected a number, found '{}'", what, excerpt(text)));
  }
  return value;
}

std::int64_t parse_integer(std::string_view text, const std::filesystem::path& file,
                           std::size_t line, std::string_view what) {
  std::int64_t value = 0;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (!text.empty() && ec == std::errc() && end == last) return value;
  // pandas writes integer columns that went through a float as "24000.0".
  double as_double = 0.0;
  const auto [double_end, double_ec] = std::from_chars(text.data(), last, as_double);
  if (!text.empty() && double_ec == std::errc() && double_end == last && std::isfinite(as_double) &&
      std::trunc(as_double) == as_double && std::fabs(as_double) < 9.0e15) {
    return static_cast<std::int64_t>(as_double);
  }
  throw error_at(file, line,
                 fmt::format("{}: expected an integer, found '{}'", what, excerpt(text)));
}

}  // namespace emotune::io
