#!/usr/bin/env python3
"""How much can a detector that sees only the neighbours gain on the unigram-replacement task?

    python3 scripts/rtd_bigram_reference.py --vocab DIR [--data ../shared/data] [--smoothing 1]

The task of scripts/rtd_real_corpus_check.py (15% of the tokens of the packed training texts
replaced by unigram draws), scored by counting: bigram counts from the first 90% of the token
stream, interpolated with the unigram (weight --smoothing · 100 pseudo-counts); on the last 10%,
each token b between a and c gets the score log P(b|a) + log P(b|c) - 2 log P(b) (original
against a unigram draw), and a 1-D logistic fit on half of those positions turns it into a
probability, scored on the other half. Prints the RTD gain over the prior in nats, the accuracy
gain and the recall of replaced tokens: a reference level for what "learns from context"
should reach on this corpus. Needs torch, numpy and transformers (pip); not part of the build.
"""
import argparse
import csv
import math
import random

import numpy as np
import torch
from transformers import BertTokenizerFast

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--vocab", required=True)
p.add_argument("--data", default="../shared/data")
p.add_argument("--smoothing", type=float, default=1.0)
a = p.parse_args()
tok = BertTokenizerFast.from_pretrained(a.vocab)
texts = []
with open(f"{a.data}/wassa2021/messages_train_ready_for_WS.tsv") as f:
    texts += [row["essay"] for row in csv.DictReader(f, delimiter="\t")]
with open(f"{a.data}/goemotions/train.tsv") as f:
    texts += [line.split("\t")[0] for line in f]
random.seed(1)
random.shuffle(texts)
ids = []
for t in texts:
    ids.extend(tok(t, add_special_tokens=False)["input_ids"] + [tok.sep_token_id])
ids = np.array(ids)
V = tok.vocab_size
cut = int(len(ids) * 0.9)
train, test = ids[:cut], ids[cut:]
unigram = np.bincount(train, minlength=V).astype(float) + 0.5
unigram /= unigram.sum()
bigram = np.zeros((V, V))
np.add.at(bigram, (train[:-1], train[1:]), 1)
pseudo = a.smoothing * 100
after = bigram.sum(1, keepdims=True)   # counts of a as the left token
before = bigram.sum(0, keepdims=True)  # counts of c as the right token


def given_left(a_, b):
    return (bigram[a_, b] + pseudo * unigram[b]) / (after[a_, 0] + pseudo)


def given_right(c, b):
    return (bigram[b, c] + pseudo * unigram[b]) / (before[0, c] + pseudo)


rng = np.random.default_rng(0)
special = np.isin(test, [tok.sep_token_id, tok.cls_token_id])
chosen = (rng.random(len(test)) < 0.15) & ~special
shown = np.where(chosen, rng.choice(V, size=len(test), p=unigram), test)
label = (shown != test).astype(float)
i = np.arange(1, len(shown) - 1)
left, own, right = shown[i - 1], shown[i], shown[i + 1]
score = np.log(given_left(left, own)) + np.log(given_right(right, own)) - 2 * np.log(unigram[own])
S = torch.tensor(score, dtype=torch.float32)
Y = torch.tensor(label[i], dtype=torch.float32)
half = len(S) // 2
w = torch.zeros(2, requires_grad=True)
opt = torch.optim.LBFGS([w], max_iter=200)


def closure():
    opt.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(w[0] * S[:half] + w[1], Y[:half])
    loss.backward()
    return loss


opt.step(closure)
logits = w[0] * S[half:] + w[1]
loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y[half:]).item()
q = Y[half:].mean().item()
prior = -q * math.log(q) - (1 - q) * math.log(1 - q)
accuracy = ((logits > 0).float() == Y[half:]).float().mean().item()
recall = (((logits > 0) & (Y[half:] > 0)).sum() / Y[half:].sum()).item()
print(f"tokens {len(ids)} replaced share {q:.4f} prior {prior:.4f} nats, loss {loss:.4f}: "
      f"gain {prior - loss:+.4f} nats, accuracy gain {accuracy - (1 - q):+.4f}, recall {recall:.3f}")
