#pragma once
// Dropout masks from a counter-based generator: element i's draw depends only on (key, i), so
// the mask is filled by any number of threads at once and is the same for every split.

#include <cstddef>
#include <cstdint>

namespace emotune::model {

// mask[j] = 1 when element `first + j` is kept, 0 when dropped, for j in [0, count): element i
// takes 16 bits of SplitMix64's output number i/4 for the stream seeded by `key` and is
// dropped when they are below `drop_threshold` (the drop probability × 65536).
void fill_keep_mask(std::uint8_t* mask, std::size_t count, std::uint64_t first, std::uint64_t key,
                    std::uint32_t drop_threshold);

}  // namespace emotune::model
