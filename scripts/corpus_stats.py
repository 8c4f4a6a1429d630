"""Print the labelled corpus's counts per language x intent x split, as a Markdown table.

Usage: python scripts/corpus_stats.py [CORPUS_DIR]

The README's counts table is this script's output pasted in; rerun it after editing the corpus.
Counts go to a message's main intent (its first label), as the ids and the split rule do.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

INTENTS = (
    "access",
    "erasure",
    "rectification",
    "objection",
    "restriction",
    "portability",
    "consent_withdrawal",
    "unsubscribe",
    "complaint",
    "general",
)
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"


def load(corpus_dir: Path) -> list[dict[str, object]]:
    """Every record of every `*.jsonl` file in `corpus_dir`, in file order."""
    rows: list[dict[str, object]] = []
    for path in sorted(corpus_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """Markdown table: one row per intent, train/heldout/total columns per language."""
    langs = sorted({str(r["lang"]) for r in rows})
    counts: Counter[tuple[str, str, str]] = Counter()
    multi: Counter[str] = Counter()
    for r in rows:
        labels = r["labels"]
        assert isinstance(labels, list)
        counts[(str(r["lang"]), str(labels[0]), str(r["split"]))] += 1
        if len(labels) > 1:
            multi[str(r["lang"])] += 1
    head = ["intent"] + [f"{lang} {col}" for lang in langs for col in ("train", "heldout", "total")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for intent in INTENTS + ("total",):
        cells = [intent]
        for lang in langs:
            if intent == "total":
                tr = sum(v for (lg, _, sp), v in counts.items() if lg == lang and sp == "train")
                ho = sum(v for (lg, _, sp), v in counts.items() if lg == lang and sp == "heldout")
            else:
                tr, ho = counts[(lang, intent, "train")], counts[(lang, intent, "heldout")]
            cells += [str(tr), str(ho), str(tr + ho)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for lang in langs:
        total = sum(v for (lg, _, _), v in counts.items() if lg == lang)
        share = multi[lang] / total if total else 0.0
        lines.append(f"- {lang}: {multi[lang]} of {total} messages carry two intents ({share:.0%})")
    styles = Counter(str(r["style"]) for r in rows)
    lines.append("- styles (both languages): " + ", ".join(f"{s} {n}" for s, n in sorted(styles.items())))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    corpus_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_DIR
    print(table(load(corpus_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
