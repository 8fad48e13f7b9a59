#!/usr/bin/env bash
# Data-parallel step time and scaling efficiency of `emotune train --nproc P` on this machine:
# an ELECTRA-small-shaped encoder (12 layers, hidden 256, 4 heads, FFN 1024, embeddings 128;
# random weights), real WASSA train essays, max_length 128, per-process batch 8 (weak scaling:
# P processes train 8·P essays per step), one thread per process, Gloo over 127.0.0.1.
#
# Per-step time = (wall(S2 steps) - wall(S1 steps)) / (S2 - S1), so start-up (libtorch,
# tokenization, rendezvous) and the final dev evaluation cancel; the median of REPS repetitions.
# Efficiency(P) = throughput(P) / (P · throughput(1)), both measured by this same command.
#
# Usage: bench/distributed_scaling.sh [PROCS="1 2"] [REPS=3] [S1=2] [S2=6]
# Env: EMOTUNE (default build/emotune), EMOTUNE_DATA, EMOTUNE_HF_FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."
procs="${1:-1 2}"
reps="${2:-3}"
s1="${3:-2}"
s2="${4:-6}"
emotune="${EMOTUNE:-build/emotune}"
data="${EMOTUNE_DATA:-../shared/data}"
fixtures="${EMOTUNE_HF_FIXTURES:-../shared/fixtures/hf}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/backbone"
for f in vocab.txt tokenizer_config.json special_tokens_map.json; do
  cp "$fixtures/electra/$f" "$work/backbone/"
done
cat > "$work/backbone/config.json" <<'EOF'
{"architectures": ["ElectraModel"], "model_type": "electra", "attention_probs_dropout_prob": 0.1,
 "embedding_size": 128, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 256,
 "initializer_range": 0.02, "intermediate_size": 1024, "layer_norm_eps": 1e-12,
 "max_position_embeddings": 512, "num_attention_heads": 4, "num_hidden_layers": 12,
 "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
 "vocab_size": 30522}
EOF
cat > "$work/config.toml" <<EOF
backbone = "$work/backbone"
tasks = ["empathy", "distress"]
random_init = true
batch_size = 8
max_length = 128
epochs = 1
learning_rate = 1e-4
train_limit = 512
dev_limit = 8
seeds = [1]
EOF

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
run_once() {  # procs steps -> wall seconds
  rm -rf "$work/run"
  local start end
  start=$(date +%s.%N)
  "$emotune" --threads 1 --log-level warn train "$work/config.toml" --data "$data" \
    --out "$work/run" --nproc "$1" --set "max_steps=$2" --no-progress > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# uptime before: $(uptime)"
echo "# steps $s1 and $s2, $reps repetitions, per-process batch 8, max_length 128, 1 thread/process"
printf "%-6s %-14s %-14s %-16s %-10s\n" procs "s/step" "essays/step" "essays/s" efficiency
base=""
for p in $procs; do
  per_step=()
  for _ in $(seq "$reps"); do
    a=$(run_once "$p" "$s1")
    b=$(run_once "$p" "$s2")
    per_step+=("$(echo "($b - $a) / ($s2 - $s1)" | bc -l)")
  done
  step=$(printf "%s\n" "${per_step[@]}" | median)
  essays=$((8 * p))
  throughput=$(echo "$essays / $step" | bc -l)
  [ -z "$base" ] && base="$throughput"
  efficiency=$(echo "$throughput / ($p * $base)" | bc -l)
  printf "%-6s %-14.3f %-14s %-16.2f %-10.2f  (per-rep s/step: %s)\n" "$p" "$step" "$essays" \
    "$throughput" "$efficiency" "$(printf '%.3f ' "${per_step[@]}")"
done
echo "# uptime after: $(uptime)"
