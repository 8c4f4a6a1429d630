"""Checks on the labelled classifier corpus in tests/data/corpus/ (see its README).

Every line must be a well-formed record; the split rule and the minimum counts per intent must
hold, so that a classifier trained on `train` and scored on `heldout` sees every intent in both
languages. Some checks also guard the privacy rules: no real-looking personal identity numbers
and only reserved example domains in addresses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from inboxbot.domain import Intent

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
LANGS = ("sv", "en")
# auto_reply is recognised from headers, not written by people, so the corpus has none.
LABELS = frozenset(i.value for i in Intent) - {"auto_reply"}
STYLES = frozenset(
    {
        "one-liner", "short", "long", "formal-letter", "angry", "polite", "typo",
        "forwarded", "reply-quote", "mixed-language", "form", "mobile",
    }
)
KEYS = frozenset({"id", "lang", "labels", "split", "subject", "body", "style"})
MIN_PER_INTENT = 40
ID_RE = re.compile(r"^(sv|en)-([a-z_]+)-(\d{3})$")
# Ten digits with a dash after six (or eight) look like a Swedish personnummer: none allowed.
PNR_RE = re.compile(r"\b(\d{2})?\d{6}[-+]\d{4}\b")
EMAIL_RE = re.compile(r"[\w.+'-]+@([\w-]+(?:\.[\w-]+)+)")
EXAMPLE_DOMAIN_RE = re.compile(r"(^|\.)example\.(se|com|org|net)$")
# Mobile numbers must come from the ranges set aside for fiction: PTS's 070-174 06 05..99
# (Sweden) and Ofcom's 07700 900000..900999 (UK).
SE_MOBILE_RE = re.compile(r"(?:\+46 ?|\b0)(7\d(?:[- ]?\d){7})\b")
UK_MOBILE_RE = re.compile(r"\b07\d{3} ?\d{6}\b")


def _load(lang: str) -> list[dict[str, Any]]:
    path = CORPUS_DIR / f"{lang}.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module", params=LANGS)
def records(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, _load(request.param)


def test_every_line_is_a_json_object(records: tuple[str, list[dict[str, Any]]]) -> None:
    lang, _ = records
    lines = (CORPUS_DIR / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines, "empty corpus file"
    for n, line in enumerate(lines, 1):
        assert line.strip(), f"{lang}.jsonl line {n} is blank"
        assert isinstance(json.loads(line), dict), f"{lang}.jsonl line {n}"


def test_schema(records: tuple[str, list[dict[str, Any]]]) -> None:
    lang, rows = records
    for r in rows:
        assert set(r) == KEYS, r.get("id")
        assert r["lang"] == lang, r["id"]
        for key in ("id", "subject", "body", "style", "split"):
            assert isinstance(r[key], str), (r["id"], key)
        assert r["body"].strip(), r["id"]
        assert r["style"] in STYLES, r["id"]
        assert r["split"] in ("train", "heldout"), r["id"]


def test_labels_known_and_at_most_two(records: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = records
    for r in rows:
        labels = r["labels"]
        assert isinstance(labels, list) and 1 <= len(labels) <= 2, r["id"]
        assert all(label in LABELS for label in labels), r["id"]
        assert len(set(labels)) == len(labels), r["id"]


def test_ids_unique_and_named_after_main_intent(records: tuple[str, list[dict[str, Any]]]) -> None:
    lang, rows = records
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    numbers: dict[str, list[int]] = {}
    for r in rows:
        m = ID_RE.match(r["id"])
        assert m, r["id"]
        assert m.group(1) == lang, r["id"]
        assert m.group(2) == r["labels"][0], f"{r['id']}: id names another intent than labels[0]"
        numbers.setdefault(m.group(2), []).append(int(m.group(3)))
    for intent, nums in numbers.items():
        assert sorted(nums) == list(range(1, len(nums) + 1)), f"{lang} {intent}: gaps in numbering"


def test_split_rule_every_fourth_is_heldout(records: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = records
    for r in rows:
        number = int(r["id"].rsplit("-", 1)[1])
        expected = "heldout" if number % 4 == 0 else "train"
        assert r["split"] == expected, r["id"]


def test_minimum_count_per_intent(records: tuple[str, list[dict[str, Any]]]) -> None:
    lang, rows = records
    counts = Counter(r["labels"][0] for r in rows)
    for intent in sorted(LABELS):
        assert counts[intent] >= MIN_PER_INTENT, f"{lang} {intent}: {counts[intent]}"


def test_some_but_not_most_messages_carry_two_intents(
    records: tuple[str, list[dict[str, Any]]],
) -> None:
    _, rows = records
    share = sum(len(r["labels"]) > 1 for r in rows) / len(rows)
    assert 0.08 <= share <= 0.20, share


def test_no_duplicate_bodies(records: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = records
    bodies = Counter(" ".join(r["body"].split()).lower() for r in rows)
    assert [b[:60] for b, n in bodies.items() if n > 1] == []


def test_styles_carry_their_marks(records: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = records
    for r in rows:
        body = r["body"]
        if r["style"] == "reply-quote":
            assert re.search(r"(skrev|wrote|Original Message|Ursprungligt meddelande)", body), r["id"]
            assert re.search(r"^>", body, re.M), r["id"]
        elif r["style"] == "form":
            assert re.search(r"^(Namn|Name|Förnamn|First name|Full name|E-post|Email)\b", body, re.M | re.I), r["id"]


def test_styles_are_varied(records: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = records
    assert {r["style"] for r in rows} == STYLES


def test_no_real_looking_identity_numbers_or_addresses(
    records: tuple[str, list[dict[str, Any]]],
) -> None:
    _, rows = records
    for r in rows:
        text = r["subject"] + "\n" + r["body"]
        assert not PNR_RE.search(text), r["id"]
        for domain in EMAIL_RE.findall(text):
            assert EXAMPLE_DOMAIN_RE.search(domain.lower()), (r["id"], domain)
        for number in SE_MOBILE_RE.findall(text):
            digits = re.sub(r"\D", "", number)
            assert digits.startswith("7017406") and int(digits[-2:]) >= 5, (r["id"], number)
        for number in UK_MOBILE_RE.findall(text):
            assert re.sub(r"\D", "", number).startswith("07700900"), (r["id"], number)


def test_heldout_share_is_a_quarter() -> None:
    rows = [r for lang in LANGS for r in _load(lang)]
    share = sum(r["split"] == "heldout" for r in rows) / len(rows)
    assert 0.22 <= share <= 0.28


def test_readme_counts_match_the_corpus() -> None:
    """The README's table is scripts/corpus_stats.py output; editing the corpus means rerunning it."""
    from scripts.corpus_stats import load, table

    readme = (CORPUS_DIR / "README.md").read_text(encoding="utf-8")
    assert table(load(CORPUS_DIR)) in readme
