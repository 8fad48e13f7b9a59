#!/usr/bin/env bash
# The main job on a machine without pretrained checkpoints, in about 30 minutes on 2 cores:
# `emotune quickstart` learns a vocabulary, pre-trains a small ELECTRA on the training texts,
# fine-tunes the multi-task (empathy + distress) and emotion systems from it and, beside the
# pre-training, from random init; builds the seed ensembles, submits per track the better of
# the two on dev, writes dev/test predictions, the submission and the report, and prints dev
# scores beside the paper's and a TF-IDF baseline's.
# Run it again to resume. See docs/pretraining.md.
# Usage: scripts/quickstart.sh [DATA_DIR] [OUT_DIR] [more `emotune quickstart` options]
#        (defaults: $EMOTUNE_DATA or ../shared/data, runs/quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${EMOTUNE_DATA:-../shared/data}}"
out="${2:-runs/quickstart}"
shift $(( $# < 2 ? $# : 2 ))
emotune=build/emotune
[ -x "$emotune" ] || scripts/build.sh

"$emotune" doctor || true
exec "$emotune" quickstart --data "$data" --out "$out" "$@"
