"""Checks on the hand-written EU-language corpus and the automated-mail fixtures.

The corpus feeds classifier training and evaluation, so a malformed line, an unknown label or a
broken split would silently skew every figure computed from it. These tests keep it honest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).parent / "data" / "corpus"
AUTOMATED = CORPUS / "automated"

LANGS = ("de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt")
ALL_LANGS = frozenset(LANGS) | {"sv", "en"}
INTENTS = frozenset(
    {
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
    }
)
STYLES = frozenset(
    {
        "one-liner",
        "short",
        "long",
        "formal-letter",
        "angry",
        "polite",
        "typo",
        "reply-quote",
        "mixed-language",
        "form",
        "mobile",
    }
)
KEYS = {"id", "lang", "labels", "split", "subject", "body", "style"}
KINDS = frozenset({"ooo", "dsn", "list", "newsletter", "receipt", "ticket-ack", "own-loop", "human"})
REQUIRED_HEADERS = ("From", "Subject", "Date", "Message-ID")
MIN_PER_INTENT = 10
ID_RE = re.compile(r"^(?P<lang>[a-z]{2})-(?P<intent>[a-z_]+)-(?P<n>\d{3})$")


def _load(lang: str) -> list[dict[str, Any]]:
    path = CORPUS / f"{lang}.jsonl"
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{path.name}:{lineno} is blank"
        rows.append(json.loads(line))
    return rows


@pytest.mark.parametrize("lang", LANGS)
def test_corpus_lines_follow_the_schema(lang: str) -> None:
    for row in _load(lang):
        assert set(row) == KEYS, f"{row.get('id')}: keys {sorted(row)}"
        rid = str(row["id"])
        assert row["lang"] == lang, rid
        labels = row["labels"]
        assert isinstance(labels, list) and 1 <= len(labels) <= 2, rid
        assert len(set(labels)) == len(labels), f"{rid}: repeated label"
        assert set(labels) <= INTENTS, f"{rid}: unknown label in {labels}"
        assert row["style"] in STYLES, f"{rid}: unknown style {row['style']!r}"
        assert isinstance(row["subject"], str), rid
        assert isinstance(row["body"], str) and row["body"].strip(), f"{rid}: empty body"
        match = ID_RE.match(rid)
        assert match, f"bad id {rid!r}"
        assert match["lang"] == lang and match["intent"] == labels[0], f"{rid}: id disagrees with labels"


@pytest.mark.parametrize("lang", LANGS)
def test_ids_are_unique_and_dense_and_split_follows_the_rule(lang: str) -> None:
    rows = _load(lang)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    numbers: dict[str, list[int]] = {}
    for row in rows:
        match = ID_RE.match(row["id"])
        assert match
        n = int(match["n"])
        numbers.setdefault(match["intent"], []).append(n)
        # Every 4th message of an intent is held out, the rest train.
        expected = "heldout" if n % 4 == 0 else "train"
        assert row["split"] == expected, f"{row['id']}: split {row['split']!r}, want {expected!r}"
    for intent, ns in numbers.items():
        assert sorted(ns) == list(range(1, len(ns) + 1)), f"{lang}-{intent}: numbering has gaps"


@pytest.mark.parametrize("lang", LANGS)
def test_every_intent_is_covered(lang: str) -> None:
    rows = _load(lang)
    per_intent = Counter(row["labels"][0] for row in rows)
    short = {i: per_intent[i] for i in INTENTS if per_intent[i] < MIN_PER_INTENT}
    assert not short, f"{lang}: too few messages for {short}"
    heldout = Counter(row["labels"][0] for row in rows if row["split"] == "heldout")
    assert all(heldout[i] >= 2 for i in INTENTS), f"{lang}: held-out set too thin: {heldout}"


@pytest.mark.parametrize("lang", LANGS)
def test_texts_are_not_duplicated(lang: str) -> None:
    bodies = Counter(row["body"].strip().lower() for row in _load(lang))
    dupes = [body[:60] for body, n in bodies.items() if n > 1]
    assert not dupes, f"{lang}: duplicated bodies {dupes}"


def test_some_messages_carry_two_intents() -> None:
    rows = [row for lang in LANGS for row in _load(lang)]
    multi = sum(1 for row in rows if len(row["labels"]) == 2)
    assert 0.05 <= multi / len(rows) <= 0.2, f"{multi} of {len(rows)} have two labels"


def test_only_example_addresses_appear() -> None:
    # A privacy corpus must not carry anyone's real address.
    address = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
    for lang in LANGS:
        for row in _load(lang):
            for domain in address.findall(row["subject"] + "\n" + row["body"]):
                assert re.match(r"^example(-[\w-]+)?\.[a-z]{2,3}$", domain.lower()), (
                    f"{row['id']}: non-example domain {domain}"
                )


# --- automated mail -------------------------------------------------------------------------


def _labels() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((AUTOMATED / "labels.json").read_text("utf-8"))
    return data


def _eml_files() -> list[Path]:
    return sorted(AUTOMATED.rglob("*.eml"))


def _key(path: Path) -> str:
    return path.relative_to(AUTOMATED).as_posix()


def _parse(path: Path) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_eml_is_labelled_and_every_label_has_a_file() -> None:
    labels = _labels()
    files = {_key(p) for p in _eml_files()}
    assert files - set(labels) == set(), "files missing from labels.json"
    assert set(labels) - files == set(), "labels.json names files that do not exist"


def test_label_entries_are_well_formed() -> None:
    for name, entry in _labels().items():
        assert entry["kind"] in KINDS, name
        assert entry["lang"] in ALL_LANGS, name
        assert isinstance(entry["automated"], bool), name
        is_human = entry["kind"] == "human"
        assert entry["automated"] is not is_human, f"{name}: automated flag contradicts kind"
        assert name.startswith("human/") == is_human, f"{name}: human mail lives in human/"
        if is_human:
            assert entry["labels"] and set(entry["labels"]) <= INTENTS, name
        else:
            assert not entry.get("labels"), f"{name}: automated mail carries no intent"
        missing = entry.get("missing_headers", [])
        assert set(missing) <= set(REQUIRED_HEADERS), name


def test_enough_automated_and_human_files() -> None:
    labels = _labels()
    automated = [e for e in labels.values() if e["automated"]]
    human = [e for e in labels.values() if not e["automated"]]
    assert len(automated) >= 80
    assert len(human) >= 20
    kinds = Counter(e["kind"] for e in automated)
    assert all(kinds[k] >= 1 for k in KINDS - {"human"}), kinds
    ooo_langs = {e["lang"] for e in automated if e["kind"] == "ooo"}
    assert ooo_langs == ALL_LANGS, f"out-of-office replies missing for {ALL_LANGS - ooo_langs}"


@pytest.mark.parametrize("path", _eml_files(), ids=_key)
def test_eml_parses_with_required_headers(path: Path) -> None:
    msg = _parse(path)
    entry = _labels()[_key(path)]
    missing = set(entry.get("missing_headers", []))
    for name in REQUIRED_HEADERS:
        present = msg[name] is not None
        # Either the header is there, or labels.json says it was left out on purpose.
        assert present is (name not in missing), f"{_key(path)}: {name} present={present}"
    # Walking every part forces decoding, so a broken MIME structure shows up here.
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            part.get_content()


@pytest.mark.parametrize("path", _eml_files(), ids=_key)
def test_structural_markers_match_kind(path: Path) -> None:
    msg = _parse(path)
    kind = _labels()[_key(path)]["kind"]
    if kind == "dsn":
        # Some servers still send plain-text bounces; those at least come from the mailer daemon.
        report = msg.get_content_type() == "multipart/report"
        sender = str(msg["From"] or "").lower()
        assert report or "mailer-daemon" in sender or "postmaster" in sender
        if report:
            assert msg.get_param("report-type") == "delivery-status"
            assert any(p.get_content_type() == "message/delivery-status" for p in msg.walk())
    elif kind == "receipt":
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "disposition-notification"
    elif kind == "list":
        assert msg["List-Id"] is not None
    elif kind == "newsletter":
        assert msg["List-Unsubscribe"] is not None
    elif kind == "own-loop":
        assert msg["X-Inboxbot-Ref"] is not None
    elif kind == "human":
        assert str(msg.get("Auto-Submitted", "no")).strip().lower() == "no"
        assert msg["Precedence"] is None and msg["X-Autoreply"] is None
