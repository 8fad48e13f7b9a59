#!/usr/bin/env bash
# Dev accuracy and speed of each --precision against fp32 on trained runs, on this CPU natively
# and with the kernels capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, OPENBLAS_CORETYPE=Haswell: what
# an AVX2-only CPU such as AMD Zen 1-3 runs), rounds interleaved so both see the same load:
#   bench/precision_dev.sh ROUNDS RUN [RUN ...]
# Prints, per run / ISA / precision / round, the official dev scores and `emotune predict`'s
# essays/s over the 270 dev essays (prediction only: loading and start-up are not timed).
# PRECISIONS (default "fp32 int8") chooses the precisions; bf16 is skipped where refused.
set -euo pipefail
rounds=${1:?rounds}; shift
emotune=${EMOTUNE:-build/emotune}
data=${EMOTUNE_DATA:-../shared/data}
threads=${THREADS:-2}
precisions=${PRECISIONS:-fp32 int8}
gold="$data/wassa2021/goldstandard_dev_2022.tsv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scores() {  # the official scores of whatever predictions a folder holds, on one line
  local args=()
  [ -s "$1/predictions_EMP.tsv" ] && args+=(--emp "$1/predictions_EMP.tsv")
  [ -s "$1/predictions_EMO.tsv" ] && args+=(--emo "$1/predictions_EMO.tsv")
  "$emotune" score --gold "$gold" "${args[@]}" --json |
    python3 -c 'import json,sys; s=json.load(sys.stdin)
print(" ".join(f"{k}={v:.4f}" for k,v in s.items() if isinstance(v,(int,float))))'
}

echo "doctor (native): $("$emotune" doctor 2>&1 | grep -E '^(CPU|oneDNN ISA|int8)' | tr '\n' ' ')"
echo "doctor (capped): $(ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell EMOTUNE_KEEP_BLAS_CORE=1 \
  "$emotune" doctor 2>&1 | grep -E '^(oneDNN ISA|int8)' | tr '\n' ' ')"
for round in $(seq 1 "$rounds"); do
  echo "round $round load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for run in "$@"; do
    for isa in native avx2; do
      for precision in $precisions; do
        env=()
        [ "$isa" = avx2 ] && env=(ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell EMOTUNE_KEEP_BLAS_CORE=1)
        out="$work/$(basename "$run")-$isa-$precision"
        rm -rf "$out"
        if ! log=$(env "${env[@]}" "$emotune" --threads "$threads" predict "$run" --split dev \
            --data "$data" --out "$out" --precision "$precision" 2>&1); then
          echo "$(basename "$run") $isa $precision: refused: $(echo "$log" | tail -n 1)"
          continue
        fi
        speed=$(echo "$log" | grep -o '([0-9.]* essays/s)' | tr -d '()' | tail -n 1)
        echo "$(basename "$run") $isa $precision round $round: $speed $(scores "$out")"
      done
    done
  done
done
