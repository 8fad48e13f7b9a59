#!/usr/bin/env python3
"""HuggingFace's ElectraForPreTraining alone on the real corpus (reference, no emotune).

    python3 scripts/rtd_real_corpus_check.py --vocab DIR [--data ../shared/data] [--init 0.0884]
        [--lr 1e-3] [--heads 4] [--batch 32] [--hidden 128] [--minutes 12]

No generator: 15% of the non-special tokens of the training texts (WASSA train essays and
GoEmotions train comments, packed into 128-token sequences like `emotune pretrain`) are replaced
by draws from the corpus's unigram distribution, which is what a generator at the unigram stage
produces. The `tiny` shape (4 layers, hidden 128, FFN 512), AdamW 0.9/0.999, eps 1e-6, weight
decay 0.01 except biases and LayerNorms, clip 1, 200 warm-up steps, batch 32, one thread.
Prints, every 100 steps, the mean RTD gain over the prior, the accuracy gain and the recall of
replaced tokens. --vocab: a tokenizer folder from `emotune vocab`. Needs torch and
transformers (pip); not part of the build.
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
L = 128
seqs = torch.tensor(ids[: (len(ids) // (L-1)) * (L-1)]).view(-1, L-1)
seqs = torch.cat([torch.full((seqs.shape[0], 1), tok.cls_token_id), seqs], 1)
V = tok.vocab_size
counts = torch.bincount(seqs.flatten(), minlength=V).float()
special = torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id, tok.unk_token_id])
counts[special] = 0
unigram = counts / counts.sum()
print("sequences", seqs.shape, "unigram entropy", float(-(unigram[unigram>0]*unigram[unigram>0].log()).sum()), flush=True)
cfg = ElectraConfig(vocab_size=V, embedding_size=128, hidden_size=a.hidden, num_hidden_layers=4, num_attention_heads=a.heads,
    intermediate_size=4 * a.hidden, max_position_embeddings=512, initializer_range=a.init)
model = ElectraForPreTraining(cfg)
ex = [q for n,q in model.named_parameters() if "LayerNorm" in n or n.endswith(".bias")]
de = [q for n,q in model.named_parameters() if not ("LayerNorm" in n or n.endswith(".bias"))]
opt = torch.optim.AdamW([{"params":de,"weight_decay":0.01},{"params":ex,"weight_decay":0.0}], lr=a.lr, betas=(0.9,0.999), eps=1e-6)
t0 = time.time(); step = 0; win = []
while time.time() - t0 < a.minutes * 60:
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
