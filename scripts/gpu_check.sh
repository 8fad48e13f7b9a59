#!/usr/bin/env bash
# The GPU check (docs/libtorch2.md, "GPU check"): on a machine with an NVIDIA GPU and a CUDA
# libtorch, builds emotune, runs every test that has a CUDA variant (suites "*OnDevice":
# encoder goldens on the device, three AdamW steps' parity with the CPU reference, bf16
# training, predictions and the HTTP service on the device), drives `train`, `predict` and
# `serve` with --device cuda (and `train --nproc 1 --dist-backend nccl`), times a short
# benchmark on cuda and on the CPU, and writes everything into one report file.
#
#   scripts/gpu_check.sh [--libtorch DIR] [--build-dir DIR] [--report FILE] [--jobs N] [--tests-only]
#   scripts/gpu_check.sh --stage        (here, before sending the tree to a bare GPU machine)
#
# --libtorch: a CUDA libtorch folder (a wheel's torch/, or PyTorch's libtorch zip); default
#   $EMOTUNE_LIBTORCH, else python3's installed torch (torch.utils.cmake_prefix_path), else
#   what scripts/build_libtorch2.sh unpacked. A wheel's torch/ needs its nvidia/ folder
#   beside it (they are ~3 GB together: they cannot travel with the working tree; a machine
#   that has PyTorch installed has both).
# --tests-only: build the three test programs and run their *OnDevice* tests, nothing else
#   (a short re-check on a lent machine).
# Report: --report, default $OUT/gpu_check_report.md when $OUT is set, else
#   <build-dir>/gpu_check_report.md. Build dir default: build-gpu.
#
# Without a GPU (or without a CUDA libtorch) it says so at the top of its output and of the
# report, runs what the CPU can (the build, the cpu instances of the same tests, the clear
# error of --device cuda) and exits 0; it exits non-zero only on a real failure: a build
# error, a failing test, a cuda test skipped although a GPU is present, or a CLI run failing.
#
# A bare machine (nothing fetched there) needs, besides the working tree: the fixtures and the
# WASSA data (../shared does not travel), and, where the image lacks them, the Debian -dev
# packages emotune builds with. `--stage` copies the fixtures the device tests read and the
# WASSA files into .gpu_check/ (ignored by git; ~33 MB) and, with --debs, downloads the
# Debian packages into .gpu_check/debs for an image without them; name .gpu_check in the
# device tool's `carry`. The check then finds them there by itself.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
stage_dir=$repo/.gpu_check

# One line per dependency: a header that shows the image has it, then the Debian packages
# (-dev and the runtime library it links) that stand in where it is missing. Ubuntu 24.04
# (the GPU machines' image) lacks utf8proc, pcre2's headers, toml++, cpp-httplib and libzip.
deb_groups() {
  cat <<'GROUPS'
utf8proc.h libutf8proc-dev libutf8proc2
pcre2.h libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
toml++/toml.h libtomlplusplus-dev libtomlplusplus3
httplib.h libcpp-httplib-dev libcpp-httplib0.11
brotli/decode.h libbrotli-dev
zip.h libzip-dev libzip4
sentencepiece_processor.h libsentencepiece-dev libsentencepiece0
nlohmann/json.hpp nlohmann-json3-dev
CLI/CLI.hpp libcli11-dev
fmt/core.h libfmt-dev libfmt9
spdlog/spdlog.h libspdlog-dev libspdlog1.10
gtest/gtest.h libgtest-dev libgmock-dev googletest
benchmark/benchmark.h libbenchmark-dev libbenchmark1debian
GROUPS
}

# --- staging (runs here, not on the GPU machine) -------------------------------------------
stage() {
  local with_debs=$1
  local fixtures=${EMOTUNE_HF_FIXTURES:-$repo/../shared/fixtures/hf}
  local data=${EMOTUNE_DATA:-$repo/../shared/data}
  rm -rf "$stage_dir/fixtures" "$stage_dir/data"
  mkdir -p "$stage_dir/fixtures/golden" "$stage_dir/data"
  for family in electra roberta bert; do
    cp -r "$fixtures/$family" "$stage_dir/fixtures/"
    cp "$fixtures/golden/${family}_forward."* "$fixtures/golden/${family}_tokens.json" \
      "$stage_dir/fixtures/golden/"
  done
  cp "$fixtures/golden/electra_train_regression."* "$stage_dir/fixtures/golden/"
  cp -r "$data/wassa2021" "$stage_dir/data/"
  if [ "$with_debs" = 1 ]; then
    rm -rf "$stage_dir/debs"
    mkdir -p "$stage_dir/debs"
    # shellcheck disable=SC2046
    (cd "$stage_dir/debs" && apt-get download $(deb_groups | cut -d' ' -f2-))
  fi
  du -sh "$stage_dir"
  echo "staged into $stage_dir: name .gpu_check in the device tool's carry"
}

