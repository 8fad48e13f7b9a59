#!/usr/bin/env python3
"""HuggingFace's ElectraForPreTraining alone on the real corpus (reference, no emotune).

    python3 scripts/rtd_real_corpus_check.py --vocab DIR [--data ../shared/data] [--init 0.0884]
        [--lr 1e-3] [--heads 4] [--batch 32] [--hidden 128] [--layers 4] [--length 128]
        [--dropout 0.1] [--positions random|sinusoidal|local] [--local-scale 2.5]
        [--model electra|window-mlp] [--steps N | --minutes 10]

No generator: 15% of the non-special tokens of the training texts (WASSA train essays and
GoEmotions train comments, packed into --length-token sequences like `emotune pretrain`) are
replaced by draws from the corpus's unigram distribution, which is what a generator at the
unigram stage produces. The `tiny` shape by default (4 layers, hidden 128, FFN 512), AdamW
0.9/0.999, eps 1e-6, weight decay 0.01 except biases and LayerNorms, clip 1, 200 warm-up steps,
batch 32, one thread. Prints, every 100 steps, the mean RTD gain over the prior, the accuracy
gain and the recall of replaced tokens.

--positions: how the position embeddings (and layer 0) start. random: drawn with --init;
sinusoidal: the Transformer paper's sinusoids (geometric frequencies), scaled to --init;
local: what `emotune pretrain --attention-init local` does (train/local_attention_init.cc):
sinusoids of frequencies pi(f+1/2)/(E/2) and layer 0's head 0 / head 1 query and key rows set
so that they attend to the previous / next token. --model window-mlp replaces the encoder by an
MLP over the embeddings of (previous, own, next) token: what a model that sees its neighbours
from the start learns in the same steps. --vocab: a tokenizer folder (`emotune vocab`).
Needs torch and transformers (pip); not part of the build (docs/pretraining.md).
"""
import argparse
import csv
import math
import random
import time

import torch
from transformers import ElectraConfig, ElectraForPreTraining, BertTokenizerFast

p = argparse.ArgumentParser(description="RTD alone on the real corpus, unigram replacements")
p.add_argument("--vocab", required=True)
p.add_argument("--data", default="../shared/data")
p.add_argument("--init", type=float, default=0.0884)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--minutes", type=float, default=10)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--steps", type=int, default=0)
p.add_argument("--length", type=int, default=128)
p.add_argument("--positions", choices=["random", "sinusoidal", "local"], default="random")
p.add_argument("--model", choices=["electra", "window-mlp"], default="electra")
p.add_argument("--layers", type=int, default=4)
p.add_argument("--dropout", type=float, default=0.1)
p.add_argument("--local-scale", type=float, default=2.5)
a = p.parse_args()
torch.set_num_threads(1); torch.manual_seed(1); random.seed(1)
tok = BertTokenizerFast.from_pretrained(a.vocab)
texts = []
with open(f"{a.data}/wassa2021/messages_train_ready_for_WS.tsv") as f:
    r = csv.DictReader(f, delimiter="\t")
    for row in r: texts.append(row["essay"])
with open(f"{a.data}/goemotions/train.tsv") as f:
    for line in f: texts.append(line.split("\t")[0])
