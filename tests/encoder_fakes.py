"""Encoders for tests of inboxbot.classify.encoder_process: loaded in its child process, so they
live in a module the child can import. Each misbehaves on a word in a text, as a real encoder
might on a message that trips a bug in the runtime."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def vector(text: str) -> np.ndarray:
    """A text's vector: a function of the text alone, as the real encoder's is."""
    digest = hashlib.sha256(text.encode()).digest()
    return np.array(list(digest[:4]), dtype=np.float32)


class WordTrippedEncoder:
    """CRASH: the process dies (as on a segfault). CRASH_ONCE: it dies if `once_file` exists,
    removing it first (so the call succeeds when repeated). RAISE: an exception. HANG: no
    answer for a minute."""

    dim = 4

    def __init__(self, once_file: Path | None = None) -> None:
        self.once_file = once_file

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        joined = " ".join(texts)
        if "CRASH_ONCE" in joined and self.once_file is not None and self.once_file.exists():
            self.once_file.unlink()
            os._exit(3)
        if "CRASH " in joined + " ":
            os._exit(3)
        if "RAISE" in joined:
            raise ValueError("the encoder tripped over RAISE")
        if "HANG" in joined:
            time.sleep(60)
        return np.stack([vector(t) for t in texts]) if texts else np.zeros((0, 4), np.float32)


def load_tripped(once_file: Path | None = None) -> WordTrippedEncoder:
    return WordTrippedEncoder(once_file)


def load_missing() -> WordTrippedEncoder:
    raise FileNotFoundError("no encoder model at /nowhere; run scripts/build_encoder.py")


def load_dying() -> WordTrippedEncoder:
    os._exit(9)  # killed while loading (the OOM killer, say)
