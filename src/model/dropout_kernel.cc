#include "model/dropout_kernel.h"

namespace emotune::model {

namespace {

// SplitMix64's output function (Steele, Lea & Flood 2014) over the stream key + n·gamma:
// passes BigCrush, and costs two multiplications per 64 bits (four mask elements).
inline std::uint64_t splitmix64(std::uint64_t key, std::uint64_t n) {
  std::uint64_t z = key + (n + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void fill_keep_mask(
    std::uint8_t* mask, std::size_t count, std::uint64_t first, std::uint64_t key,
    std::uint32_t drop_threshold) {
  std::size_t j = 0;
  // Up to the first element whose index is a multiple of 4, then whole words of four.
  for (; j < count && (first + j) % 4 != 0; ++j) {
    const std::uint64_t i = first + j;
    const auto bits =
        static_cast<std::uint32_t>((splitmix64(key, i / 4) >> (16 * (i % 4))) & 0xFFFF);
    mask[j] = bits >= drop_threshold;
  }
  const std::size_t words = (count - j) / 4;
  const std::uint64_t first_word = (first + j) / 4;
  std::uint8_t* out = mask + j;
  for (std::size_t w = 0; w < words; ++w) {
    const std::uint64_t z = splitmix64(key, first_word + w);
    out[4 * w + 0] = static_cast<std::uint32_t>(z & 0xFFFF) >= drop_threshold;
    out[4 * w + 1] = static_cast<std::uint32_t>((z >> 16) & 0xFFFF) >= drop_threshold;
    out[4 * w + 2] = static_cast<std::uint32_t>((z >> 32) & 0xFFFF) >= drop_threshold;
    out[4 * w + 3] = static_cast<std::uint32_t>(z >> 48) >= drop_threshold;
  }
  for (j += 4 * words; j < count; ++j) {
    const std::uint64_t i = first + j;
    const auto bits =
        static_cast<std::uint32_t>((splitmix64(key, i / 4) >> (16 * (i % 4))) & 0xFFFF);
    mask[j] = bits >= drop_threshold;
  }
}

}  // namespace emotune::model
