#!/usr/bin/env python3
"""Train the intent head on the labelled corpus and save it beside the code.

    python scripts/train_classifier.py [--model .models/e5-small] [--out inboxbot/classify/data/head.npz]

Reproducible: the corpus is read in a fixed order, the encoder is deterministic, and the head is
fitted from a zero start by full-batch Adam (inboxbot/classify/head.py), so the same inputs give
the same weights. Only the `train` split is used; the `heldout` split is for `inboxbot eval`.
Automated mail is not trained on: rules recognise it from its headers.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inboxbot.classify.encoder import Encoder  # noqa: E402
from inboxbot.classify.head import calibrate, fit  # noqa: E402
from inboxbot.classify.model import RULE_SECTIONS, features  # noqa: E402
from inboxbot.classify.rules import RuleClassifier  # noqa: E402
from inboxbot.corpus import DEFAULT_CORPUS, load_corpus  # noqa: E402

LABELS = tuple(s for s in RULE_SECTIONS if s != "breach")


def _group(example_id: str) -> int:
    tail = example_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else zlib.crc32(example_id.encode())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / ".models" / "e5-small")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--lexicons", type=Path, default=ROOT / "prompts" / "lexicon")
    ap.add_argument("--out", type=Path, default=ROOT / "inboxbot" / "classify" / "data" / "head.npz")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--l2", type=float, default=1e-2)
    ap.add_argument("--folds", type=int, default=5, help="for calibrating the confidence")
    ap.add_argument("--epochs", type=int, default=600)
    args = ap.parse_args(argv)

    start = time.perf_counter()
    examples = [e for e in load_corpus(args.corpus) if e.split == "train" and not e.automated]
    encoder = Encoder.load(args.model, max_tokens=args.max_tokens)
    rules = RuleClassifier(args.lexicons)
    x = features(encoder, rules, [e.message for e in examples])
    y = np.array([[1.0 if lab in e.labels else 0.0 for lab in LABELS] for e in examples])
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.id}\t{','.join(e.labels)}\n".encode())
    # Out-of-fold predictions (fixed folds: every k-th message) say how often the top label is
    # right at each probability; the final head's confidence is scaled to match.
    # Translations of one letter share its number across languages (sv-erasure-013,
    # en-erasure-013): fold by that number so no letter is judged by a model that saw its twin.
    folds = np.array([_group(e.id) % args.folds for e in examples])
    top = np.zeros(len(examples))
    correct = np.zeros(len(examples))
    for k in range(args.folds):
        part = fit(x[folds != k], y[folds != k], LABELS, l2=args.l2, epochs=args.epochs)
        probs = part.predict_proba(x[folds == k])
        top[folds == k] = probs.max(axis=1)
        correct[folds == k] = y[folds == k][np.arange(len(probs)), probs.argmax(axis=1)] > 0
    calibration = calibrate(top, correct)
    print(f"out-of-fold accuracy {correct.mean():.3f}; calibration slope {calibration[0]:.3f}, "
          f"intercept {calibration[1]:.3f}")
    head = fit(x, y, LABELS, l2=args.l2, epochs=args.epochs, meta={
        "max_tokens": str(args.max_tokens),
        "encoder": encoder.info.path.name,
        "train_examples": str(len(examples)),
        "corpus_sha256": digest.hexdigest(),
        "l2": str(args.l2),
        "epochs": str(args.epochs),
        "oof_accuracy": f"{correct.mean():.4f}",
    })
    head = dataclasses.replace(head, calibration=calibration)
    head.save(args.out)
    print(f"trained on {len(examples)} messages ({x.shape[1]} features) in "
          f"{time.perf_counter() - start:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
