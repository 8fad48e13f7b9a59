// libFuzzer target for the TSV reader: any bytes must give a table or an emotune::Error,
// never a crash, and every accepted row must have the same field count.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/error.h"
#include "io/tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (bool has_header : {true, false}) {
    try {
      const auto table = emotune::io::parse_tsv(
          bytes, "fuzz.tsv", emotune::io::TsvOptions{.has_header = has_header, .field_count = {}});
      const std::size_t width = has_header
                                    ? table.header.size()
                                    : (table.rows.empty() ? 0 : table.rows.front().fields.size());
      for (const auto& row : table.rows) {
        if (row.fields.size() != width) std::abort();
      }
    } catch (const emotune::Error&) {
    }
  }
  return 0;
}
