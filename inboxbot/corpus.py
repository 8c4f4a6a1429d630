"""The labelled corpus (tests/data/corpus/) as parsed messages, for training and evaluation.

Requests are JSON lines ({id, lang, labels, split, subject, body, style}); each is turned into a
real RFC 5322 message and run through the real parser, so that quoted history, signatures and
language detection behave exactly as in production. Automated mail is kept as .eml files with
their labels in automated/labels.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from inboxbot.domain import Inbound
from inboxbot.parse import parse

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"


@dataclass(frozen=True)
class Example:
    id: str
    lang: str
    labels: tuple[str, ...]  # main intent first; ("auto_reply",) for automated mail
    split: str  # "train" or "heldout"
    automated: bool
    message: Inbound


def _as_email(record: dict[str, object]) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"sender-{record['id']}@example.se"
    msg["To"] = "privacy@example.com"
    msg["Subject"] = str(record.get("subject") or "")
    msg["Message-ID"] = f"<{record['id']}@corpus.example>"
    msg["Date"] = "Mon, 02 Nov 2026 09:00:00 +0100"
    msg.set_content(str(record["body"]), charset="utf-8")
    return msg.as_bytes()


def _requests(root: Path) -> Iterator[Example]:
    for path in sorted(root.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            yield Example(str(rec["id"]), str(rec["lang"]), tuple(rec["labels"]), str(rec["split"]),
                          False, parse(_as_email(rec)))


def _automated(root: Path) -> Iterator[Example]:
    folder = root / "automated"
    labels_file = folder / "labels.json"
    if not labels_file.exists():
        return
    labels: dict[str, dict[str, object]] = json.loads(labels_file.read_text(encoding="utf-8"))
    for n, (name, meta) in enumerate(sorted(labels.items())):
        path = folder / name
        if not path.exists():
            continue
        automated = bool(meta.get("automated"))
        gold = ("auto_reply",) if automated else tuple(meta.get("labels") or ("general",))  # type: ignore[arg-type]
        # Same rule as the requests: every 4th file is held out.
        split = "heldout" if n % 4 == 3 else "train"
        yield Example(f"automated/{name}", str(meta.get("lang", "und")), gold, split, automated,
                      parse(path.read_bytes()))


def load_corpus(root: Path = DEFAULT_CORPUS) -> list[Example]:
    return [*_requests(root), *_automated(root)]
