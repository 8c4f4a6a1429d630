"""Speed, memory and quality of the e5 encoder variants on this machine.

Each variant runs in a fresh interpreter so load time and peak RSS are its own.
Build the folders first:

    python scripts/build_encoder.py --out .models/e5-small-full --dtype F32
    python scripts/build_encoder.py --out .models/e5-small --trim
    python scripts/export_encoder.py --model .models/e5-small

then ``python bench/encoder_bench.py`` prints one row per variant:
ready time (from the interpreter's start to a loaded model: what a worker waits
for) and the part of it in ``Encoder.load`` (imports of the runtime and the model), RSS after load and peak, emb/s (lists of 32 texts of
40-150 words), single-message p50/p95 latency, cosine to the fp32 reference with
the same max_tokens (full vocabulary @64, trimmed @96), and the cross-lingual check: for each
of 66 non-English requests, is the nearest English request the same intent,
and by what margin. Timings are best of two passes: other work on the two cores
makes single passes noisy; the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name, model folder (relative to --models), load options
VARIANTS: list[tuple[str, str, dict[str, object]]] = [
    ("full vocab fp32 @64", "e5-small-full", {"precision": "fp32", "runtime": "transformers"}),
    ("full vocab int8 @64", "e5-small-full", {"precision": "int8"}),
    ("full vocab bf16 @64", "e5-small-full", {"precision": "bf16"}),
    ("trimmed int8 @64", "e5-small", {"precision": "int8", "runtime": "transformers"}),
    ("trimmed bf16 @64", "e5-small", {"precision": "bf16"}),
    ("trimmed bf16 @48", "e5-small", {"precision": "bf16", "max_tokens": 48}),
    ("trimmed bf16 @128", "e5-small", {"precision": "bf16", "max_tokens": 128}),
    ("trimmed bf16 @64, 8 layers", "e5-small", {"precision": "bf16", "layers": 8}),
    # The production settings (max_tokens 96, the head's): the reference, then both runtimes.
    ("trimmed fp32 @96", "e5-small", {"precision": "fp32", "max_tokens": 96, "runtime": "transformers"}),
    ("trimmed bf16 @96", "e5-small", {"precision": "bf16", "max_tokens": 96, "runtime": "transformers"}),
    ("trimmed int8 @96", "e5-small", {"precision": "int8", "max_tokens": 96, "runtime": "transformers"}),
    ("trimmed onnx int8 @96", "e5-small", {"max_tokens": 96, "runtime": "onnx"}),
]
REFERENCES = {64: 0, 96: 8}  # max_tokens -> index of the variant the cosine column compares with


def _rss_mib() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _process_start() -> float:
    """When this process started, in time.time() seconds (field 22 of /proc/self/stat)."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime"))  # fmt: skip
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def run_variant(folder: Path, options: dict[str, object], emb_out: Path, started: float) -> dict[str, object]:
    """Measure one variant in this process (called in the child). ``started`` is the
    interpreter's start (from /proc), so the ready time counts Python's own start-up too."""
    t1 = time.time()
    sys.path.insert(0, str(ROOT))
    from inboxbot.classify.encoder import Encoder

    enc = Encoder.load(folder, **options)  # type: ignore[arg-type]  (imports its runtime)
    t2 = time.time()
    import numpy as np

    from bench.encoder_corpus import LANGS, REQUESTS, email_texts

    rss_loaded, _ = _rss_mib()
    texts = email_texts(320)
    enc.embed(texts[:32])  # warm-up
    best = 0.0
    for _ in range(2):
        start = time.perf_counter()
        vecs = np.concatenate([enc.embed(texts[i : i + 32]) for i in range(0, len(texts), 32)])
        best = max(best, len(texts) / (time.perf_counter() - start))
    lat = []
    for text in texts[:100]:
        start = time.perf_counter()
        enc.embed([text])
        lat.append(time.perf_counter() - start)
    np.save(emb_out, vecs)

    intents = sorted(REQUESTS)
    english = enc.embed([REQUESTS[i]["en"] for i in intents])
    hits, margins = 0, []
    for lang in LANGS[1:]:
        sims = enc.embed([REQUESTS[i][lang] for i in intents]) @ english.T
        for row, sim in enumerate(sims):
            others = np.delete(sim, row)
            hits += int(sim[row] > others.max())
            margins.append(float(sim[row] - others.max()))
    _, peak = _rss_mib()
    return {
        "ready_s": t2 - started, "load_s": t2 - t1, "rss_loaded": rss_loaded, "rss_peak": peak,
        "emb_s": best, "p50_ms": 1000 * float(np.median(lat)), "p95_ms": 1000 * float(np.percentile(lat, 95)),
        "xling": f"{hits}/{len(margins)}", "margin": float(np.mean(margins)),
        "precision": f"{enc.info.runtime} {enc.info.precision}", "vocab": enc.info.vocab_size,
    }  # fmt: skip


