#!/usr/bin/env python3
"""How fast can float32 prediction of the dev essays be on this machine, at best? (issue #17)

    python3 bench/fp32_roofline.py [--model DIR] [--data DIR] [--threads 2] [--max-length 256]
        [--batch 16] [--rounds 5]

Counts the multiply-adds of the MiniLM encoder over the 270 WASSA dev essays (tokenized as
`emotune predict` and bench/hf_finetune.py do: truncated at --max-length, sorted by length,
batches of --batch) in two ways:
  - padded, full model: what HuggingFace computes (every Linear on every padded position, the
    attention products on the padded square, all layers on every token);
  - packed, first token out: what emotune's fast path computes (Linear layers on real tokens
    only, attention per essay at its own length, and in the last layer only the keys and
    values of every token plus the first token's query, attention, output and FFN).
Then measures, with PyTorch's own float32 matrix product (MKL / oneDNN, the library both sides
call), the best GFLOP/s this machine reaches on the encoder's GEMM shapes, and HuggingFace's
float32 essays/s on the same essays (best of --rounds, after a warm-up pass).

It prints the time the packed work would take if every multiply-add ran at that best GEMM rate:
an upper bound on the essays/s of any float32 implementation that computes the same function
with the same GEMM library, and its ratio to HuggingFace. If that bound is below 2× HuggingFace,
a 2× float32 speed-up is out of reach on this machine, whatever the code around the GEMMs does.

Needs torch and transformers (PyPI); not part of the build.
"""
import argparse
import csv
import json
import os
import time

import torch
from transformers import AutoModel, AutoTokenizer

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--model", default=os.path.join(os.environ.get("EMOTUNE_MODELS", os.path.expanduser("~/.cache/emotune/models")), "all-MiniLM-L6-v2"))
p.add_argument("--data", default=os.environ.get("EMOTUNE_DATA", "../shared/data"))
p.add_argument("--threads", type=int, default=2)
p.add_argument("--max-length", type=int, default=256)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--rounds", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)

tokenizer = AutoTokenizer.from_pretrained(a.model)
with open(f"{a.data}/wassa2021/messages_dev_features_ready_for_WS_2022.tsv", newline="") as f:
    essays = [row["essay"] for row in csv.DictReader(f, delimiter="\t")]
ids = tokenizer(essays, truncation=True, max_length=a.max_length)["input_ids"]
ids.sort(key=len)
batches = [ids[i : i + a.batch] for i in range(0, len(ids), a.batch)]

model = AutoModel.from_pretrained(a.model).eval()
c = model.config
H, F, layers = c.hidden_size, c.intermediate_size, c.num_hidden_layers
linear_per_token = 4 * H * H + 2 * H * F  # Q, K, V, output; FFN in and out (multiply-adds)

padded = packed = 0
for batch in batches:
    width = max(map(len, batch))
    padded += layers * (len(batch) * width * linear_per_token + 2 * len(batch) * width * width * H)
    for essay in batch:
        n = len(essay)
        packed += (layers - 1) * (n * linear_per_token + 2 * n * n * H)
        packed += 2 * n * H * H + (2 * H * H + 2 * H * F) + 2 * n * H  # last layer, first token out

# The best float32 GEMM rate on the encoder's shapes (tokens of a typical batch × H or F).
tokens = sum(len(e) for e in batches[len(batches) // 2])
rates = []
for m, k, n in [(tokens, H, 3 * H), (tokens, H, H), (tokens, H, F), (tokens, F, H)]:
    x, w = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        torch.mm(x, w)
    best = float("inf")
    for _ in range(20):
        t = time.perf_counter()
        for _ in range(10):
            torch.mm(x, w)
        best = min(best, (time.perf_counter() - t) / 10)
    rates.append(2 * m * k * n / best / 1e9)
gemm_gflops = max(rates)


def hf_pass():
    with torch.inference_mode():
        for batch in batches:
            width = max(map(len, batch))
            input_ids = torch.tensor([e + [tokenizer.pad_token_id] * (width - len(e)) for e in batch])
            mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in batch])
            model(input_ids=input_ids, attention_mask=mask)


hf_pass()
hf_seconds = float("inf")
for _ in range(a.rounds):
    t = time.perf_counter()
    hf_pass()
    hf_seconds = min(hf_seconds, time.perf_counter() - t)

hf_rate = len(ids) / hf_seconds
bound_seconds = 2 * packed / (gemm_gflops * 1e9)
bound_rate = len(ids) / bound_seconds
print(json.dumps({
    "threads": a.threads, "essays": len(ids), "tokens": sum(map(len, ids)),
    "gflop_padded_full": round(2 * padded / 1e9, 1), "gflop_packed_first_token": round(2 * packed / 1e9, 1),
    "gemm_gflops_best": round(gemm_gflops, 1), "gemm_gflops_per_shape": [round(r, 1) for r in rates],
    "hf_fp32_essays_per_s": round(hf_rate, 1), "hf_fp32_gflops_achieved": round(2 * padded / 1e9 / hf_seconds, 1),
    "packed_bound_essays_per_s": round(bound_rate, 1),
    "bound_over_hf": round(bound_rate / hf_rate, 2),
}))