libtorch=${EMOTUNE_LIBTORCH:-}
build_dir=build-gpu
report=""
jobs=$(nproc)
tests_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) shift; [ "${1:-}" = --debs ] && { stage 1; exit; }; stage 0; exit ;;
    --libtorch) libtorch=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --tests-only) tests_only=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -z "$report" ] && report=${OUT:+$OUT/gpu_check_report.md}
[ -z "$report" ] && report=$build_dir/gpu_check_report.md
mkdir -p "$build_dir" "$(dirname "$report")"
log=$build_dir/gpu_check.log
: >"$log"
failures=()
started=$(date +%s)

say() { echo "$*" | tee -a "$report"; }
fail() { failures+=("$1"); say "FAILED: $1"; }
elapsed() { echo $(($(date +%s) - started)); }

# --- what this machine has ------------------------------------------------------------------
gpu=0
gpu_names=$(nvidia-smi -L 2>/dev/null) && [ -n "$gpu_names" ] && gpu=1
: >"$report"
say "# emotune GPU check"
say ""
say "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ "$gpu" = 1 ]; then
  say "GPU: $gpu_names"
  nvidia-smi --query-gpu=driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/driver, memory: /' | tee -a "$report"
else
  say "NO GPU: nvidia-smi finds no NVIDIA GPU here. The CUDA checks are SKIPPED, not failed;"
  say "only the parts the CPU can check run (build, cpu instances, --device cuda's error)."
fi

if [ -z "$libtorch" ]; then
  libtorch=$(python3 -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.utils.cmake_prefix_path)))' 2>/dev/null)
fi
if [ -z "$libtorch" ]; then
  for candidate in "${EMOTUNE_TORCH2_CACHE:-$HOME/.cache/emotune}"/torch-*/site/torch; do
    [ -d "$candidate" ] && libtorch=$candidate
  done
