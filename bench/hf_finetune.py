#!/usr/bin/env python3
"""The fine-tuning of configs/minilm/ in HuggingFace transformers + PyTorch (CPU), for a side by
side with `emotune train` on the same machine. Not part of the build; needs the PyPI wheels
torch and transformers.

What is the same as emotune (src/train/, src/data/augment.cc, src/train/batcher.cc):
  - the data: WASSA 2021 train (+ GoEmotions train comments drawn exactly as emotune's BA / RA,
    with the same mt19937_64 stream, re-implemented below), dev for evaluation;
  - the batches: emotune's epoch order (Fisher-Yates on mt19937_64(seed, epoch)) and length
    bucketing, so every step sees the same rows; dynamic padding to the longest in the batch;
  - the model: the checkpoint's encoder, one Linear head per task on the first token's last
    hidden state (no pooler), dropout = the checkpoint's hidden_dropout_prob before the heads,
    head biases at the train targets (head_bias_init = "train_targets"); loss = sum of MSE
    (empathy, distress) or cross-entropy (emotion);
  - the optimizer: torch.optim.AdamW with the config's lr, betas, eps, weight decay, and
    get_linear_schedule_with_warmup when lr_schedule = "linear";
  - evaluation on dev at the same steps (every eval_every_steps and at each epoch's end),
    keeping the best by the config's selection metric, as emotune's best/ snapshot.
What differs: head weight init and dropout masks come from torch's generator (seeded with the
same seed), so a seed is not the same draw as emotune's seed.

Modes:
  train     fine-tune the seeds of a config; per seed OUT/seed-N/dev/predictions_EMP.tsv or
            predictions_EMO.tsv (official format, score with `emotune score`), dev outputs of
            the best evaluation (outputs.json), metrics.jsonl
  ensemble  seed ensemble of `train` outputs (mean of regression outputs, sum of emotion
            probabilities then argmax, as `emotune ensemble`) in the official format
  speed     training essays/s over a fixed number of steps and inference essays/s over the dev
            essays (PyTorch eager; with --int8 PyTorch's dynamic int8; with --onnx ONNX Runtime
            fp32 and int8 on the same model), printed as one JSON line (bench/minilm_speed.sh
            interleaves it with emotune)

Example:
  python3 bench/hf_finetune.py train configs/minilm/multitask.toml --out runs/hf/mt --seeds 1,2,3
  emotune score --gold ../shared/data/wassa2021/goldstandard_dev_2022.tsv \
      --emp runs/hf/mt/seed-1/dev/predictions_EMP.tsv
"""

import argparse
import json
import math
import os
import sys
import time
import tomllib
from pathlib import Path

EMOTIONS = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
MASK64 = (1 << 64) - 1


# ---- std::mt19937_64 and emotune's sampling on it (src/data/augment.cc, src/train/batcher.cc)


class MT19937_64:
    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def uniform_below(generator, bound):
    threshold = ((1 << 64) - bound) % bound
    while True:
        draw = generator()
        if draw >= threshold:
            return draw % bound


def sample_without_replacement(generator, population, count):
    pool = list(range(population))
    for i in range(count):
        j = i + uniform_below(generator, population - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def batch_engine(seed, epoch, stream):
    return MT19937_64(
        (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB)
        & MASK64
    )


def fisher_yates(items, engine):
    for i in range(len(items), 1, -1):
        j = uniform_below(engine, i)
        items[i - 1], items[j] = items[j], items[i - 1]


def epoch_batches(lengths, batch_size, seed, epoch, bucketing):
    order = list(range(len(lengths)))
    fisher_yates(order, batch_engine(seed, epoch, 0))
    if bucketing:
        chunk = batch_size * 50
        for start in range(0, len(order), chunk):
            order[start : start + chunk] = sorted(order[start : start + chunk], key=lambda i: lengths[i])
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    if bucketing:
        batch_order = list(range(len(batches)))
        fisher_yates(batch_order, batch_engine(seed, epoch, 1))
        batches = [batches[i] for i in batch_order]
    return batches


# ---- data (src/data/wassa.cc, goemotions.cc, augment.cc)


def unquote(field):
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def read_tsv(path, header=True):
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line.rstrip("\r\n") for line in f]
    lines = [line for line in lines if line != ""]
    rows = [[unquote(x) for x in line.split("\t")] for line in lines]
    if not header:
        return None, rows
    return rows[0], rows[1:]


