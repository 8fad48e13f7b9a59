#!/usr/bin/env bash
# Builds emotune (if needed) and runs the whole test suite with CTest.
# Data and fixtures default to ../shared; override with EMOTUNE_DATA / EMOTUNE_HF_FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."
export EMOTUNE_DATA="${EMOTUNE_DATA:-$PWD/../shared/data}"
export EMOTUNE_HF_FIXTURES="${EMOTUNE_HF_FIXTURES:-$PWD/../shared/fixtures/hf}"
scripts/build.sh
ctest --test-dir "${EMOTUNE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
