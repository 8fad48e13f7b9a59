// Anchors the shared precompiled <torch/torch.h>; see CMakeLists.txt.
