#pragma once

// What this CPU can do in reduced precision, as oneDNN (libtorch's int8 and bf16 kernels) will
// use it: int8 dot products (VNNI) and native bfloat16. The one place that decides how
// `--precision int8` runs and whether `--precision bf16` may run; `emotune doctor` prints it.
//
// Why it matters: without VNNI, int8 matrix products use AVX2/AVX-512's u8×s8 multiply-add
// (vpmaddubsw), which adds two products into a saturating 16-bit lane: 255·127·2 overflows it,
// so 8-bit activations and weights give wrong answers (measured: 4× the int8 error of a VNNI
// CPU). With 7-bit weights (-63..63) it cannot overflow (255·63·2 = 32130 < 32767), nor with
// 7-bit activations (127·127·2); emotune gives up the weights' bit, which cost a trained model
// less dev accuracy than FBGEMM's choice of the activations' (model/inference_encoder.h).
// Without native bf16,
// libtorch emulates bf16 products, slower than fp32 and outside the tolerance bf16 holds on
// AVX512_BF16 CPUs, so bf16 is refused there.

#include <optional>
#include <string>
#include <string_view>

namespace emotune::runtime {

struct CpuFeatures {
  std::string model;  // "model name" of /proc/cpuinfo
  bool sse41 = false;
  bool avx = false;
  bool avx2 = false;
  bool avx512 = false;  // avx512f + bw + vl + dq: what libtorch 1.13 needs for oneDNN bf16
  bool avx512_vnni = false;
  bool avx_vnni = false;  // the VEX-encoded VNNI of AVX2-only cores (Alder Lake and later)
  bool avx512_bf16 = false;
  bool amx = false;  // amx_tile + amx_int8 + amx_bf16
};

// Instruction-set features as the kernel reports them (Linux /proc/cpuinfo; empty elsewhere).
CpuFeatures detect_cpu_features();
// The same from the text of a /proc/cpuinfo (the first processor's "flags" line).
CpuFeatures parse_cpu_features(std::string_view cpuinfo);

// oneDNN's instruction-set levels, the values ONEDNN_MAX_CPU_ISA takes (oneDNN 2.x names).
enum class OnednnIsa {
  sse41,
  avx,
  avx2,
  avx2_vnni,
  avx512_core,
  avx512_core_vnni,
  avx512_core_bf16,
  avx512_core_amx,
};

// As ONEDNN_MAX_CPU_ISA spells it: "AVX2", "AVX512_CORE_VNNI", ...
std::string onednn_isa_name(OnednnIsa isa);
// A ONEDNN_MAX_CPU_ISA value, case-insensitive; also oneDNN 3's names for the level they imply
// here (AVX2_VNNI_2, AVX512_CORE_FP16, AVX10_1_512, ..._AMX...). nullopt for "ALL", "" and
// names oneDNN does not know (it then applies no cap).
std::optional<OnednnIsa> parse_onednn_isa(std::string_view name);

// int8 dot-product instructions (AVX512-VNNI or AVX-VNNI): int8 products cannot saturate.
bool has_int8_dot_product(OnednnIsa isa);
// Native bfloat16 arithmetic (AVX512_BF16 or AMX).
bool has_native_bf16(OnednnIsa isa);

// The best level a CPU with these features has (nullopt below SSE4.1).
std::optional<OnednnIsa> best_onednn_isa(const CpuFeatures& cpu);
// The level oneDNN uses on that CPU under ONEDNN_MAX_CPU_ISA = `cap` ("" = unset): the best
// level the CPU has among those the cap allows, as oneDNN decides it (a level is allowed when
// its instructions are a subset of the cap's: AVX512_CORE allows AVX2 but not AVX2_VNNI).
std::optional<OnednnIsa> capped_onednn_isa(const CpuFeatures& cpu, std::string_view cap);

struct ReducedPrecisionSupport {
  CpuFeatures cpu;
  std::optional<OnednnIsa> cpu_isa;  // the CPU's best level, uncapped
  std::string cap;                   // ONEDNN_MAX_CPU_ISA (else DNNL_MAX_CPU_ISA) as set, "" unset
  bool cap_recognised = true;        // false: a value oneDNN ignores (no cap)
  std::optional<OnednnIsa> isa;      // the level oneDNN uses (nullopt: below SSE4.1)
  bool reported_by_onednn = false;   // `isa` came from the loaded oneDNN library itself
  bool int8_dot_product = false;     // VNNI: int8 weights and activations keep all 8 bits
  bool native_bf16 = false;          // bf16 allowed on the CPU
  // AMX: bf16 products several times float32's (8x measured); with AVX512_BF16 alone they were
  // slower than float32 on both emotune and PyTorch (docs/performance.md), so mixed_precision =
  // "auto" takes bf16 only here.
  bool bf16_matrix_units = false;
};

// For this process: asks the oneDNN library libtorch loaded (dnnl_get_effective_cpu_isa)
// when it is there, else derives it from /proc/cpuinfo and the environment.
ReducedPrecisionSupport reduced_precision_support();

// The same decisions from given features and cap (no library, no environment): for tests.
ReducedPrecisionSupport reduced_precision_support(const CpuFeatures& cpu, std::string_view cap);

// One line each: what `--precision int8` / `--precision bf16` will do here.
std::string int8_summary(const ReducedPrecisionSupport& support);
std::string bf16_summary(const ReducedPrecisionSupport& support);
// "" when bf16 may run on the CPU, else the error that refuses it (names the CPU feature).
std::string bf16_refusal(const ReducedPrecisionSupport& support);

}  // namespace emotune::runtime
