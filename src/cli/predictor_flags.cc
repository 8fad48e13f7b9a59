#include "cli/predictor_flags.h"

namespace emotune::cli {

void add_predictor_flags(CLI::App& command, PredictorFlags& flags) {
  command
      .add_option("--device", flags.device,
                  "Where to compute: cpu, cuda or cuda:N (needs a CUDA build of libtorch)")
      ->capture_default_str();
  command
      .add_option("--precision", flags.precision,
                  "Encoder arithmetic: fp32 (reference numerics), int8 (dynamically quantized "
                  "Linear layers, CPU only; 7-bit weights on CPUs without VNNI) or bf16 "
                  "(bfloat16; CPUs with AVX512_BF16 or AMX, refused on others, and GPUs; can "
                  "cost accuracy). `emotune doctor` says what each does on this CPU. Check a "
                  "reduced precision on dev first: docs/performance.md")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  command
      .add_option("--kernels", flags.kernels,
                  "fast (fused layers on unpadded nested tensors, first-token-only last "
                  "layer; bert, roberta, electra) or reference (the training modules' "
                  "forward, HuggingFace's order of operations; fp32/bf16 only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fast", "reference"}));
  command
      .add_option("--parallel-batches", flags.parallel_batches,
                  "Batches computed at once on the CPU, one thread each (at most --threads): "
                  "more essays/s, since a small encoder's many small operations then need no "
                  "hand-offs between threads, but each batch takes longer. 0 = one per thread "
                  "when a call has at least two batches per thread; 1 = all threads on one "
                  "batch (lowest latency per batch)")
      ->capture_default_str();
}

predict::RunPredictorOptions predictor_options(const PredictorFlags& flags,
                                             const GlobalOptions& globals,
                                             std::size_t forward_batch) {
  predict::RunPredictorOptions options;
  options.threads = globals.threads;
  options.forward_batch = forward_batch;
  options.parallel_batches = flags.parallel_batches;
  options.precision = predict::parse_precision(flags.precision);
  options.kernels = predict::parse_kernels(flags.kernels);
  options.device = flags.device;
  return options;
}

}  // namespace emotune::cli
