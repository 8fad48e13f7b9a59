#!/usr/bin/env python3
"""emotune against HuggingFace on a real pretrained checkpoint (all-MiniLM-L6-v2 by default).

Outside the build: needs transformers + torch (CPU) + safetensors from PyPI, never the product.

  1. token ids: `emotune tokenize` vs transformers' tokenizers on every WASSA 2021 essay
     (train 1860 + dev 270 + test 525 = 2,655) at max_length 512: input_ids, attention_mask
     and token_type_ids must be identical, against both HF tokenizers (the Rust-backed
     BertTokenizer built from tokenizer.json and the Python BertTokenizerLegacy from vocab.txt).
  2. hidden states: `emotune encode` vs BertModel (fp32, eval) on 200 essays spread evenly over
     the three splits: max |diff| of last_hidden_state over real tokens must be <= 1e-4.
  3. the same checkpoint re-saved as pytorch_model.bin (torch.save(state_dict)) must give
     emotune bit-identical hidden states (the .bin reader on a real checkpoint).
  4. with --write-golden: tests/fixtures/minilm_golden.json, the golden of the C++ test
     tests/model/minilm_golden_test.cc (ids and hidden-state slices of 20 essays, found in the
     data by split and message_id, never copied).

  python3 scripts/check_parity_real.py [--model DIR] [--data DIR] [--emotune build/emotune]
                                       [--write-golden] [--json OUT]
Exit 0 when every check passes.
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLITS = [  # split, file, rows
    ("train", "wassa2021/messages_train_ready_for_WS.tsv", 1860),
    ("dev", "wassa2021/messages_dev_features_ready_for_WS_2022.tsv", 270),
    ("test", "wassa2021/messages_test_features_ready_for_WS_2022.tsv", 525),
]
GOLDEN_ESSAYS = 20
GOLDEN_DIMS = 16


def default_model():
    root = os.environ.get("EMOTUNE_MODELS") or os.path.expanduser("~/.cache/emotune/models")
    return os.path.join(root, "all-MiniLM-L6-v2")


def read_essays(data_dir):
    essays = []  # (split, message_id, text)
    for split, rel, rows in SPLITS:
        with open(os.path.join(data_dir, rel), newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter="\t")
            got = [(split, r["message_id"], r["essay"]) for r in reader]
        if len(got) != rows:
            sys.exit(f"{rel}: {len(got)} essays, expected {rows}")
        essays += got
    return essays


def write_jsonl(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")


def run(cmd):
    started = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout, time.time() - started


def emotune_tokenize(emotune, model, texts, tmp):
    path = os.path.join(tmp, "all.jsonl")
    write_jsonl(path, texts)
    out, seconds = run([emotune, "tokenize", "--model", model, "--max-length", "512",
                        "--input", path])
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(texts)
    return rows, seconds


def compare_ids(name, hf_tok, rows, texts, essays):
    mismatches = []
    for i, (text, row) in enumerate(zip(texts, rows)):
        enc = hf_tok(text, truncation=True, max_length=512, return_token_type_ids=True,
                     return_attention_mask=True)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if list(enc[key]) != row[key]:
                mismatches.append((essays[i][0], essays[i][1], key))
                break
    print(f"ids vs {name}: {len(texts) - len(mismatches)} / {len(texts)} essays identical")
    for split, mid, key in mismatches[:10]:
        print(f"  differs: {split} {mid} ({key})")
    return len(mismatches)


def hf_hidden(model, tok, texts, torch, batch=8):
    outs = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            enc = tok(texts[start:start + batch], truncation=True, max_length=512,
                      padding=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            for j in range(hidden.shape[0]):
                n = int(enc["attention_mask"][j].sum())
                outs.append(hidden[j, :n].clone())
    return outs


def emotune_hidden(emotune, model, texts, tmp, name, torch, load_file):
    path = os.path.join(tmp, f"{name}.jsonl")
    out_path = os.path.join(tmp, f"{name}.safetensors")
    write_jsonl(path, texts)
    _, seconds = run([emotune, "encode", "--model", model, "--input", path, "--output", out_path,
                      "--max-length", "512", "--batch-size", "8"])
    tensors = load_file(out_path)
    hidden, mask = tensors["last_hidden_state"], tensors["attention_mask"]
    return [hidden[i, : int(mask[i].sum())] for i in range(hidden.shape[0])], seconds


def write_golden(path, model_dir, essays, picked, tok, model, torch, transformers):
    golden_picks = picked[:: max(1, len(picked) // GOLDEN_ESSAYS)][:GOLDEN_ESSAYS]
    texts = [essays[i][2] for i in golden_picks]
    hidden_states = hf_hidden(model, tok, texts, torch)
    entries = []
    for i, text, hidden in zip(golden_picks, texts, hidden_states):
        split, message_id, _ = essays[i]
        entries.append({
            "split": split, "message_id": message_id,
            "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "input_ids": list(tok(text, truncation=True, max_length=512)["input_ids"]),
            "first_token": [round(float(v), 6) for v in hidden[0, :GOLDEN_DIMS]],
            "mean_token": [round(float(v), 6) for v in hidden.mean(0)[:GOLDEN_DIMS]],
            "abs_sum": round(float(hidden.abs().sum()), 3),
        })
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        weights_sha256 = hashlib.sha256(f.read()).hexdigest()
    golden = {
        "about": "HuggingFace BertModel (fp32, eval) and tokenizer on all-MiniLM-L6-v2 for WASSA "
                 "essays (found by split and message_id), written by "
                 "scripts/check_parity_real.py --write-golden. first_token / mean_token: the first "
                 "dims of the [CLS] vector and of the mean over real tokens of last_hidden_state; "
                 "abs_sum: the sum of |last_hidden_state| over real tokens",
        "model_weights_sha256": weights_sha256,
        "transformers": transformers.__version__, "torch": torch.__version__,
        "max_length": 512, "dims": GOLDEN_DIMS, "essays": entries,
    }
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"golden of {len(entries)} essays -> {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=default_model())
    parser.add_argument("--data", default=os.environ.get("EMOTUNE_DATA")
                        or os.path.join(REPO, "..", "shared", "data"))
    parser.add_argument("--emotune", default=os.path.join(REPO, "build", "emotune"))
    parser.add_argument("--encode-count", type=int, default=200)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--write-golden", action="store_true")
    parser.add_argument("--golden", default=os.path.join(REPO, "tests", "fixtures",
                                                         "minilm_golden.json"))
    parser.add_argument("--json", help="write the measured figures here")
    parser.add_argument("--skip-bin", action="store_true",
                        help="skip check 3 (the weights re-saved as pytorch_model.bin)")
    parser.add_argument("--golden-only", action="store_true",
                        help="only write the golden (HuggingFace alone; no emotune needed)")
    args = parser.parse_args()

    import torch
    import transformers
    from safetensors.torch import load_file
    from transformers import BertModel, BertTokenizer
    legacy_class = getattr(transformers, "BertTokenizerLegacy", None)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))

    if not os.path.isfile(os.path.join(args.model, "config.json")):
        sys.exit(f"{args.model}: no checkpoint folder (run scripts/fetch_models.sh)")
    essays = read_essays(args.data)
    texts = [t for _, _, t in essays]
    report = {"model": os.path.abspath(args.model), "essays": len(texts),
              "transformers": transformers.__version__, "torch": torch.__version__}

    step = len(texts) / args.encode_count
    picked = [int(i * step) for i in range(args.encode_count)]
    fast = BertTokenizer.from_pretrained(args.model)
    model = BertModel.from_pretrained(args.model, attn_implementation="eager").eval()
    if args.write_golden or args.golden_only:
        write_golden(args.golden, args.model, essays, picked, fast, model, torch, transformers)
        if args.golden_only:
            return 0

    with tempfile.TemporaryDirectory() as tmp:
        rows, seconds = emotune_tokenize(args.emotune, args.model, texts, tmp)
        report["emotune_tokenize_seconds"] = round(seconds, 2)
        failures = 0
        report["ids_mismatches_tokenizers_backend"] = compare_ids(
            f"transformers {type(fast).__name__} (tokenizer.json)", fast, rows, texts, essays)
        failures += report["ids_mismatches_tokenizers_backend"]
        if legacy_class is not None:
            slow = legacy_class.from_pretrained(args.model)
            report["ids_mismatches_python_legacy"] = compare_ids(
                f"transformers {legacy_class.__name__} (vocab.txt)", slow, rows, texts, essays)
            failures += report["ids_mismatches_python_legacy"]
        lengths = [len(r["input_ids"]) for r in rows]
        report["ids_max_length"] = max(lengths)
        report["essays_truncated_at_512"] = sum(1 for n in lengths if n == 512)

        sub = [texts[i] for i in picked]
        started = time.time()
        reference = hf_hidden(model, fast, sub, torch)
        report["hf_encode_seconds"] = round(time.time() - started, 2)
        ours, seconds = emotune_hidden(args.emotune, args.model, sub, tmp, "st", torch, load_file)
        report["emotune_encode_seconds"] = round(seconds, 2)
        diffs = [float((a - b).abs().max()) for a, b in zip(ours, reference)]
        shapes_ok = all(a.shape == b.shape for a, b in zip(ours, reference))
        report["hidden_max_abs_diff"] = max(diffs)
        report["hidden_mean_of_max_abs_diff"] = sum(diffs) / len(diffs)
        report["hidden_tokens_compared"] = sum(int(a.shape[0]) for a in ours)
        print(f"last_hidden_state on {len(sub)} essays ({report['hidden_tokens_compared']} "
              f"tokens): max |emotune - HF| = {report['hidden_max_abs_diff']:.3g} "
              f"(tolerance {args.tolerance:g}); shapes equal: {shapes_ok}")
        if not shapes_ok or report["hidden_max_abs_diff"] > args.tolerance:
            failures += 1

        # The same weights as a PyTorch .bin: emotune must read them to the same outputs.
        if args.skip_bin:
            return finish(args, report, failures)
        bin_dir = os.path.join(tmp, "as_bin")
        os.makedirs(bin_dir)
        for name in os.listdir(args.model):
            if name != "model.safetensors" and os.path.isfile(os.path.join(args.model, name)):
                os.symlink(os.path.join(os.path.abspath(args.model), name),
                           os.path.join(bin_dir, name))
        torch.save(model.state_dict(), os.path.join(bin_dir, "pytorch_model.bin"))
        from_bin, _ = emotune_hidden(args.emotune, bin_dir, sub, tmp, "bin", torch, load_file)
        report["bin_vs_safetensors_max_abs_diff"] = max(
            float((a - b).abs().max()) for a, b in zip(from_bin, ours))
        print(f"emotune from pytorch_model.bin vs from model.safetensors: max |diff| = "
              f"{report['bin_vs_safetensors_max_abs_diff']:.3g}")
        if report["bin_vs_safetensors_max_abs_diff"] != 0.0:
            failures += 1

    return finish(args, report, failures)


def finish(args, report, failures):
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    print("PASS" if failures == 0 else f"FAIL ({failures})")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
