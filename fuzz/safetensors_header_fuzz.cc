// libFuzzer target for the safetensors header parser: any input must either parse or throw
// emotune::Error; anything else (crash, other exception, ASan report) is a finding.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto header = emotune::io::parse_safetensors_header(bytes, "fuzz.safetensors");
    // Every accepted range must lie inside the input.
    for (const auto& tensor : header.tensors)
      if (header.data_start + tensor.end > size) __builtin_trap();
  } catch (const emotune::Error&) {
  }
  return 0;
}
