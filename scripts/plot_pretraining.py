#!/usr/bin/env python3
"""Line charts (SVG, no dependencies) of `emotune pretrain` diagnostics, one line per run.

    scripts/plot_pretraining.py --out docs/figures/pretraining LABEL=RUN_DIR [LABEL=RUN_DIR ...]

Reads RUN_DIR/log.jsonl (and pretraining.json for the unigram reference) and writes
OUT-generator.svg (top-1 accuracy at [MASK] positions, with the unigram level dashed),
OUT-mlm.svg (the generator's MLM loss, with the unigram entropy dashed: below it, the
generator uses context even while its top-1 is still the most frequent token),
OUT-rtd-gain.svg (prior entropy minus RTD loss, nats) and OUT-rtd-accuracy-gain.svg
(RTD accuracy minus that of calling every token original), against the optimizer step
(not minutes: the development machine is shared, so its speed varies).
"""

import argparse
import json
import math
import pathlib
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
W, H = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 170, 40, 48


def read_run(path):
    rows = [json.loads(line) for line in (path / "log.jsonl").read_text().splitlines() if line]
    summary_file = path / "pretraining.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return rows, summary.get("corpus", {})


def nice_ticks(lo, hi, count=5):
    raw = (hi - lo) / count or 1.0
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def chart(title, y_label, series, references, path):
    xs = [x for _, pts in series for x, _ in pts] or [0, 1]
    ys = [y for _, pts in series for _, y in pts] + [y for _, y in references] + [0.0]
    x_lo, x_hi = 0.0, max(xs)
    y_lo, y_hi = min(ys), max(ys)
    pad = (y_hi - y_lo) * 0.05 or 0.01
    y_lo, y_hi = y_lo - pad, y_hi + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x):
        return LEFT + (x - x_lo) / ((x_hi - x_lo) or 1) * pw

    def sy(y):
        return TOP + (1 - (y - y_lo) / ((y_hi - y_lo) or 1)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for t in nice_ticks(y_lo, y_hi):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in nice_ticks(x_lo, x_hi):
        out.append(f'<text x="{sx(t):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" '
               f'stroke="#444"/>')
    if y_lo < 0 < y_hi:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                   f'stroke="#444"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 10}" text-anchor="middle">'
               f'optimizer step</text>')
    out.append(f'<text transform="translate(16 {TOP + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    legend_y = TOP + 10
    for i, (label, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        if pts:
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.6"/>')
        out.append(f'<line x1="{LEFT + pw + 10}" x2="{LEFT + pw + 28}" y1="{legend_y}" '
                   f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + pw + 32}" y="{legend_y + 4}">{escape(label)}</text>')
        legend_y += 18
    for label, y in references:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                   f'stroke="#000" stroke-dasharray="5,4"/>')
        out.append(f'<text x="{LEFT + pw + 10}" y="{sy(y) + 4:.1f}">{escape(label)}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def smooth(points, window):
    out = []
    for i in range(len(points)):
        part = points[max(0, i - window + 1):i + 1]
        out.append((points[i][0], sum(y for _, y in part) / len(part)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="path prefix of the SVG files")
    parser.add_argument("--smooth", type=int, default=5, help="moving average over log lines")
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    args = parser.parse_args()
    runs = []
    for item in args.runs:
        label, _, folder = item.partition("=")
        rows, corpus = read_run(pathlib.Path(folder))
        runs.append((label, rows, corpus))

    def series(key):
        return [(label, smooth([(r["step"], r[key]) for r in rows if key in r],
                               args.smooth)) for label, rows, _ in runs]

    unigram = next((c["unigram_top1_share"] for _, _, c in runs if "unigram_top1_share" in c),
                   None)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    chart("Generator top-1 accuracy at [MASK] positions", "accuracy",
          series("generator_mask_accuracy"),
          [("unigram", unigram)] if unigram is not None else [],
          out.with_name(out.name + "-generator.svg"))
    entropy = next((c["unigram_entropy_nats"] for _, _, c in runs
                    if "unigram_entropy_nats" in c), None)
    chart("Generator MLM loss", "nats", series("mlm_loss"),
          [("unigram entropy", entropy)] if entropy is not None else [],
          out.with_name(out.name + "-mlm.svg"))
    chart("RTD gain over the prior (prior entropy - RTD loss)", "nats",
          series("rtd_gain_nats"), [], out.with_name(out.name + "-rtd-gain.svg"))
    chart("RTD accuracy minus (1 - replaced share)", "accuracy gain",
          series("rtd_accuracy_gain"), [], out.with_name(out.name + "-rtd-accuracy-gain.svg"))


if __name__ == "__main__":
    main()
