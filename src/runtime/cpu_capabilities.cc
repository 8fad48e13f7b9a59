#include "runtime/cpu_capabilities.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace emotune::runtime {
namespace {

// oneDNN 2.x's dnnl_cpu_isa_t values: each level's instruction groups as bits, so that "level A
// is allowed under cap B" is "A's bits are a subset of B's" (how oneDNN applies the cap).
struct IsaInfo {
  OnednnIsa isa;
  const char* name;
  std::uint32_t bits;
};
constexpr std::array<IsaInfo, 8> kIsas{{
    {OnednnIsa::sse41, "SSE41", 0x1},
    {OnednnIsa::avx, "AVX", 0x3},
    {OnednnIsa::avx2, "AVX2", 0x7},
    {OnednnIsa::avx2_vnni, "AVX2_VNNI", 0x407},
    {OnednnIsa::avx512_core, "AVX512_CORE", 0x27},
    {OnednnIsa::avx512_core_vnni, "AVX512_CORE_VNNI", 0x67},
    {OnednnIsa::avx512_core_bf16, "AVX512_CORE_BF16", 0xe7},
    {OnednnIsa::avx512_core_amx, "AVX512_CORE_AMX", 0x3e7},
}};
// oneDNN's preference when several levels are allowed: the widest first.
constexpr std::array<OnednnIsa, 8> kBestFirst{
    OnednnIsa::avx512_core_amx, OnednnIsa::avx512_core_bf16, OnednnIsa::avx512_core_vnni,
    OnednnIsa::avx512_core,     OnednnIsa::avx2_vnni,        OnednnIsa::avx2,
    OnednnIsa::avx,             OnednnIsa::sse41};

const IsaInfo& info(OnednnIsa isa) {
  return *std::find_if(kIsas.begin(), kIsas.end(), [&](const auto& i) { return i.isa == isa; });
}

bool cpu_has(const CpuFeatures& cpu, OnednnIsa isa) {
  switch (isa) {
    case OnednnIsa::sse41:
      return cpu.sse41;
    case OnednnIsa::avx:
      return cpu.avx;
    case OnednnIsa::avx2:
      return cpu.avx2;
    case OnednnIsa::avx2_vnni:
      return cpu.avx2 && cpu.avx_vnni;
    case OnednnIsa::avx512_core:
      return cpu.avx512;
    case OnednnIsa::avx512_core_vnni:
      return cpu.avx512 && cpu.avx512_vnni;
    case OnednnIsa::avx512_core_bf16:
      return cpu.avx512 && cpu.avx512_vnni && cpu.avx512_bf16;
    case OnednnIsa::avx512_core_amx:
      return cpu.avx512 && cpu.avx512_vnni && cpu.avx512_bf16 && cpu.amx;
  }
  return false;
}

// A dnnl_cpu_isa_t value as returned by the library: its level, or the closest one its bits
// allow (a newer oneDNN's level that this table does not name).
std::optional<OnednnIsa> from_library_value(std::uint32_t value) {
  for (const auto& i : kIsas)
    if (i.bits == value) return i.isa;
  for (const auto isa : kBestFirst)
    if ((info(isa).bits & value) == info(isa).bits) return isa;
  return std::nullopt;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string isa_text(const std::optional<OnednnIsa>& isa) {
  return isa ? onednn_isa_name(*isa) : std::string("below SSE41 (reference kernels)");
}

// "AVX2, capped by ONEDNN_MAX_CPU_ISA=AVX2; the CPU has AVX512_CORE_BF16"
std::string where(const ReducedPrecisionSupport& s) {
  auto text = "oneDNN ISA " + isa_text(s.isa);
  if (!s.cap.empty() && s.isa != s.cpu_isa)
    text += fmt::format(", capped by ONEDNN_MAX_CPU_ISA={}; the CPU has {}", s.cap,
                        isa_text(s.cpu_isa));
  return text;
}

void decide(ReducedPrecisionSupport& s) {
  s.int8_dot_product = s.isa && has_int8_dot_product(*s.isa);
  s.native_bf16 = s.isa && has_native_bf16(*s.isa);
  s.bf16_matrix_units = s.isa == OnednnIsa::avx512_core_amx;
}

}  // namespace

CpuFeatures parse_cpu_features(std::string_view cpuinfo) {
  CpuFeatures cpu;
  std::istringstream in{std::string(cpuinfo)};
  std::string line;
  std::set<std::string> flags;
  bool flags_seen = false;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    const auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if (key == "model name" && cpu.model.empty()) cpu.model = value;
    if (key == "flags" && !flags_seen) {
      flags_seen = true;
      std::istringstream words(value);
      for (std::string flag; words >> flag;) flags.insert(flag);
    }
  }
  const auto has = [&](const char* flag) { return flags.count(flag) > 0; };
  cpu.sse41 = has("sse4_1");
  cpu.avx = has("avx");
  cpu.avx2 = has("avx2");
  cpu.avx512 = has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq");
  cpu.avx512_vnni = has("avx512_vnni");
  cpu.avx_vnni = has("avx_vnni");
  cpu.avx512_bf16 = has("avx512_bf16");
  cpu.amx = has("amx_tile") && has("amx_int8") && has("amx_bf16");
  return cpu;
}