random.shuffle(texts)
ids = []
for t in texts: ids.extend(tok(t, add_special_tokens=False)["input_ids"] + [tok.sep_token_id])
L = a.length
seqs = torch.tensor(ids[: (len(ids) // (L-1)) * (L-1)]).view(-1, L-1)
seqs = torch.cat([torch.full((seqs.shape[0], 1), tok.cls_token_id), seqs], 1)
V = tok.vocab_size
counts = torch.bincount(seqs.flatten(), minlength=V).float()
special = torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id, tok.unk_token_id])
counts[special] = 0
unigram = counts / counts.sum()
print("sequences", seqs.shape, "unigram entropy", float(-(unigram[unigram>0]*unigram[unigram>0].log()).sum()), flush=True)
cfg = ElectraConfig(vocab_size=V, embedding_size=128, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
    intermediate_size=4 * a.hidden, max_position_embeddings=512, initializer_range=a.init, hidden_dropout_prob=a.dropout, attention_probs_dropout_prob=a.dropout)
model = ElectraForPreTraining(cfg)
if a.positions == "local":
    P = model.electra.embeddings.position_embeddings.weight; n, d = P.shape
    nf = d // 2; om = math.pi * (torch.arange(nf).float() + 0.5) / nf
    pos = torch.arange(n).float()[:, None]
    S = torch.zeros(n, d); S[:, 0::2] = torch.sin(pos * om); S[:, 1::2] = torch.cos(pos * om)
    att = model.electra.encoder.layer[0].attention.self
    hd = a.hidden // a.heads; per = hd // 2
    with torch.no_grad():
        P.copy_(S * (a.init / S.std()))
        for h, delta in enumerate((1, -1)):  # head 0 looks at i - 1, head 1 at i + 1
            fs = [f for f in range(nf) if f % a.heads == h][:per]
            for r, f in enumerate(fs):
                c, s_ = math.cos(om[f] * delta), math.sin(om[f] * delta)
                qrow = h * hd + 2 * r
                att.query.weight[qrow:qrow + 2].zero_(); att.key.weight[qrow:qrow + 2].zero_()
                att.query.weight[qrow, 2 * f] = a.local_scale; att.query.weight[qrow + 1, 2 * f + 1] = a.local_scale
                # key = (sin, cos) at j + delta; query . key = cos(omega (i - j - delta)), largest at j = i - delta
                att.key.weight[qrow, 2 * f] = a.local_scale * c; att.key.weight[qrow, 2 * f + 1] = a.local_scale * s_
                att.key.weight[qrow + 1, 2 * f] = -a.local_scale * s_; att.key.weight[qrow + 1, 2 * f + 1] = a.local_scale * c
    model.eval()
    with torch.no_grad():
        x = model.electra.embeddings(input_ids=seqs[:4])
        q = att.query(x); k = att.key(x)
        for h in range(2):
            sc = (q[..., h*hd:(h+1)*hd] @ k[..., h*hd:(h+1)*hd].transpose(1, 2)) / math.sqrt(hd)
            pr = sc.softmax(-1); i = torch.arange(10, 100)
            print("head", h, "mean prob at j=i+d for d=-2..2:", [round(float(pr[:, i, (i + dd)].mean()), 3) for dd in (-2, -1, 0, 1, 2)])
    model.train()
if a.model == "window-mlp":
    class M(torch.nn.Module):
        def __init__(s):
            super().__init__(); s.e=torch.nn.Embedding(V,128); s.f=torch.nn.Sequential(torch.nn.Linear(384,512),torch.nn.GELU(),torch.nn.Linear(512,1))
        def forward(s,input_ids):
            e=s.e(input_ids); z=torch.zeros_like(e[:,:1])
            x=torch.cat([torch.cat([z,e[:,:-1]],1),e,torch.cat([e[:,1:],z],1)],-1)
            class O: pass
            o=O(); o.logits=s.f(x).squeeze(-1); return o
    model=M()
if a.positions == "sinusoidal":
    P = model.electra.embeddings.position_embeddings.weight; n, d = P.shape
    pos = torch.arange(n).float()[:, None]; fr = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2).float() / d)
    S = torch.zeros(n, d); S[:, 0::2] = torch.sin(pos * fr); S[:, 1::2] = torch.cos(pos * fr)
    with torch.no_grad(): P.copy_(S * (a.init / S.std()))
ex = [q for n,q in model.named_parameters() if "LayerNorm" in n or n.endswith(".bias")]
de = [q for n,q in model.named_parameters() if not ("LayerNorm" in n or n.endswith(".bias"))]
opt = torch.optim.AdamW([{"params":de,"weight_decay":0.01},{"params":ex,"weight_decay":0.0}], lr=a.lr, betas=(0.9,0.999), eps=1e-6)
t0 = time.time(); step = 0; win = []
while (step < a.steps) if a.steps else (time.time() - t0 < a.minutes * 60):
    lr = a.lr * min(1.0, (step + 1) / 200)
    for g in opt.param_groups: g["lr"] = lr
    batch = seqs[torch.randint(0, seqs.shape[0], (a.batch,))]
    sel = (torch.rand(batch.shape) < 0.15) & ~torch.isin(batch, special)
    draws = torch.multinomial(unigram, batch.numel(), replacement=True).view(batch.shape)
    inp = torch.where(sel, draws, batch)
    lab = (inp != batch).float()
    lg = model(input_ids=inp).logits
    loss = torch.nn.functional.binary_cross_entropy_with_logits(lg, lab)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    q = lab.mean().item(); prior = -q*math.log(q)-(1-q)*math.log(1-q)
    win.append((prior - loss.item(), ((lg>0).float()==lab).float().mean().item() - (1-q), (((lg>0)&(lab>0)).sum()/lab.sum()).item()))
    step += 1
    if step % 100 == 0:
        g = [sum(x[i] for x in win)/len(win) for i in range(3)]; win = []
        print(f"step {step} t {time.time()-t0:.0f}s gain {g[0]:+.4f} nats acc_gain {g[1]:+.4f} recall {g[2]:.3f}", flush=True)
