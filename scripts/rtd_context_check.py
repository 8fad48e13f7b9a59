#!/usr/bin/env python3
"""HuggingFace's ElectraForPreTraining on the context test's language (reference, no emotune).

    python3 scripts/rtd_context_check.py [--init 0.125] [--heads 4] [--lr 3e-3] [--steps 600] [--seed N]

The language of tests/train/pretrain_context_test.cc: 40 content tokens, x[i+1] = perm[x[i]]
(perm drawn from --seed), a uniform first token, [CLS] 30 tokens [SEP]; 15% of the content
tokens replaced by uniform draws (the marginal), so only context reveals them. Same model
(2 layers, hidden 64, dropout 0), optimizer (AdamW 0.9/0.999, eps 1e-6, weight decay 0.01
except biases and LayerNorms, clip 1), warm-up 10% then linear decay. Prints, on 512 fresh
sequences, the RTD loss at content positions beside the prior's entropy, the accuracy beside
that of calling every token original, and the recall of replaced tokens.
--init 0.02 (BERT's, HF's default) sits on the prior; --init 0.125 (1/sqrt(64)) learns.
Needs torch and transformers (pip); not part of the build.
"""

import argparse
import math
import time

import torch
from transformers import ElectraConfig, ElectraForPreTraining

p = argparse.ArgumentParser(description="RTD on a permutation language with HF ElectraForPreTraining")
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--steps", type=int, default=600)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--K", type=int, default=40)
p.add_argument("--L", type=int, default=32)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--init", type=float, default=0.125, help="initializer_range")
p.add_argument("--warmup", type=int, default=-1)
p.add_argument("--wd", type=float, default=0.01)
p.add_argument("--beta2", type=float, default=0.999)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--layers", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(2)
torch.manual_seed(a.seed)
K, FIRST, L = a.K, 5, a.L
V = FIRST + K
perm = torch.randperm(K)
def batch(rows):
    t = torch.randint(0, K, (rows,))
    cols = []
    for i in range(L - 2):
        cols.append(t + FIRST); t = perm[t]
    ids = torch.stack(cols, 1)
    return torch.cat([torch.full((rows,1),2), ids, torch.full((rows,1),3)], 1)
def replace(ids):
    r = torch.rand(ids.shape); r[:,0]=2; r[:,-1]=2
    n = round(0.15*(L-2))
    idx = r.argsort(1)[:, :n]
    chosen = torch.zeros_like(ids, dtype=torch.bool).scatter_(1, idx, True)
    return torch.where(chosen, torch.randint(FIRST, V, ids.shape), ids)
cfg = ElectraConfig(vocab_size=V, embedding_size=64, hidden_size=64, num_hidden_layers=a.layers,
    num_attention_heads=a.heads, intermediate_size=256, hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0, max_position_embeddings=64, initializer_range=a.init)
model = ElectraForPreTraining(cfg)
ex = [q for n,q in model.named_parameters() if "LayerNorm" in n or n.endswith(".bias")]
de = [q for n,q in model.named_parameters() if not ("LayerNorm" in n or n.endswith(".bias"))]
opt = torch.optim.AdamW([{"params":de,"weight_decay":a.wd},{"params":ex,"weight_decay":0.0}], lr=a.lr, betas=(0.9,a.beta2), eps=1e-6)
w = a.warmup if a.warmup >= 0 else a.steps//10
S = a.steps
sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s+1)/w if s < w else max(0,(S-s)/(S-w)))
def evaluate():
    model.eval()
    with torch.no_grad():
        ids = batch(512); inp = replace(ids); lab = (inp != ids).float()
        lg = model(input_ids=inp).logits
        loss = torch.nn.functional.binary_cross_entropy_with_logits(lg, lab).item()
        # content positions only
        c = lab[:,1:-1]; q = c.mean().item()
        prior = -q*math.log(q)-(1-q)*math.log(1-q)
        lc = torch.nn.functional.binary_cross_entropy_with_logits(lg[:,1:-1], c).item()
        acc = ((lg[:,1:-1]>0).float()==c).float().mean().item()
        rec = ((lg[:,1:-1]>0)&(c>0)).sum().item()/max(1,c.sum().item())
    model.train()
    return lc, prior, acc, 1-q, rec
t0=time.time()
for s in range(S):
    ids = batch(a.batch); inp = replace(ids); lab = (inp != ids).float()
    lg = model(input_ids=inp).logits
    loss = torch.nn.functional.binary_cross_entropy_with_logits(lg, lab)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sch.step()
    if (s+1) % max(1,S//6) == 0:
        lc, prior, acc, pacc, rec = evaluate()
        print(f"{s+1} loss {lc:.4f} prior {prior:.4f} gain {prior-lc:+.4f} acc {acc:.4f} prior_acc {pacc:.4f} recall {rec:.3f} t {time.time()-t0:.1f}", flush=True)