def load_wassa(data_dir):
    wassa = Path(data_dir) / "wassa2021"
    head, rows = read_tsv(wassa / "messages_train_ready_for_WS.tsv")
    col = {name: i for i, name in enumerate(head)}
    train = [
        {
            "text": r[col["essay"]],
            "empathy": float(r[col["empathy"]]),
            "distress": float(r[col["distress"]]),
            "emotion": EMOTIONS.index(r[col["emotion"]]),
        }
        for r in rows
    ]
    head, rows = read_tsv(wassa / "messages_dev_features_ready_for_WS_2022.tsv")
    col = {name: i for i, name in enumerate(head)}
    _, gold = read_tsv(wassa / "goldstandard_dev_2022.tsv", header=False)
    if len(gold) != len(rows):
        sys.exit(f"dev: {len(rows)} essays but {len(gold)} gold rows")
    dev = [
        {
            "text": r[col["essay"]],
            "empathy": float(g[0]),
            "distress": float(g[1]),
            "emotion": EMOTIONS.index(g[2]),
        }
        for r, g in zip(rows, gold)
    ]
    return train, dev


def load_goemotions_train(data_dir):
    folder = Path(data_dir) / "goemotions"
    labels = [line.strip() for line in open(folder / "emotions.txt", encoding="utf-8") if line.strip()]
    mapping = json.load(open(folder / "ekman_mapping.json", encoding="utf-8"))
    ekman_of = {}
    for ekman, members in mapping.items():
        for name in members:
            ekman_of[name] = EMOTIONS.index(ekman)
    ekman_of["neutral"] = EMOTIONS.index("neutral")
    _, rows = read_tsv(folder / "train.tsv", header=False)
    comments = []
    for r in rows:
        classes = []
        for label in r[1].split(","):
            c = ekman_of[labels[int(label)]]
            if c not in classes:
                classes.append(c)
        if len(classes) == 1:  # emotune's default multi-label policy: skip
            comments.append({"text": r[0], "emotion": classes[0]})
    return comments


def augmented_comments(train, comments, mode, size, seed):
    pool = [[] for _ in EMOTIONS]
    for i, c in enumerate(comments):
        pool[c["emotion"]].append(i)
    generator = MT19937_64(seed)
    chosen = []
    if mode == "ba":
        total = size or 2800
        current = [0] * len(EMOTIONS)
        for example in train:
            current[example["emotion"]] += 1
        added = [0] * len(EMOTIONS)
        for _ in range(total - len(train)):
            best = None
            for c in range(len(EMOTIONS)):
                if added[c] >= len(pool[c]):
                    continue
                if best is None or current[c] + added[c] < current[best] + added[best]:
                    best = c
            added[best] += 1
        for c in range(len(EMOTIONS)):
            for k in sample_without_replacement(generator, len(pool[c]), added[c]):
                chosen.append(pool[c][k])
    elif mode == "ra":
        chosen = sample_without_replacement(generator, len(comments), size or 1000)
    return [{"text": comments[i]["text"], "emotion": comments[i]["emotion"]} for i in chosen]


# ---- config


