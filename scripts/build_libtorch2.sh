#!/usr/bin/env bash
# Builds emotune against PyTorch's own libtorch 2.x with CUDA and runs the whole test suite on
# the CPU with it (docs/libtorch2.md).
#
#   scripts/build_libtorch2.sh [--build-dir DIR] [--cache DIR] [--jobs N] [--no-test]
#                              [--fetch-only] [-- CTEST ARGS...]
#
# 1. Fetches the pinned torch wheel and the nvidia-* wheels its CUDA libraries need (cuDNN,
#    cuBLAS, NCCL, ...) from PyPI with `pip download --no-deps --require-hashes`, into
#    --cache (default ${EMOTUNE_TORCH2_CACHE:-~/.cache/emotune}/torch-2.15.0; never the
#    repository), and unpacks them side by side as pip would install them: site/torch/ (the
#    libtorch: lib/, include/, share/cmake/Torch) and site/nvidia/*/lib, which torch's
#    libraries find through their RPATH ($ORIGIN/../../nvidia/...). The wheels are needed at
#    run time too: even libtorch_cpu.so of a CUDA wheel links libcudart and libcupti.
# 2. Configures --build-dir (default build-torch2) with CMAKE_PREFIX_PATH=site/torch and builds
#    everything. The CUDA toolkit's nvcc must be installed: the wheel's CMake config needs it,
#    although emotune compiles no CUDA code.
# 3. Checks that the CUDA paths are really linked (libtorch_cuda, ProcessGroupNCCL) and runs
#    CTest in that build folder: the whole suite on the CPU (the tests' cuda instances skip
#    without a GPU).
# Prints the time of each phase. Rerun: the downloads and the build are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_version=2.15.0
# name==version, sha256 of the file pip picks for Linux x86-64 (the torch wheel for CPython
# 3.11; the libtorch inside is the same for every Python, so it is fetched for 3.11 always).
pins=(
  "torch==2.15.0 48c2d861134c0b5697c7602cb5ffa68f62a2989fdcd1717e593356f67996ca1e"
  "nvidia-cublas==13.4.1.3 a5917cb642cfb07f4a0231ee16aec7e2e0357d8cb8b1b78a0c9c68dba3e6afc7"
  "nvidia-cuda-cupti==13.2.86 8fa29f15dd8336181f961764d9d95236fc6b931dd0c8fcf8cd70aab0c310b586"
  "nvidia-cuda-nvrtc==13.2.86 8111c5130e967b78222ea2124145f8efe9ce201b752b2579a2513100a53be1c5"
  "nvidia-cuda-runtime==13.2.86 3498247680dfddce31bad102af7e3e26fc795342a3cac64722bb0fa95e7f60f0"
  "nvidia-cudnn-cu13==9.26.0.51 9c976d539786698c71d6bcdbe2053b7485fae062ff7e1215d2f2ff67b1a2149a"
  "nvidia-cufft==12.2.0.57 34da27fadf3979b0b042c43823f0530be8408b86df31ee0108e1ca0b621d4ef6"
  "nvidia-cufile==1.17.1.22 87feaf8c3ad20d3d03a01933181801ff6892bace5c8f0b1e4b48f319d3e62d36"
  "nvidia-cusolver==12.2.0.11 fab5778f6769947389a1a6abc07e635576825a08c0ffc68c3ae7f1392c794b42"
  "nvidia-cusparse==12.7.10.12 25907c75e4db1581685f06f61cc6cdecc04611765516a52373e0a18ebd69fa00"
  "nvidia-cusparselt-cu13==0.8.1 786ce87568c303fadb5afcc7102d454cd3040d75f6f8626f5db460d1871f4dd0"
  "nvidia-nccl-cu13==2.30.7 cefa7fdb9710efd0f39c5f1be1d61ff6fc9a996c451265bd7fbdcf9455ed4b50"
  "nvidia-nvjitlink==13.2.86 285a9cead9924391588d794400bdd7e8f9d1a277a7d78ed79acfa0ea702a14dd"
  "nvidia-nvshmem-cu13==3.7.2 b9a4f843c62b5dded8ad33fd6d220e007dcd39f06cee549292f5ba14ce4c235c"
)

build_dir=build-torch2
cache="${EMOTUNE_TORCH2_CACHE:-$HOME/.cache/emotune}/torch-$torch_version"
jobs=$(nproc)
run_tests=1
fetch_only=0
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --no-test) run_tests=0; shift ;;
    --fetch-only) fetch_only=1; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_libtorch2.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

