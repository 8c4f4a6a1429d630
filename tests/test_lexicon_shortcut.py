"""Lexicon.find's shortcut (one search per group of phrases before the search per phrase) may
only ever save time: on every text of the labelled corpus, in every shipped lexicon, find
gives exactly the hits it gives without the shortcut."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from inboxbot.classify.lexicon import Lexicon, load_lexicons, normalise
from inboxbot.config import DEFAULT_PROMPTS

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"


def _without_shortcut(lexicon: Lexicon) -> Lexicon:
    plain = dataclasses.replace(lexicon)
    object.__setattr__(plain, "phrase_groups", ((None, 0, len(lexicon.phrases)),))
    return plain


def _texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                texts.append(normalise(f"{rec['subject']}\n\n{rec['body']}"))
    return texts


def test_every_shipped_lexicon_has_the_shortcut() -> None:
    lexicons = load_lexicons(DEFAULT_PROMPTS / "lexicon")
    assert lexicons
    for lexicon in lexicons.values():
        groups = lexicon.phrase_groups
        assert groups and all(g is not None for g, _, _ in groups)
        assert [i for _, start, end in groups for i in range(start, min(end, len(lexicon.phrases)))] \
            == list(range(len(lexicon.phrases)))  # every phrase in exactly one group, in order


def test_find_with_and_without_the_shortcut_agree_on_the_corpus() -> None:
    lexicons = load_lexicons(DEFAULT_PROMPTS / "lexicon")
    texts = _texts()
    assert len(texts) > 3000
    skipped = 0
    for lexicon in lexicons.values():
        plain = _without_shortcut(lexicon)
        for text in texts:
            hits = lexicon.find(text)
            assert hits == plain.find(text)
            skipped += not hits
    assert skipped > 0  # the shortcut was taken (else this compared nothing of it)