def load_config(path, overrides):
    with open(path, "rb") as f:
        config = tomllib.load(f)
    for assignment in overrides:
        key, _, value = assignment.partition("=")
        config[key] = tomllib.loads(f"v = {value}")["v"]
    defaults = {
        "max_length": 512,
        "learning_rate": 1e-5,
        "adam_beta1": 0.9,
        "adam_beta2": 0.99,
        "adam_eps": 1e-6,
        "weight_decay": 0.0,
        "lr_schedule": "constant",
        "warmup_ratio": 0.0,
        "augment": "none",
        "augment_size": 0,
        "eval_every_steps": 0,
        "length_bucketing": False,
        "head_bias_init": "default",
        "loss_weights": {},
        "selection_metric": "auto",
        "mixed_precision": "none",
    }
    for key, value in defaults.items():
        config.setdefault(key, value)
    config["mixed_precision"] = resolve_mixed_precision(config["mixed_precision"])
    if config["selection_metric"] == "auto":
        config["selection_metric"] = "macro_f1" if "emotion" in config["tasks"] else "avg_pearson"
    return config


def backbone_dir(config, cli_backbone):
    if cli_backbone:
        return Path(cli_backbone)
    models = os.environ.get("EMOTUNE_MODELS", str(Path.home() / ".cache/emotune/models"))
    return Path(config["backbone"].replace("${models_root}", config.get("models_root", models)))


# ---- model


def build(config, backbone, train, seed):
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    encoder = AutoModel.from_pretrained(backbone, add_pooling_layer=False)
    hidden = encoder.config.hidden_size
    dropout = encoder.config.hidden_dropout_prob
    heads = torch.nn.ModuleDict()
    for task in config["tasks"]:
        heads[task] = torch.nn.Linear(hidden, 7 if task == "emotion" else 1)
    if config["head_bias_init"] == "train_targets":
        with torch.no_grad():
            for task in config["tasks"]:
                if task == "emotion":
                    counts = [1.0] * 7
                    for e in train:
                        counts[e["emotion"]] += 1
                    total = sum(counts)
                    heads[task].bias.copy_(torch.tensor([math.log(c / total) for c in counts]))
                else:
                    values = [e[task] for e in train if task in e]
                    heads[task].bias.fill_(sum(values) / len(values))

    class TaskModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.heads = heads

        def forward(self, input_ids, attention_mask):
            first = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
            first = self.dropout(first)
            return {
                task: (head(first) if task == "emotion" else head(first).squeeze(-1))
                for task, head in self.heads.items()
            }

    return TaskModel()


def collate(ids_list, rows, pad_id):
    import torch

    longest = max(len(ids_list[i]) for i in rows)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for k, i in enumerate(rows):
        input_ids[k, : len(ids_list[i])] = torch.tensor(ids_list[i])
        mask[k, : len(ids_list[i])] = 1
    return input_ids, mask


def resolve_mixed_precision(name):
    """none | bf16; "auto" as emotune resolves it: bf16 where the CPU has native bfloat16."""
    if name != "auto":
        return name
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "none"


