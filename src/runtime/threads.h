#pragma once

namespace emotune::runtime {

// Sets libtorch's intra-op (and OpenMP/BLAS) thread count; n <= 0 means every core.
// libtorch defaults to 1 thread on these machines, so every entry point calls this.
// Returns the count in effect.
int configure_threads(int n);

int hardware_threads();

}  // namespace emotune::runtime
