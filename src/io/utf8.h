#pragma once

// UTF-8 in one place: validity (RFC 3629, as Python's decoder), counting code points, and
// Python's bytes.decode("utf-8", errors). Readers of data files, the tokenizers and the server
// all go through these.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace emotune::io {

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or nullopt
// when all of `bytes` is valid UTF-8 (no surrogates, no overlong forms, at most U+10FFFF).
std::optional<std::size_t> first_invalid_utf8(std::string_view bytes);

// How to turn bytes that are not valid UTF-8 into text, as Python's bytes.decode(errors=...).
enum class Utf8Errors { kReplace, kIgnore, kStrict };
Utf8Errors parse_utf8_errors(std::string_view name);  // "replace" | "ignore" | "strict"

// Python's `bytes.decode("utf-8", errors)`: with kReplace each maximal ill-formed subpart
// becomes one U+FFFD (Unicode's recommended practice, which CPython follows); kIgnore drops
// it; kStrict throws Error.
std::string decode_utf8(std::string_view bytes, Utf8Errors errors);

// Whether `byte` continues a multi-byte sequence (10xxxxxx) rather than starting a code point.
constexpr bool is_continuation_byte(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

// Code points in `text` (valid UTF-8): the bytes that are not continuation bytes.
std::size_t count_code_points(std::string_view text);

}  // namespace emotune::io