fi
if [ -z "$libtorch" ] || [ -z "$(find "$libtorch" -maxdepth 5 -name TorchConfig.cmake -print -quit 2>/dev/null)" ]; then
  say "no libtorch found (give --libtorch DIR, a folder with share/cmake/Torch)"
  [ "$gpu" = 1 ] && fail "no CUDA libtorch on a GPU machine"
  exit $(( ${#failures[@]} > 0 ))
fi
cuda_libtorch=0
[ -n "$(find "$libtorch" -maxdepth 3 -name 'libtorch_cuda.so' -print -quit 2>/dev/null)" ] && cuda_libtorch=1
say "libtorch: $libtorch ($([ "$cuda_libtorch" = 1 ] && echo CUDA || echo 'CPU only'))"
if [ "$gpu" = 1 ] && [ "$cuda_libtorch" = 0 ]; then
  fail "a GPU is present but $libtorch has no CUDA (libtorch_cuda.so)"
fi

# Fixtures and data: the environment's, else ../shared, else what --stage put in .gpu_check.
export EMOTUNE_HF_FIXTURES=${EMOTUNE_HF_FIXTURES:-$repo/../shared/fixtures/hf}
export EMOTUNE_DATA=${EMOTUNE_DATA:-$repo/../shared/data}
[ -d "$EMOTUNE_HF_FIXTURES" ] || EMOTUNE_HF_FIXTURES=$stage_dir/fixtures
[ -d "$EMOTUNE_DATA" ] || EMOTUNE_DATA=$stage_dir/data

# Debian packages carried as .debs (--stage --debs), for an image that lacks some of emotune's
# -dev packages: each missing one is unpacked into a private root that CMake and pkg-config
# search (never into /); what the image has is used as it is, so nothing is there twice.
cmake_extra=()
if [ -d "$stage_dir/debs" ]; then
  sysroot=$stage_dir/sysroot
  unpacked=()
  while read -r header packages; do
    [ -e "/usr/include/$header" ] || [ -e "/usr/include/x86_64-linux-gnu/$header" ] && continue
    for package in $packages; do
      deb=$(ls "$stage_dir/debs/${package}_"*.deb 2>/dev/null | head -1)
      [ -n "$deb" ] || { fail "no .deb of $package in $stage_dir/debs (for $header)"; exit 1; }
      dpkg-deb -x "$deb" "$sysroot"
    done
    unpacked+=("${header%%/*}")
  done < <(deb_groups)
  if [ ${#unpacked[@]} -gt 0 ]; then
    # Debian's .pc files say prefix=/usr: point them at the private root.
    find "$sysroot" -name '*.pc' -exec sed -i "s|^prefix=/usr\$|prefix=$sysroot/usr|" {} +
    libdir=$sysroot/usr/lib/x86_64-linux-gnu
    export PKG_CONFIG_PATH=$libdir/pkgconfig:$sysroot/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    cmake_extra=(-DCMAKE_PREFIX_PATH="$libtorch;$sysroot/usr" "-DCMAKE_CXX_FLAGS=-isystem $sysroot/usr/include"
      "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$libdir -Wl,-rpath,$libdir")
    say "Debian packages unpacked into $sysroot for what the image lacks: ${unpacked[*]}"
  fi
fi

# --- build ----------------------------------------------------------------------------------
say ""
say "## Build ($jobs jobs)"
targets=(emotune_cli emotune_model_tests emotune_train_tests emotune_serve_tests train_bench)
[ "$tests_only" = 1 ] && targets=(emotune_model_tests emotune_train_tests emotune_serve_tests)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ -f "$build_dir/build.ninja" ]; then
  say "reusing $build_dir ($(grep -m1 '^Torch_DIR:' "$build_dir/CMakeCache.txt" | cut -d= -f2))"
else
  # CMake 4 (the GPU image's) refuses projects older than policy 3.5; a libtorch's CMake
  # files may name older ones.
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DEMOTUNE_BUILD_FUZZ=OFF \
    -DCMAKE_PREFIX_PATH="$libtorch" "${launcher[@]}" "${cmake_extra[@]+"${cmake_extra[@]}"}" >>"$log" 2>&1 ||
    { fail "cmake configure (see $log)"; tail -30 "$log"; exit 1; }
fi
# -k 0: on a machine lent for minutes, one try should show every compile error, not the first.
if ! cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" -- -k 0 >>"$log" 2>&1; then
  fail "build (see $log)"
  grep -E -m 40 -A4 'error:|undefined reference|FAILED:' "$log" | tee -a "$report"
  exit 1
fi
nccl=$(grep -c '^EMOTUNE_WITH_NCCL:BOOL=ON' "$build_dir/CMakeCache.txt")
say "built in $(elapsed) s; NCCL process group: $([ "$nccl" = 1 ] && echo yes || echo no)"
emotune=$build_dir/emotune

# --- the tests with a CUDA variant ------------------------------------------------------------
say ""
say "## Tests with a CUDA variant (gtest filter *OnDevice*)"
say ""
say "| program | passed | failed | skipped | cuda instances run |"
say "|---|---|---|---|---|"
for program in model train serve; do
  out=$build_dir/gpu_check_${program}.txt
  # Line-buffered, so that a crash loses none of the tests' own lines.
  line_buffered=()
  command -v stdbuf >/dev/null && line_buffered=(stdbuf -oL)
  "${line_buffered[@]}" "$build_dir/emotune_${program}_tests" --gtest_filter='*OnDevice*' \
    --gtest_color=no >"$out" 2>&1
  status=$?
  debugger=$(command -v gdb || command -v cuda-gdb)
  if [ "$status" -ge 128 ] && [ -n "$debugger" ]; then
    # A crash: the test that crashed and a backtrace, into the report (the machine is gone after).
    say "    crashed (exit $status) in: $(grep '^\[ RUN' "$out" | tail -1)"
    "$debugger" -batch -ex run -ex 'bt 40' --args "$build_dir/emotune_${program}_tests" \
      --gtest_filter="$(grep '^\[ RUN' "$out" | tail -1 | sed 's/.*\] //')" >"$out.bt" 2>&1
    grep -E '^#[0-9]+ ' "$out.bt" | head -40 | cut -c1-300 | sed 's/^/    /' >>"$report"
    # Which library the program's std::filesystem calls bind to (PyPI's libtorch exports its own
    # copies; CMakeLists.txt puts libstdc++ first in DT_NEEDED so that its definitions win).
    say "    DT_NEEDED: $(readelf -d "$build_dir/emotune_${program}_tests" | grep -o 'NEEDED.*' | head -4 | tr '\n' ' ')"
    LD_BIND_NOW=1 LD_DEBUG=bindings "$build_dir/emotune_${program}_tests" --gtest_list_tests 2>&1 >/dev/null |
      grep "emotune_${program}_tests.*filesystem" | grep -o 'to [^ ]* .*' | head -5 | cut -c1-250 |
      sed 's/^/    binds /' >>"$report"
  fi
  cat "$out" >>"$log"
  passed=$(grep -c '^\[       OK \]' "$out")
  # gtest names a failed or skipped test twice (when it happens, in the summary): count names.
  failed=$(grep -o '^\[  FAILED  \] [^ ]*\.[^ ,]*' "$out" | sort -u | wc -l)
  skipped=$(grep -o '^\[  SKIPPED \] [^ ]*\.[^ ,]*' "$out" | sort -u | wc -l)
  cuda_run=$(grep '^\[       OK \]' "$out" | grep -c 'cuda')
  say "| $program | $passed | $failed | $skipped | $cuda_run |"
  [ "$status" -ne 0 ] && fail "emotune_${program}_tests --gtest_filter=*OnDevice* (exit $status; $out)"
  [ "$passed" -eq 0 ] && fail "emotune_${program}_tests: no *OnDevice* test ran"
  [ "$gpu" = 1 ] && [ "$skipped" -gt 0 ] && fail "emotune_${program}_tests: cuda tests skipped on a GPU machine"
  grep -E '^(electra|roberta|bert) on |^(cpu|cuda)' "$out" | sed 's/^/    /' >>"$report"
done

if [ "$tests_only" = 1 ]; then
  say ""
  say "total $(elapsed) s (--tests-only: no CLI runs, no benchmark); $([ ${#failures[@]} -eq 0 ] && echo 'no failures' || echo "${#failures[@]} failure(s): ${failures[*]}")"
  exit $(( ${#failures[@]} > 0 ))
fi

# --- the CLI on cuda ---------------------------------------------------------------------------
say ""
say "## train, predict and serve with --device cuda"
work=$build_dir/gpu_check_runs
rm -rf "$work"
mkdir -p "$work"
train_args=(train configs/quick/multitask.toml --backbone "$EMOTUNE_HF_FIXTURES/electra"
  --data "$EMOTUNE_DATA" --seeds 1 --no-progress --set epochs=1 --set train_limit=64
  --set dev_limit=32 --set eval_every_steps=0)
if [ "$gpu" = 0 ] || [ "$cuda_libtorch" = 0 ]; then
  if "$emotune" "${train_args[@]}" --out "$work/cuda" --device cuda >"$work/cuda.txt" 2>&1; then
    fail "train --device cuda succeeded without a GPU"
  elif grep -q 'device cuda' "$work/cuda.txt"; then
    say "no GPU: train --device cuda stops with: $(grep -m1 'device cuda' "$work/cuda.txt")"
  else
    fail "train --device cuda without a GPU: unclear error ($(head -c 300 "$work/cuda.txt"))"
  fi
else
  cli() {  # name, then the command line
    local name=$1
    shift
    local t0
    t0=$(date +%s%N)
    if "$@" >"$work/$name.txt" 2>&1; then
      say "- $name: ok ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
    else
      fail "$name: $(tail -3 "$work/$name.txt" | tr '\n' ' ')"
      # The first errors of the run (a rank's own message comes before the launcher's summary).
      grep -m 8 -iE 'error|exception|what\(\)' "$work/$name.txt" | cut -c1-400 | sed 's/^/    /' >>"$report"
    fi
  }
  cli "train --device cuda" "$emotune" "${train_args[@]}" --out "$work/cuda" --device cuda
  cli "train --device cuda --set dtype=bfloat16" "$emotune" "${train_args[@]}" \
    --out "$work/cuda-bf16" --device cuda --set dtype=bfloat16
  if [ "$nccl" = 1 ]; then
    cli "train --device cuda --nproc 1 --dist-backend nccl" "$emotune" "${train_args[@]}" \
      --out "$work/nccl" --device cuda --nproc 1 --dist-backend nccl
  fi
  cli "predict --device cuda (dev split)" "$emotune" predict "$work/cuda" --data "$EMOTUNE_DATA" \
    --split dev --out "$work/predict-cuda" --device cuda
  cli "predict --device cpu (dev split)" "$emotune" predict "$work/cuda" --data "$EMOTUNE_DATA" \
    --split dev --out "$work/predict-cpu" --device cpu
  if [ -f "$work/predict-cuda/predictions.tsv" ] && [ -f "$work/predict-cpu/predictions.tsv" ]; then
    diff_max=$(python3 - "$work/predict-cpu/predictions.tsv" "$work/predict-cuda/predictions.tsv" <<'EOF'
import csv, sys
a, b = ([r for r in csv.DictReader(open(p), delimiter="\t")] for p in sys.argv[1:])
worst = 0.0
for x, y in zip(a, b):
    for key in ("empathy", "distress"):
        if key in x and x[key]:
            worst = max(worst, abs(float(x[key]) - float(y[key])))
print(f"{worst:.3g}")
EOF
)
    say "- predict on cuda vs cpu, dev split: max |difference| of empathy/distress $diff_max"
    python3 -c "import sys; sys.exit(0 if float('$diff_max') <= 1e-3 else 1)" ||
      fail "predict cuda vs cpu differ by $diff_max"
  fi
  port=$((20000 + RANDOM % 20000))
  "$emotune" serve "$work/cuda" --device cuda --host 127.0.0.1 --port "$port" >"$work/serve.txt" 2>&1 &
  serve_pid=$!
  answer=$(python3 - "$port" <<'EOF'
import json, sys, time, urllib.request
body = json.dumps({"essays": [{"id": "a", "text": "I am so sorry for the families who lost their homes."}]}).encode()
for _ in range(90):  # the service loads the model first
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/predict", body,
                                         {"Content-Type": "application/json"})
        print(urllib.request.urlopen(request, timeout=30).read().decode())
        break
    except OSError:
        time.sleep(1)
EOF
)
  kill "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
  if echo "$answer" | grep -q '"empathy"'; then
    say "- serve --device cuda: /v1/predict answered: $(echo "$answer" | head -c 200)"
  else
    fail "serve --device cuda: no answer ($(tail -3 "$work/serve.txt" | tr '\n' ' '))"
  fi
fi

# --- a short benchmark ---------------------------------------------------------------------------
say ""
say "## Benchmark: a training step at ELECTRA-base shape, batch 8 of WASSA essays (train_bench)"
say ""
say "| device | pad512 | s per step (median of 3) | essays/s |"
say "|---|---|---|---|"
devices=()
[ "$gpu" = 1 ] && [ "$cuda_libtorch" = 1 ] && devices=(cuda cpu)
[ ${#devices[@]} = 0 ] && say "| - | - | skipped: no GPU (CPU figures: bench/torch_versions.sh) | - |"
for device in "${devices[@]+"${devices[@]}"}"; do
  filter='BM_TrainStep/pad512:0'
  [ "$device" = cuda ] && filter='BM_TrainStep'
  json=$build_dir/gpu_check_bench_$device.json
  # The CPU row is context only: capped so that the whole check stays inside 10 minutes.
  limit=240
  [ "$device" = cpu ] && limit=90
  if EMOTUNE_BENCH_DEVICE=$device timeout "$limit" "$build_dir/train_bench" --benchmark_filter="$filter" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json >>"$log" 2>&1; then
    python3 - "$json" "$device" <<'EOF' | tee -a "$report"
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        pad = "512" if "pad512:1" in b["name"] else "dynamic"
        print(f"| {sys.argv[2]} | {pad} | {b['real_time']:.3f} | {b.get('items_per_second', 0):.1f} |")
EOF
  else
    say "| $device | - | train_bench failed or ran past $limit s | - |"
    [ "$device" = cuda ] && fail "train_bench on cuda"
  fi
done

say ""
say "total $(elapsed) s; $([ ${#failures[@]} -eq 0 ] && echo 'no failures' || echo "${#failures[@]} failure(s): ${failures[*]}")"
[ "$gpu" = 0 ] && say "NO GPU was present: the CUDA checks above were skipped, not passed."
echo "report: $report"
[ ${#failures[@]} -eq 0 ]
