#!/usr/bin/env bash
# libtorch versions side by side (docs/libtorch2.md): the libtorch-bound benchmarks of bench/
# from two build folders (e.g. Debian's libtorch 1.13 in build/, PyTorch's 2.x in
# build-torch2/), in the same sitting, interleaved: each round runs every benchmark with A
# then B, the next round B then A, so the machine's load drifts onto both alike. Prints, per
# figure, the median and the range over the rounds of each build and the ratio of medians.
#
#   bench/torch_versions.sh BUILD_A BUILD_B [ROUNDS=3] [THREADS=2]
#
# Figures (ELECTRA-base shape, random weights, real WASSA essays; 2 threads):
#   train step      train_bench, pad512:0: forward + backward + AdamW, batch 8, dynamic padding
#                   (3 steps a run; seconds per step)
#   encoder fwd     encoder_bench len:128: batch of 8 × 128 tokens, fp32 and bf16 (essays/s)
#   predict         fast_inference_bench --essays 24 --rounds 1: RunPredictor essays/s of the
#                   reference fp32 path and of the fast fp32, bf16 and int8 paths, padded
#                   (fused layers on nested tensors) and packed (the default; 128 tokens)
#   all-reduce      allreduce_bench: the Gloo gradient exchange of ELECTRA-small / -base
# Not here: the tokenizer benchmarks (no libtorch), data_load_bench (no libtorch) and
# serve_load_bench (HTTP on top of the predict figures; minutes per run).
# Raw figures go to a TSV (the last line of output says where).
set -euo pipefail
build_a=${1:?BUILD_A}
build_b=${2:?BUILD_B}
rounds=${3:-3}
threads=${4:-2}
export EMOTUNE_DATA=${EMOTUNE_DATA:-$(dirname "$0")/../../shared/data}
export EMOTUNE_HF_FIXTURES=${EMOTUNE_HF_FIXTURES:-$(dirname "$0")/../../shared/fixtures/hf}
work=$(mktemp -d /tmp/torch_versions.XXXXXX)
tsv=$work/figures.tsv
printf 'round\tbuild\tfigure\tvalue\n' >"$tsv"

label() { "$1/emotune" --version 2>/dev/null | head -1 || echo "$1"; }
torch_version() {
  grep -m1 -o 'libtorch [0-9.a-z+]*' "$work/$(basename "$1")-version.txt" 2>/dev/null || echo "?"
}

run_build() {  # round, build
  local round=$1 build=$2 name
  name=$(basename "$build")
  # Each benchmark program re-executes itself with the OpenBLAS core type `emotune` would use
  # (runtime::reexec_with_better_blas_kernels), so both builds run their best kernels.
  # train step: seconds per step (real time), median of the run's 3 iterations
  "$build/train_bench" --benchmark_filter='pad512:0' \
    --benchmark_out="$work/train-$name-$round.json" --benchmark_out_format=json >/dev/null 2>&1
  python3 - "$work/train-$name-$round.json" "$round" "$name" >>"$tsv" <<'EOF'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    print(f"{sys.argv[2]}\t{sys.argv[3]}\ttrain step, s (lower is better)\t{b['real_time']:.3f}")
EOF
  "$build/encoder_bench" --benchmark_filter='len:128' \
    --benchmark_out="$work/encoder-$name-$round.json" --benchmark_out_format=json >/dev/null 2>&1
  python3 - "$work/encoder-$name-$round.json" "$round" "$name" >>"$tsv" <<'EOF'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    kind = "bf16" if "bf16:1" in b["name"] else "fp32"
    print(f"{sys.argv[2]}\t{sys.argv[3]}\tencoder forward 8x128 {kind}, essays/s\t{b['items_per_second']:.3f}")
EOF
  "$build/fast_inference_bench" --essays 24 --rounds 1 --threads "$threads" \
    >"$work/predict-$name-$round.txt" 2>/dev/null
  grep -m1 '^libtorch' "$work/predict-$name-$round.txt" >"$work/$name-version.txt" || true
  python3 - "$work/predict-$name-$round.txt" "$round" "$name" >>"$tsv" <<'EOF'
import re, sys
wanted = {"reference fp32 (main's path)": "predict reference fp32",
          "fast fp32: + fused layers, nested": "predict padded fp32 (fused, nested)",
          "packed fp32 (default)": "predict packed fp32 (default)",
          "fast bf16: fused layers, nested": "predict padded bf16 (fused, nested)",
          "packed bf16": "predict packed bf16",
          "fast int8 (dynamic), padded": "predict padded int8",
          "packed int8": "predict packed int8"}
for line in open(sys.argv[1]):
    name = line[:40].strip()
    fields = line[40:].split()
    if len(fields) != 2:
        continue
    label = wanted.get(name)
    if label:
        print(f"{sys.argv[2]}\t{sys.argv[3]}\t{label}, essays/s\t{fields[0]}")
EOF
  # --benchmark_out, not stdout: the ranks log to stdout.
  "$build/allreduce_bench" --benchmark_out="$work/allreduce-$name-$round.json" \
    --benchmark_out_format=json >/dev/null 2>&1
  python3 - "$work/allreduce-$name-$round.json" "$round" "$name" >>"$tsv" <<'EOF'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    kind = "base" if "Base" in b["name"] else "small"
    print(f"{sys.argv[2]}\t{sys.argv[3]}\tGloo all-reduce ELECTRA-{kind}, ms (lower is better)\t{b['real_time']:.2f}")
EOF
}

echo "load before: $(uptime)"
for ((round = 1; round <= rounds; ++round)); do
  if ((round % 2)); then order=("$build_a" "$build_b"); else order=("$build_b" "$build_a"); fi
  for build in "${order[@]}"; do
    echo "round $round: $build ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
    run_build "$round" "$build"
  done
done
echo "load after: $(uptime)"
for build in "$build_a" "$build_b"; do
  echo "$(basename "$build"): $(cat "$work/$(basename "$build")-version.txt" 2>/dev/null)"
done
python3 - "$tsv" "$(basename "$build_a")" "$(basename "$build_b")" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
a, b = sys.argv[2], sys.argv[3]
figures = list(dict.fromkeys(r["figure"] for r in rows))
print(f"| figure | {a}: median (range) | {b}: median (range) | {b} / {a} |")
print("|---|---|---|---|")
for f in figures:
    cells, medians = [], []
    for build in (a, b):
        values = [float(r["value"]) for r in rows if r["figure"] == f and r["build"] == build]
        if not values:
            cells.append("–"); medians.append(None); continue
        m = statistics.median(values)
        medians.append(m)
        cells.append(f"{m:.3g} ({min(values):.3g}–{max(values):.3g})")
    ratio = f"{medians[1] / medians[0]:.2f}" if None not in medians and medians[0] else "–"
    print(f"| {f} | {cells[0]} | {cells[1]} | {ratio} |")
EOF
echo "raw figures: $tsv"
