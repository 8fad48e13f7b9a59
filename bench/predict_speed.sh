#!/usr/bin/env bash
# The issue-7 measurement: `emotune predict` essays/s at ELECTRA-base shape on N WASSA train
# essays truncated to the model's max_length (128), for each kernel/precision, interleaved in
# rounds so that machine noise hits every variant alike. Prints each variant's median essays/s
# (wall time of the whole command, model loading included) and its ratio to reference fp32.
#
#   bench/predict_speed.sh MODEL_DIR ESSAYS.jsonl [ROUNDS] [THREADS]
#
# MODEL_DIR: a best/-style folder, e.g. the random ELECTRA-base one that
# `build/fast_inference_bench --model-dir DIR --essays 1 --rounds 1` leaves behind.
# ESSAYS.jsonl: {"id": ..., "essay": ...} lines (e.g. the first 200 train essays).
set -euo pipefail
model=${1:?MODEL_DIR}
input=${2:?ESSAYS.jsonl}
rounds=${3:-3}
threads=${4:-2}
emotune=${EMOTUNE:-build/emotune}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
essays=$(grep -c . "$input")
variants=("reference fp32" "fast fp32" "fast int8")
# bf16 is refused on CPUs without native bf16 (`emotune doctor` says so): left out there.
doctor=$("$emotune" doctor --seconds 0.01 --size 16 2>/dev/null || true)
if grep -q '^bf16 (--precision bf16): native' <<<"$doctor"; then
  variants+=("fast bf16")
else
  echo "fast bf16 left out: refused on this CPU (see emotune doctor)"
fi
declare -A rates
echo "load: $(uptime)"
for ((r = 1; r <= rounds; ++r)); do
  for v in "${variants[@]}"; do
    read -r kernels precision <<<"$v"
    start=$(date +%s.%N)
    "$emotune" --threads "$threads" --log-level warn predict "$model" --input "$input" \
      --out "$out/$kernels-$precision" --kernels "$kernels" --precision "$precision" >/dev/null
    end=$(date +%s.%N)
    rate=$(awk -v n="$essays" -v a="$start" -v b="$end" 'BEGIN {print n / (b - a)}')
    rates[$v]+="$rate "
    printf 'round %d  %-16s %6.2f essays/s\n' "$r" "$v" "$rate"
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(echo "${rates[reference fp32]}" | median)
echo "load: $(uptime)"
printf '%-16s %14s %18s\n' variant "median essays/s" "x reference fp32"
for v in "${variants[@]}"; do
  m=$(echo "${rates[$v]}" | median)
  printf '%-16s %14.2f %18.2f\n' "$v" "$m" "$(awk -v m="$m" -v b="$base" 'BEGIN {print m / b}')"
done