def agreement(folder: Path) -> int:
    """Print how closely the exported graph embeds the whole corpus like the transformers model."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from inboxbot.classify.encoder import Encoder
    from inboxbot.classify.model import model_text
    from inboxbot.corpus import load_corpus

    texts = [model_text(e.message) for e in load_corpus()]
    onnx = Encoder.load(folder, max_tokens=96, runtime="onnx").embed(texts)
    for precision in ("fp32", "bf16"):
        ref = Encoder.load(folder, max_tokens=96, runtime="transformers", precision=precision).embed(texts)
        cos = np.sum(onnx * ref, axis=1)
        print(f"onnx int8 vs transformers {precision}, {len(texts)} corpus messages @96: cosine mean "
              f"{cos.mean():.4f}, min {cos.min():.4f}, 1st percentile {np.percentile(cos, 1):.4f}")  # fmt: skip
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description="encoder benchmark")
    ap.add_argument("--models", type=Path, default=ROOT / ".models")
    ap.add_argument("--only", help="run only variants whose name contains this")
    ap.add_argument("--agree", action="store_true",
                    help="only: cosine of the ONNX graph to transformers fp32/bf16 on the labelled corpus")
    ap.add_argument("--child", nargs=3, metavar=("FOLDER", "OPTIONS", "EMB_OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        folder, options, out = args.child
        print(json.dumps(run_variant(Path(folder), json.loads(options), Path(out), _process_start())))
        return 0

    if args.agree:
        return agreement(args.models / "e5-small")
    import numpy as np

    rows, embs = [], {}
    tmp = args.models / "bench-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    for n, (name, folder, options) in enumerate(VARIANTS):
        if args.only and args.only not in name and n not in REFERENCES.values():
            continue
        if not (args.models / folder / "config.json").is_file():
            print(f"skip {name}: {args.models / folder} not built (see this file's docstring)")
            continue
        out = tmp / f"{n}.npy"
        cmd = [sys.executable, __file__, "--child", str(args.models / folder), json.dumps(options), str(out)]
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if res.returncode != 0:
            print(f"{name}: failed\n{res.stderr[-2000:]}")
            continue
        rows.append((n, name, json.loads(res.stdout.strip().splitlines()[-1])))
        embs[n] = np.load(out)
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores); 2 threads; lists of 32 texts\n")
    head = "| variant | vocab | ready s | load s | RSS loaded MiB | RSS peak MiB | emb/s | p50 ms | p95 ms | cos vs ref | x-lingual | margin |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for n, name, r in rows:
        ref = embs.get(REFERENCES.get(int(VARIANTS[n][2].get("max_tokens", 64)), -1))  # type: ignore[call-overload]
        cos = float(np.min(np.sum(embs[n] * ref, axis=1))) if ref is not None else float("nan")
        cos_mean = float(np.mean(np.sum(embs[n] * ref, axis=1))) if ref is not None else float("nan")
        print(f"| {name} ({r['precision']}) | {r['vocab']} | {r['ready_s']:.2f} | {r['load_s']:.2f} | "
              f"{r['rss_loaded']:.0f} | {r['rss_peak']:.0f} | {r['emb_s']:.0f} | {r['p50_ms']:.1f} | "
              f"{r['p95_ms']:.1f} | {cos_mean:.4f} (min {cos:.4f}) | {r['xling']} | {r['margin']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
