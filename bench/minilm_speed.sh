#!/usr/bin/env bash
# Training and inference essays/s of emotune and of HuggingFace transformers + PyTorch on the
# same config (configs/minilm/), interleaved so that both see the same machine load:
#   bench/minilm_speed.sh CONFIG ROUNDS STEPS [THREADS]
# Each round runs, in this order, emotune train (STEPS steps of the run's first batches, no
# periodic evaluation), emotune predict (the 270 dev essays, from that run; fp32, then int8), then
# bench/hf_finetune.py speed --int8 (the same STEPS batches, then the dev essays in fp32 and with
# PyTorch's dynamic int8). Where the CPU has native bfloat16 (AVX512_BF16 or AMX, as `emotune
# doctor` says), both sides also train with mixed_precision = "bf16" (autocast) and predict in
# bf16; elsewhere those runs are skipped, saying so (emulated bf16 takes minutes per batch). Both sides time
# only the work (emotune's log lines "essays/s"; the script's JSON), not start-up or loading.
# Prints one line per measurement and the load average before each round; the HF line also has
# ONNX Runtime's figures (onnxruntime_fp32/int8_essays_per_s) when onnxruntime is installed.
# EMOTUNE names the emotune binary; several, separated by spaces (e.g. a Debian-libtorch build and
# a libtorch 2.x one: EMOTUNE="build/emotune build-torch2/emotune"), each run in every round, the
# lines then naming the binary.
set -euo pipefail
config=${1:?config}; rounds=${2:-3}; steps=${3:-30}; threads=${4:-2}
read -r -a emotunes <<<"${EMOTUNE:-build/emotune}"
data=${EMOTUNE_DATA:-../shared/data}
python=${PYTHON:-python3}
# ONNX Runtime joins when its wheel is installed (pip install onnxruntime onnx): the same model
# exported, fp32 and dynamic int8, in its best CPU configuration (bench/hf_finetune.py --onnx).
onnx=()
"$python" -c "import onnxruntime, onnx" 2>/dev/null && onnx=(--onnx)
# bf16 (mixed-precision training and bf16 prediction) and HF's --bf16 where the CPU has it.
bf16=()
hf_bf16=()
if "${emotunes[0]}" doctor 2>/dev/null | grep -q '^mixed-precision training.*available'; then
  bf16=(bf16)
  hf_bf16=(--bf16)
else
  echo "no native bfloat16 on this CPU (emotune doctor): bf16 training and prediction skipped"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$rounds"); do
  echo "round $round load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for emotune in "${emotunes[@]}"; do
    label=emotune
    [ ${#emotunes[@]} -gt 1 ] && label="emotune[$emotune]"
    for precision in "${bf16[@]+"${bf16[@]}"}" none; do
      # The fp32 run last: predict reads its model.
      rm -rf "$work/run" "$work/pred"
      "$emotune" --threads "$threads" train "$config" --data "$data" --out "$work/run" --seeds 1 \
        --set max_steps="$steps" --set eval_every_steps=0 --set dev_limit=8 --no-progress \
        --set mixed_precision="\"$precision\"" \
        2>&1 | grep -o '[0-9]* rows in .* essays/s)' | sed "s|^|$label train ($precision): |"
    done
    for precision in fp32 int8 "${bf16[@]+"${bf16[@]}"}"; do
      rm -rf "$work/pred"
      "$emotune" --threads "$threads" predict "$work/run" --split dev --data "$data" \
        --precision "$precision" --out "$work/pred" 2>&1 |
        grep -o '[0-9]* essays predicted in .* essays/s)' | sed "s|^|$label predict $precision: |"
    done
  done
  for precision in "${bf16[@]+"${bf16[@]}"}"; do
    "$python" bench/hf_finetune.py --threads "$threads" speed "$config" --data "$data" \
      --steps "$steps" --train-only --set mixed_precision="\"$precision\"" 2>/dev/null |
      sed "s/^/huggingface train ($precision): /"
  done
  "$python" bench/hf_finetune.py --threads "$threads" speed "$config" --data "$data" \
    --steps "$steps" --set mixed_precision='"none"' --int8 "${hf_bf16[@]+"${hf_bf16[@]}"}" "${onnx[@]+"${onnx[@]}"}" 2>/dev/null |
    sed 's/^/huggingface: /'
done