phase_start=$(date +%s)
phase() {  # prints how long the previous phase took, then names the next
  local now
  now=$(date +%s)
  [ -n "${phase_name:-}" ] && printf '== %s: %d s\n' "$phase_name" $((now - phase_start))
  phase_name=$1
  phase_start=$now
  [ -n "$1" ] && echo "== $1"
  return 0
}

# --- 1. fetch and unpack ------------------------------------------------------------------
phase "fetch the pinned wheels into $cache"
mkdir -p "$cache/wheels" "$cache/site"
requirements="$cache/requirements.txt"
: >"$requirements"
for pin in "${pins[@]}"; do
  read -r requirement sha <<<"$pin"
  echo "$requirement --hash=sha256:$sha" >>"$requirements"
done
have_all=1
for pin in "${pins[@]}"; do
  read -r requirement sha <<<"$pin"
  [ -f "$cache/wheels/.$sha" ] || have_all=0
done
if [ "$have_all" = 0 ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_25_x86_64 --platform manylinux_2_18_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 \
    -d "$cache/wheels" -r "$requirements"
fi
for pin in "${pins[@]}"; do
  read -r requirement sha <<<"$pin"
  [ -f "$cache/wheels/.$sha" ] && continue
  name=${requirement%%==*}
  version=${requirement##*==}
  file=$(ls "$cache/wheels/${name//-/_}-${version}-"*.whl 2>/dev/null | head -1)
  if [ -z "$file" ] || [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$sha" ]; then
    echo "build_libtorch2.sh: $requirement: no wheel with sha256 $sha in $cache/wheels" >&2
    exit 1
  fi
  echo "unpacking $(basename "$file")"
  python3 -m zipfile -e "$file" "$cache/site"
  touch "$cache/wheels/.$sha"
done
libtorch="$cache/site/torch"
# Debian's fmt, spdlog, sentencepiece, GoogleTest... use the C++11 std::string ABI; a libtorch
# built with the old one (_GLIBCXX_USE_CXX11_ABI=0, PyPI wheels before 2.7) cannot link them.
# (grep -c, not grep -q: with pipefail an early grep exit fails the pipeline with SIGPIPE.)
if [ "$(nm -D --defined-only "$libtorch/lib/libc10.so" | grep -c __cxx11)" = 0 ]; then
  echo "build_libtorch2.sh: $libtorch uses the pre-C++11 std::string ABI; pin a newer wheel" >&2
  exit 1
fi
echo "libtorch: $libtorch ($(python3 - "$libtorch" <<'EOF'
import re, sys
text = open(sys.argv[1] + "/version.py").read()
print(re.search(r"__version__ = '([^']+)'", text).group(1), "CUDA", re.search(r"cuda: .*= '?([^'\n]+)", text).group(1))
EOF
))"
[ "$fetch_only" = 1 ] && { phase ""; exit 0; }

# --- 2. configure and build ---------------------------------------------------------------
phase "configure $build_dir"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_PREFIX_PATH="$libtorch" "${launcher[@]}"
fi
grep -q "^CMAKE_PREFIX_PATH:.*=$libtorch\$" "$build_dir/CMakeCache.txt" || {
  echo "build_libtorch2.sh: $build_dir was configured with another libtorch; use another --build-dir" >&2
  exit 1
}
phase "build ($jobs jobs)"
cmake --build "$build_dir" -j "$jobs"

# --- 3. check the CUDA paths and run the suite --------------------------------------------
phase "check that the CUDA paths are linked"
grep -q '^EMOTUNE_WITH_NCCL:BOOL=ON' "$build_dir/CMakeCache.txt" ||
  { echo "build_libtorch2.sh: NCCL is not enabled in $build_dir" >&2; exit 1; }
[ "$(readelf -d "$build_dir/emotune-torch" | grep -c 'libtorch_cuda.so')" != 0 ] ||
  { echo "build_libtorch2.sh: $build_dir/emotune-torch does not link libtorch_cuda.so" >&2; exit 1; }
[ "$(nm -C "$build_dir/emotune-torch" | grep -c 'c10d::ProcessGroupNCCL::ProcessGroupNCCL')" != 0 ] ||
  { echo "build_libtorch2.sh: $build_dir/emotune-torch has no ProcessGroupNCCL" >&2; exit 1; }
echo "emotune links libtorch_cuda.so and constructs c10d::ProcessGroupNCCL"
"$build_dir/emotune" doctor | head -3 || true
if [ "$run_tests" = 1 ]; then
  phase "CTest in $build_dir (the whole suite, on the CPU)"
  export EMOTUNE_DATA="${EMOTUNE_DATA:-$PWD/../shared/data}"
  export EMOTUNE_HF_FIXTURES="${EMOTUNE_HF_FIXTURES:-$PWD/../shared/fixtures/hf}"
  ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "${ctest_args[@]}"
fi
phase ""
