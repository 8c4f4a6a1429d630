"""What the encoder reads of a message: the start, and for long letters the end as well."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inboxbot.classify.model import (
    LONG_CHARS,
    TAIL_CHARS,
    message_embeddings,
    model_text,
    tail_text,
)
from tests.helpers_inbound import make_inbound


class _LetterCounter:
    """Embeds a text as a unit vector along one axis per first letter: enough to see which texts
    were read and how their vectors were combined."""

    dim = 26

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            body = text.split("\n", 1)[1]
            out[row, ord(body[0].lower()) - ord("a")] = 1.0
        return out


def test_a_short_letter_is_read_once() -> None:
    msg = make_inbound("Radera mina uppgifter, tack.", subject="Radera")
    assert tail_text(msg) is None


def test_a_long_letter_adds_its_end_starting_at_a_word() -> None:
    background = "Bakgrund om mitt konto och allt som hänt sedan i våras. " * 12
    ask = "Zäta: jag begär därför att ni begränsar behandlingen tills tvisten är avgjord."
    msg = make_inbound(background + ask, subject="Mitt ärende")
    assert len(msg.subject) + 1 + len(" ".join(msg.body.split())) >= LONG_CHARS
    tail = tail_text(msg)
    assert tail is not None and tail.startswith("Mitt ärende\n") and tail.endswith("avgjord.")
    end = tail.split("\n", 1)[1]
    assert len(end) <= TAIL_CHARS and (" " + end) in " ".join(msg.body.split())
    assert ask not in model_text(msg)  # the start alone would not have read the ask


def test_embeddings_average_start_and_end_and_keep_message_order() -> None:
    long_msg = make_inbound("Background. " * 40 + "zero " * 60, subject="S")  # the last 250 chars: zeros
    short_msg = make_inbound("Delete me.", subject="S")
    embedder = _LetterCounter()
    emb = message_embeddings(embedder, [long_msg, short_msg])
    assert embedder.seen[:2] == [model_text(long_msg), model_text(short_msg)] and len(embedder.seen) == 3
    b, d, z = (ord(c) - ord("a") for c in "bdz")
    assert np.allclose(emb[0, [b, z]], [2 ** -0.5, 2 ** -0.5])  # start "B...", end "zero ..."
    assert emb[1, d] == 1.0 and np.allclose(np.linalg.norm(emb, axis=1), 1.0)
