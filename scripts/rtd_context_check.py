#!/usr/bin/env python3
"""HuggingFace's ElectraForPreTraining on the context test's language (reference, no emotune).

    python3 scripts/rtd_context_check.py [LR] [STEPS] [HEADS]     # defaults 1e-3 300 2

The language of tests/train/pretrain_context_test.cc: 40 content tokens, x[i+1] = perm[x[i]],
a uniform first token, [CLS] 30 tokens [SEP]; 15% of the content tokens replaced by uniform
draws (the marginal), so only context reveals them. Same model (2 layers, hidden 64, dropout
0), optimizer (AdamW 0.9/0.999, eps 1e-6, weight decay 0.01 except biases and LayerNorms, clip
1), warm-up 10% then linear decay. Prints the RTD loss beside the prior's entropy and the
accuracy beside that of calling every token original, every 50 steps. Needs torch and
transformers (pip); not part of the build.
"""

import math
import random
import sys
import time

import torch
from transformers import ElectraConfig, ElectraForPreTraining

K, FIRST, LENGTH = 40, 5, 32
VOCAB = FIRST + K


def main():
    lr = float(sys.argv[1]) if len(sys.argv) > 1 else 1e-3
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    heads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(1)
    torch.manual_seed(1)
    rng = random.Random(7)
    perm = list(range(K))
    rng.shuffle(perm)

    def batch(rows):
        ids = torch.empty(rows, LENGTH, dtype=torch.long)
        for r in range(rows):
            ids[r, 0] = 2
            t = rng.randrange(K)
            for i in range(1, LENGTH - 1):
                ids[r, i] = FIRST + t
                t = perm[t]
            ids[r, LENGTH - 1] = 3
        return ids

    def replace(ids):
        chosen = torch.zeros_like(ids, dtype=torch.bool)
        for r in range(ids.shape[0]):
            chosen[r, torch.randperm(LENGTH - 2)[:round(0.15 * (LENGTH - 2))] + 1] = True
        return torch.where(chosen, torch.randint(FIRST, VOCAB, ids.shape), ids)

    config = ElectraConfig(vocab_size=VOCAB, embedding_size=64, hidden_size=64,
                           num_hidden_layers=2, num_attention_heads=heads, intermediate_size=256,
                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                           max_position_embeddings=64)
    model = ElectraForPreTraining(config)
    exempt = [p for n, p in model.named_parameters() if "LayerNorm" in n or n.endswith(".bias")]
    decay = [p for n, p in model.named_parameters()
             if not ("LayerNorm" in n or n.endswith(".bias"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                   {"params": exempt, "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.999), eps=1e-6)
    warmup = steps // 10
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0, (steps - s) / (steps - warmup)))
    start = time.time()
    for step in range(steps):
        ids = batch(32)
        inputs = replace(ids)
        labels = (inputs != ids).float()
        logits = model(input_ids=inputs, attention_mask=torch.ones_like(ids)).logits
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            p = labels.mean().item()
            prior = -p * math.log(p) - (1 - p) * math.log(1 - p)
            accuracy = ((logits > 0).float() == labels).float().mean().item()
            print(f"{step} loss {loss.item():.4f} prior {prior:.4f} acc {accuracy:.4f} "
                  f"prior_acc {1 - p:.4f}", flush=True)
    print(f"time {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
