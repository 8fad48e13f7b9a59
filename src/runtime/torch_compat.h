#pragma once
// The one place where emotune's code meets the differences between the libtorch versions it
// builds against: Debian's libtorch 1.13 (CPU) and PyTorch's own libtorch 2.x (PyPI wheel or
// zip, CPU or CUDA). Everything else in src/ is written against the API both share; a
// difference goes here as a small alias or function, never as an #if in the calling code.
// Light on purpose: only <torch/version.h>, so any file may include it.

#include <torch/version.h>

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace emotune::runtime {

inline constexpr int kTorchVersionMajor = TORCH_VERSION_MAJOR;
inline constexpr int kTorchVersionMinor = TORCH_VERSION_MINOR;

// The c10d class that ProcessGroupGloo and ProcessGroupNCCL derive from and that offers
// allreduce/broadcast/barrier on tensors: ProcessGroup up to 1.13; from 2.0 on a ProcessGroup
// dispatches to per-device Backend objects, and the concrete groups are Backends.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

}  // namespace emotune::runtime