CpuFeatures detect_cpu_features() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  return parse_cpu_features(text.str());
}

std::string onednn_isa_name(OnednnIsa isa) {
  return info(isa).name;
}

std::optional<OnednnIsa> parse_onednn_isa(std::string_view name) {
  const auto wanted = upper(name);
  for (const auto& i : kIsas)
    if (wanted == i.name) return i.isa;
  // oneDNN 3's levels, by what they imply for int8 and bf16.
  if (wanted == "AVX2_VNNI_2") return OnednnIsa::avx2_vnni;
  if (wanted == "AVX512_CORE_FP16" || wanted == "AVX10_1_512") return OnednnIsa::avx512_core_bf16;
  if (wanted == "AVX512_CORE_AMX_FP16" || wanted == "AVX10_1_512_AMX" ||
      wanted == "AVX10_1_512_AMX_FP16")
    return OnednnIsa::avx512_core_amx;
  return std::nullopt;
}

bool has_int8_dot_product(OnednnIsa isa) {
  return isa == OnednnIsa::avx2_vnni || isa == OnednnIsa::avx512_core_vnni ||
         isa == OnednnIsa::avx512_core_bf16 || isa == OnednnIsa::avx512_core_amx;
}

bool has_native_bf16(OnednnIsa isa) {
  return isa == OnednnIsa::avx512_core_bf16 || isa == OnednnIsa::avx512_core_amx;
}

std::optional<OnednnIsa> best_onednn_isa(const CpuFeatures& cpu) {
  for (const auto isa : kBestFirst)
    if (cpu_has(cpu, isa)) return isa;
  return std::nullopt;
}

std::optional<OnednnIsa> capped_onednn_isa(const CpuFeatures& cpu, std::string_view cap) {
  const auto limit = parse_onednn_isa(cap);
  if (!limit) return best_onednn_isa(cpu);
  const auto allowed = info(*limit).bits;
  for (const auto isa : kBestFirst)
    if (cpu_has(cpu, isa) && (info(isa).bits & allowed) == info(isa).bits) return isa;
  return std::nullopt;
}

ReducedPrecisionSupport reduced_precision_support(const CpuFeatures& cpu, std::string_view cap) {
  ReducedPrecisionSupport s;
  s.cpu = cpu;
  s.cpu_isa = best_onednn_isa(cpu);
  s.cap = std::string(cap);
  s.cap_recognised = cap.empty() || upper(cap) == "ALL" || parse_onednn_isa(cap).has_value();
  s.isa = capped_onednn_isa(cpu, cap);
  decide(s);
  return s;
}

ReducedPrecisionSupport reduced_precision_support() {
  std::string cap;
  for (const char* variable : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') {
      cap = value;
      break;
    }
  }
  auto s = reduced_precision_support(detect_cpu_features(), cap);
  // The library is the authority on what it will run (it reads the same variables). libtorch
  // loads it; a build with oneDNN linked in privately has no such symbol, hence the fallback.
  using EffectiveIsa = int (*)();
  if (auto effective = reinterpret_cast<EffectiveIsa>(
          ::dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa"))) {
    if (const auto isa = from_library_value(static_cast<std::uint32_t>(effective()))) {
      s.isa = isa;
      s.reported_by_onednn = true;
      decide(s);
    }
  }
  return s;
}

std::string int8_summary(const ReducedPrecisionSupport& s) {
  if (s.int8_dot_product)
    return fmt::format("VNNI int8 dot products ({}): weights and activations keep 8 bits", where(s));
  return fmt::format(
      "no int8 dot products (AVX512_VNNI or AVX_VNNI) in {}: weights are quantized to 7 "
      "bits (-63..63), so that the saturating 16-bit multiply-add int8 products use here cannot "
      "overflow",
      where(s));
}

std::string bf16_summary(const ReducedPrecisionSupport& s) {
  if (s.native_bf16) return fmt::format("native bfloat16 ({})", where(s));
  return "refused on the CPU: " + bf16_refusal(s);
}

std::string bf16_refusal(const ReducedPrecisionSupport& s) {
  if (s.native_bf16) return {};
  return fmt::format(
      "precision bf16 needs native bfloat16 arithmetic (the CPU feature AVX512_BF16, or AMX), "
      "which this CPU lacks as oneDNN uses it ({}); emulated bf16 would be slower than fp32 and "
      "less accurate. Use --precision int8 (faster) or fp32",
      where(s));
}

}  // namespace emotune::runtime
