#pragma once

namespace emotune::runtime {

// Keeps memory freed by tensors in malloc's heap for the next tensor instead of handing it back
// to the kernel. glibc serves blocks above its mmap threshold (128 KiB to start with) by mmap and
// unmaps them on free, so every activation of a forward pass faults its pages in again: on a
// MiniLM int8 predict a quarter of the time went to page faults and zeroing. Raising the mmap
// threshold to its ceiling (32 MiB) and the trim threshold to 512 MiB makes those blocks reused;
// peak memory stays what the largest step needs. Does nothing when the user tuned malloc
// (GLIBC_TUNABLES naming glibc.malloc, or MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ set) or
// when the C library is not glibc. Returns whether the settings were applied.
bool keep_freed_memory_for_reuse();

// First thing in main() of every program that runs libtorch (the CLI and the benchmarks, so
// that a benchmark measures what a user's command runs): re-executes with better OpenBLAS kernels
// when needed (reexec_with_better_blas_kernels in runtime/doctor.h), then
// keep_freed_memory_for_reuse().
void prepare_process(char** argv);

}  // namespace emotune::runtime
