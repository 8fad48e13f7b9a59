#!/usr/bin/env bash
# The main job on a machine without pretrained checkpoints: check the runtime, describe the
# data, train a WordPiece vocabulary on the training texts, fine-tune the paper's multi-task
# (empathy + distress) and emotion (BA augmentation) systems on a small encoder trained from
# scratch, and score both against the TF-IDF baseline on dev.
# Usage: scripts/quickstart.sh [DATA_DIR] [OUT_DIR]     (defaults: ../shared/data, runs/quick)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${EMOTUNE_DATA:-../shared/data}}"
out="${2:-runs/quick}"
emotune=build/emotune
[ -x "$emotune" ] || scripts/build.sh

"$emotune" doctor || true
"$emotune" data stats --data "$data" --augment ba

backbone="$out/backbone"
if [ ! -f "$backbone/config.json" ]; then
  "$emotune" vocab --data "$data" --kind wordpiece --size 16000 --out "$backbone"
  vocab_size=$(wc -l < "$backbone/vocab.txt")
  # A small ELECTRA discriminator shape (4 layers, 256 hidden), trained from scratch.
  cat > "$backbone/config.json" <<JSON
{
  "architectures": ["ElectraModel"],
  "model_type": "electra",
  "vocab_size": $vocab_size,
  "embedding_size": 128,
  "hidden_size": 256,
  "num_hidden_layers": 4,
  "num_attention_heads": 4,
  "intermediate_size": 1024,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "attention_probs_dropout_prob": 0.1,
  "max_position_embeddings": 512,
  "type_vocab_size": 2,
  "layer_norm_eps": 1e-12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute"
}
JSON
fi

for system in multitask emotion; do
  run="$out/$system"
  if [ -f "$run/summary.json" ]; then
    echo "quickstart: $run is complete"
  elif [ -d "$run" ]; then
    "$emotune" train --resume "$run"
  else
    "$emotune" train "configs/quick/$system.toml" --backbone "$backbone" --data "$data" --out "$run"
  fi
done

echo "== TF-IDF baseline on dev (ridge for empathy/distress, logistic regression for emotion)"
"$emotune" baseline --data "$data"
echo "quickstart: runs in $out (best snapshots under */seed-1/best, dev metrics in */summary.json)"