def train_forward(model, input_ids, mask, config):
    """The model's outputs for a training step; with mixed_precision = "bf16" under
    torch.autocast (bfloat16 products, float32 weights), as emotune's runtime::AutocastScope,
    the outputs then taken back to float32 for the loss."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config["mixed_precision"] == "bf16"):
        outputs = model(input_ids, mask)
    return {task: output.float() for task, output in outputs.items()}


def task_loss(outputs, examples, config):
    import torch

    loss = 0
    weights = config["loss_weights"]
    for task, output in outputs.items():
        if task == "emotion":
            target = torch.tensor([e["emotion"] for e in examples])
            part = torch.nn.functional.cross_entropy(output, target)
        else:
            target = torch.tensor([e[task] for e in examples], dtype=torch.float32)
            part = torch.nn.functional.mse_loss(output, target)
        loss = loss + weights.get(task, 1.0) * part
    return loss


def pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def macro_f1(gold, predicted):
    f1s = []
    for c in range(len(EMOTIONS)):
        tp = sum(1 for g, p in zip(gold, predicted) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, predicted) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, predicted) if g == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(f1s) / len(f1s)


def predict(model, ids_list, batch_size, pad_id, sort_by_length=False):
    """Outputs per task, in input order: regression values, or emotion probabilities."""
    import torch

    order = list(range(len(ids_list)))
    if sort_by_length:
        order.sort(key=lambda i: len(ids_list[i]))
    outputs = {}
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            input_ids, mask = collate(ids_list, rows, pad_id)
            for task, output in model(input_ids, mask).items():
                values = torch.softmax(output, -1) if task == "emotion" else output
                slot = outputs.setdefault(task, [None] * len(ids_list))
                for k, i in enumerate(rows):
                    slot[i] = values[k].tolist()
    model.train()
    return outputs


def dev_scores(outputs, dev):
    scores = {}
    for task in ("empathy", "distress"):
        if task in outputs:
            scores[f"pearson_{task}"] = pearson(outputs[task], [e[task] for e in dev])
    if "empathy" in outputs and "distress" in outputs:
        scores["avg_pearson"] = (scores["pearson_empathy"] + scores["pearson_distress"]) / 2
    if "emotion" in outputs:
        predicted = [max(range(7), key=lambda c: p[c]) for p in outputs["emotion"]]
        gold = [e["emotion"] for e in dev]
        scores["macro_f1"] = macro_f1(gold, predicted)
        scores["accuracy"] = sum(1 for g, p in zip(gold, predicted) if g == p) / len(gold)
    return scores


def write_official(folder, outputs):
    folder.mkdir(parents=True, exist_ok=True)
    if "empathy" in outputs and "distress" in outputs:
        with open(folder / "predictions_EMP.tsv", "w") as f:
            for e, d in zip(outputs["empathy"], outputs["distress"]):
                f.write(f"{e}\t{d}\n")
    if "emotion" in outputs:
        with open(folder / "predictions_EMO.tsv", "w") as f:
            for p in outputs["emotion"]:
                f.write(EMOTIONS[max(range(7), key=lambda c: p[c])] + "\n")


def prepare(config, backbone, data_dir, seed):
    from transformers import AutoTokenizer

    train, dev = load_wassa(data_dir)
    if config["augment"] != "none":
        comments = load_goemotions_train(data_dir)
        train = train + augmented_comments(train, comments, config["augment"], config["augment_size"], seed)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    encode = lambda texts: tokenizer(texts, truncation=True, max_length=config["max_length"])["input_ids"]
    return train, dev, encode([e["text"] for e in train]), encode([e["text"] for e in dev]), tokenizer.pad_token_id


def make_optimizer(config, model, total_steps):
    import torch

    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config["learning_rate"],
        betas=(config["adam_beta1"], config["adam_beta2"]),
        eps=config["adam_eps"],
        weight_decay=config["weight_decay"],
    )
    if config["lr_schedule"] == "linear":
        from transformers import get_linear_schedule_with_warmup

        warmup = math.floor(config["warmup_ratio"] * total_steps + 0.5)
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return optimizer, scheduler


def train_seed(config, backbone, data_dir, seed, out, threads):
    import torch

    torch.set_num_threads(threads)
    train, dev, train_ids, dev_ids, pad_id = prepare(config, backbone, data_dir, seed)
    model = build(config, backbone, train, seed)
    model.train()
    batch_size = config["batch_size"]
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total_steps = steps_per_epoch * config["epochs"]
    if config.get("max_steps", 0) > 0:
        total_steps = min(total_steps, config["max_steps"])
    optimizer, scheduler = make_optimizer(config, model, total_steps)
    lengths = [len(x) for x in train_ids]
    out.mkdir(parents=True, exist_ok=True)
    metrics = open(out / "metrics.jsonl", "w")
    best = None
    step = 0
    train_seconds = 0.0
    rows_trained = 0
    selection = config["selection_metric"]
    for epoch in range(config["epochs"]):
        batches = epoch_batches(lengths, batch_size, seed, epoch, config["length_bucketing"])
        for position, rows in enumerate(batches):
            started = time.perf_counter()
            torch.manual_seed(seed * 1000003 + step + 1)
            input_ids, mask = collate(train_ids, rows, pad_id)
            optimizer.zero_grad()
            loss = task_loss(train_forward(model, input_ids, mask, config), [train[i] for i in rows], config)
            loss.backward()
            optimizer.step()
            scheduler.step()
            train_seconds += time.perf_counter() - started
            rows_trained += len(rows)
            step += 1
            periodic = config["eval_every_steps"] > 0 and step % config["eval_every_steps"] == 0
            epoch_done = position + 1 == len(batches)
            all_done = step >= total_steps
            if not (periodic or epoch_done or all_done):
                continue
            outputs = predict(model, dev_ids, batch_size, pad_id)
            scores = dev_scores(outputs, dev)
            line = {"seed": seed, "step": step, "epoch": epoch + (position + 1) / len(batches),
                    "train_loss": loss.item(), **scores}
            line["is_best"] = best is None or scores[selection] > best[0]
            metrics.write(json.dumps(line) + "\n")
            metrics.flush()
            print(f"seed {seed} step {step}: dev {selection} = {scores[selection]:.4f}"
                  f"{' (best)' if line['is_best'] else ''}", flush=True)
            if line["is_best"]:
                best = (scores[selection], outputs, line)
            if all_done:
                break
        if step >= total_steps:
            break
    write_official(out / "dev", best[1])
    json.dump({"best": best[2], "outputs": best[1]}, open(out / "outputs.json", "w"))
    print(f"seed {seed}: {rows_trained} rows in {train_seconds:.1f} s of training steps "
          f"({rows_trained / train_seconds:.2f} essays/s)", flush=True)
    return best[2]


def cmd_train(args):
    config = load_config(args.config, args.set)
    backbone = backbone_dir(config, args.backbone)
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else config["seeds"]
    summary = []
    for seed in seeds:
        summary.append(train_seed(config, backbone, args.data, seed, Path(args.out) / f"seed-{seed}", args.threads))
    json.dump({"config": config, "backbone": str(backbone), "seeds": summary},
              open(Path(args.out) / "summary.json", "w"), indent=1)


def cmd_ensemble(args):
    outputs = [json.load(open(Path(d) / "outputs.json"))["outputs"] for d in args.seed_dirs]
    combined = {}
    for task in outputs[0]:
        if task == "emotion":
            combined[task] = [[sum(o[task][i][c] for o in outputs) for c in range(7)]
                              for i in range(len(outputs[0][task]))]
        else:
            combined[task] = [sum(o[task][i] for o in outputs) / len(outputs)
                              for i in range(len(outputs[0][task]))]
    write_official(Path(args.out), combined)


def cmd_speed(args):
    """Training essays/s over --steps steps (the run's first batches) and inference essays/s
    over the dev essays (sorted by length and batched as `emotune predict` does), after model
    loading and tokenization."""
    import torch

    torch.set_num_threads(args.threads)
    config = load_config(args.config, args.set)
    backbone = backbone_dir(config, args.backbone)
    seed = config["seeds"][0]
    train, dev, train_ids, dev_ids, pad_id = prepare(config, backbone, args.data, seed)
    model = build(config, backbone, train, seed)
    model.train()
    total_steps = math.ceil(len(train) / config["batch_size"]) * config["epochs"]
    optimizer, scheduler = make_optimizer(config, model, total_steps)
    batches = epoch_batches([len(x) for x in train_ids], config["batch_size"], seed, 0, config["length_bucketing"])
    started = time.perf_counter()
    rows_trained = 0
    for step, rows in enumerate(batches[: args.steps]):
        torch.manual_seed(seed * 1000003 + step + 1)
        input_ids, mask = collate(train_ids, rows, pad_id)
        optimizer.zero_grad()
        loss = task_loss(train_forward(model, input_ids, mask, config), [train[i] for i in rows], config)
        loss.backward()
        optimizer.step()
        scheduler.step()
        rows_trained += len(rows)
    train_seconds = time.perf_counter() - started
    if args.train_only:
        print(json.dumps({"system": "huggingface", "threads": torch.get_num_threads(),
                          "mixed_precision": config["mixed_precision"], "train_rows": rows_trained,
                          "train_seconds": train_seconds,
                          "train_essays_per_s": rows_trained / train_seconds}), flush=True)
        return
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(backbone)
    started = time.perf_counter()  # tokenization included, as in emotune predict's figure
    dev_ids = tokenizer([e["text"] for e in dev], truncation=True, max_length=config["max_length"])["input_ids"]
    predict(model, dev_ids, args.predict_batch, pad_id, sort_by_length=True)
    predict_seconds = time.perf_counter() - started
    figures = {"system": "huggingface", "threads": torch.get_num_threads(),
               "mixed_precision": config["mixed_precision"], "train_rows": rows_trained, "train_seconds": train_seconds,
               "train_essays_per_s": rows_trained / train_seconds,
               "predict_essays": len(dev_ids), "predict_seconds": predict_seconds,
               "predict_essays_per_s": len(dev_ids) / predict_seconds}
    if args.int8:
        # PyTorch's own dynamic int8 (every Linear; per-tensor activation scales), the peer of
        # `emotune predict --precision int8`; one warm-up batch first, as emotune's engines warm up.
        quantized = torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
        predict(quantized, dev_ids[:16], args.predict_batch, pad_id, sort_by_length=True)
        started = time.perf_counter()
        dev_ids = tokenizer([e["text"] for e in dev], truncation=True, max_length=config["max_length"])["input_ids"]
        predict(quantized, dev_ids, args.predict_batch, pad_id, sort_by_length=True)
        seconds = time.perf_counter() - started
        figures["predict_int8_essays_per_s"] = len(dev_ids) / seconds
    if args.bf16:
        # PyTorch's bfloat16 inference under autocast, the peer of `emotune predict --precision bf16`.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            predict(model.eval(), dev_ids[:16], args.predict_batch, pad_id, sort_by_length=True)
            started = time.perf_counter()
            dev_ids = tokenizer([e["text"] for e in dev], truncation=True, max_length=config["max_length"])["input_ids"]
            predict(model, dev_ids, args.predict_batch, pad_id, sort_by_length=True)
            seconds = time.perf_counter() - started
        figures["predict_bf16_essays_per_s"] = len(dev_ids) / seconds
    if args.onnx:
        figures.update(onnx_runtime_speed(model, tokenizer, dev, config, args, pad_id))
    print(json.dumps(figures), flush=True)


def onnx_runtime_speed(model, tokenizer, dev, config, args, pad_id):
    """ONNX Runtime's best CPU configuration on the same model and essays: the model exported
    with dynamic batch and length, every graph optimization (ORT_ENABLE_ALL: attention and
    layer-norm fusion), --threads intra-op threads, length-sorted batches of --predict-batch,
    one warm-up batch; fp32, and with onnxruntime.quantization's dynamic int8 (weights int8,
    activations quantized per call), the peer of `emotune predict --precision int8`. Timed
    like predict: tokenization and inference of the dev essays."""
    import os
    import tempfile

    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Outputs(torch.nn.Module):  # the task dict as a tuple of tensors, in task order
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            outputs = self.inner(input_ids, attention_mask)
            return tuple(torch.softmax(outputs[t], -1) if t == "emotion" else outputs[t] for t in sorted(outputs))

    folder = tempfile.mkdtemp()
    fp32_path = os.path.join(folder, "model.onnx")
    example = collate([[pad_id + 1] * 8, [pad_id + 1] * 5], [0, 1], pad_id)
    # The wrapper in eval mode too: the exporter restores the wrapper's mode afterwards, and
    # restoring train mode would switch dropout back on inside the model.
    wrapped = Outputs(model).eval()
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}}
    try:  # the TorchScript exporter; newer torch defaults to the dynamo one (needs onnxscript)
        torch.onnx.export(wrapped, example, fp32_path, input_names=["input_ids", "attention_mask"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    except TypeError:
        torch.onnx.export(wrapped, example, fp32_path, input_names=["input_ids", "attention_mask"],
                          dynamic_axes=axes, opset_version=17)
    int8_path = os.path.join(folder, "model.int8.onnx")
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)

    figures = {"onnxruntime_version": ort.__version__}
    for name, path in (("onnxruntime_fp32", fp32_path), ("onnxruntime_int8", int8_path)):
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

        def run(ids_list):
            order = sorted(range(len(ids_list)), key=lambda i: len(ids_list[i]))
            for start in range(0, len(order), args.predict_batch):
                input_ids, mask = collate(ids_list, order[start : start + args.predict_batch], pad_id)
                session.run(None, {"input_ids": input_ids.numpy().astype(np.int64),
                                   "attention_mask": mask.numpy().astype(np.int64)})

        warm = tokenizer([e["text"] for e in dev[:16]], truncation=True, max_length=config["max_length"])
        run(warm["input_ids"])
        # How far its outputs are from PyTorch's on those 16 essays (regression values and
        # emotion probabilities): the figure says the configuration computes the same model.
        input_ids, mask = collate(warm["input_ids"], list(range(16)), pad_id)
        with torch.inference_mode():
            reference = wrapped(input_ids, mask)
        answers = session.run(None, {"input_ids": input_ids.numpy().astype(np.int64),
                                     "attention_mask": mask.numpy().astype(np.int64)})
        figures[name + "_max_abs_diff"] = max(
            float(np.max(np.abs(np.asarray(a) - r.numpy()))) for a, r in zip(answers, reference))
        started = time.perf_counter()
        ids = tokenizer([e["text"] for e in dev], truncation=True, max_length=config["max_length"])["input_ids"]
        run(ids)
        figures[name + "_essays_per_s"] = len(ids) / (time.perf_counter() - started)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("train", "speed"):
        p = sub.add_parser(name)
        p.add_argument("config")
        p.add_argument("--data", default=os.environ.get("EMOTUNE_DATA", "../shared/data"))
        p.add_argument("--backbone", help="checkpoint folder (default: the config's, under $EMOTUNE_MODELS)")
        p.add_argument("--set", action="append", default=[], help="key=value (TOML value), as emotune's --set")
        if name == "train":
            p.add_argument("--out", required=True)
            p.add_argument("--seeds", help="e.g. 1,2,3 (default: the config's)")
        else:
            p.add_argument("--steps", type=int, default=20)
            p.add_argument("--predict-batch", type=int, default=16, help="as emotune predict's --batch-size")
            p.add_argument("--int8", action="store_true",
                           help="also predict with torch.ao.quantization.quantize_dynamic (int8 Linear layers)")
            p.add_argument("--train-only", action="store_true", help="time the training steps only")
            p.add_argument("--bf16", action="store_true",
                           help="also predict under torch.autocast bfloat16 (CPUs with AVX512_BF16 or AMX)")
            p.add_argument("--onnx", action="store_true",
                           help="also predict with ONNX Runtime (the model exported to ONNX; fp32 and "
                                "dynamic int8), its best CPU configuration")
    p = sub.add_parser("ensemble")
    p.add_argument("seed_dirs", nargs="+")
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    {"train": cmd_train, "ensemble": cmd_ensemble, "speed": cmd_speed}[args.mode](args)


if __name__ == "__main__":
    main()
