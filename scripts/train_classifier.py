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
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inboxbot.classify.encoder import Encoder  # noqa: E402
from inboxbot.classify.head import fit  # noqa: E402
from inboxbot.classify.model import RULE_SECTIONS, features  # noqa: E402
from inboxbot.classify.rules import RuleClassifier  # noqa: E402
from inboxbot.corpus import DEFAULT_CORPUS, load_corpus  # noqa: E402

LABELS = tuple(s for s in RULE_SECTIONS if s != "breach")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / ".models" / "e5-small")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--lexicons", type=Path, default=ROOT / "prompts" / "lexicon")
    ap.add_argument("--out", type=Path, default=ROOT / "inboxbot" / "classify" / "data" / "head.npz")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--l2", type=float, default=1e-2)
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
    head = fit(x, y, LABELS, l2=args.l2, epochs=args.epochs, meta={
        "max_tokens": str(args.max_tokens),
        "encoder": encoder.info.path.name,
        "train_examples": str(len(examples)),
        "corpus_sha256": digest.hexdigest(),
        "l2": str(args.l2),
        "epochs": str(args.epochs),
    })
    head.save(args.out)
    print(f"trained on {len(examples)} messages ({x.shape[1]} features) in "
          f"{time.perf_counter() - start:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
