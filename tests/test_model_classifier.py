"""The learned classifier: the real encoder and the committed head (skipped without them)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inboxbot.classify.head import LinearHead, calibrate, fit
from inboxbot.config import DEFAULT_HEAD, DEFAULT_MODEL, Settings
from inboxbot.domain import Intent
from tests.helpers_inbound import make_inbound

pytest.importorskip("torch")
pytest.importorskip("transformers")
needs_model = pytest.mark.skipif(not (DEFAULT_MODEL / "config.json").is_file(),
                                 reason="encoder not built (scripts/setup.sh builds it)")


def test_head_training_is_deterministic() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(120, 12)).astype(np.float32)
    y = (x[:, :3] > 0).astype(np.float32)
    a = fit(x, y, ("a", "b", "c"), epochs=200)
    b = fit(x, y, ("a", "b", "c"), epochs=200)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    # and it learns: each label follows its own feature's sign
    assert ((a.predict_proba(x) > 0.5) == (y > 0)).mean() > 0.95


def test_calibration_maps_overconfidence_down(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    top = rng.uniform(0.5, 1.0, 2000)
    correct = rng.uniform(0, 1, 2000) < (top - 0.3)  # right less often than the score says
    slope, intercept = calibrate(top, correct)
    head = LinearHead(("a",), np.zeros((1, 1)), np.zeros(1), np.zeros(1), np.ones(1), {},
                      (slope, intercept))
    assert head.confidence(np.array([0.9]))[0] < 0.8
    head.save(tmp_path / "h.npz")
    assert LinearHead.load(tmp_path / "h.npz").calibration == pytest.approx((slope, intercept))


@pytest.fixture(scope="module")
def classifier():  # type: ignore[no-untyped-def]
    from inboxbot.classify import make_classifier

    return make_classifier(replace(Settings(), classifier=replace(Settings().classifier, kind="model")))


@needs_model
def test_committed_head_matches_the_encoder() -> None:
    head = LinearHead.load(DEFAULT_HEAD)
    assert head.labels == tuple(i.value for i in Intent if i != Intent.AUTO_REPLY)
    assert head.weights.shape[0] == 384 + 11  # e5-small embedding + rule sections


@needs_model
@pytest.mark.parametrize(
    ("subject", "body", "lang", "expected"),
    [
        ("Radera mig", "Hej, radera mina uppgifter och sluta skicka nyhetsbrev till mig.", "sv",
         {Intent.ERASURE, Intent.UNSUBSCRIBE}),
        ("", "Please send me a copy of all the personal data you hold about me.", "en", {Intent.ACCESS}),
        ("Datenauskunft", "Bitte teilen Sie mir mit, welche personenbezogenen Daten Sie über mich "
         "speichern (Art. 15 DSGVO).", "de", {Intent.ACCESS}),
        ("Suppression", "Merci de supprimer mon compte et toutes mes données personnelles.", "fr",
         {Intent.ERASURE}),
        ("Offert", "Hej, kan ni skicka pris på 40 licenser för vårt kontor i Lund?", "sv", {Intent.GENERAL}),
    ],
)
def test_intents(classifier, subject: str, body: str, lang: str, expected: set[Intent]) -> None:  # type: ignore[no-untyped-def]
    [v] = classifier.classify([make_inbound(body, subject, language=lang)])
    assert {s.intent for s in v.intents} == expected, v
    assert v.reasons and v.reasons[0].startswith("model")


@needs_model
def test_unsure_is_general_and_flagged(classifier) -> None:  # type: ignore[no-untyped-def]
    [v] = classifier.classify([make_inbound("qwz plf 77 xx", "", language="und")])
    if v.needs_review:
        assert v.label == Intent.GENERAL and v.reasons[0].startswith("model unsure")
    else:  # a confident call on noise must at least be "general"
        assert v.label == Intent.GENERAL


@needs_model
def test_automated_mail_never_reaches_the_model(classifier) -> None:  # type: ignore[no-untyped-def]
    msg = make_inbound("I am out of the office until Monday.", "Automatic reply: Your request",
                       language="en", headers=(("auto-submitted", "auto-replied"),))
    [v] = classifier.classify([msg])
    assert v.automated and v.label == Intent.AUTO_REPLY
    assert not any(r.startswith("model") for r in v.reasons)


@needs_model
def test_classify_cli_contract(tmp_path: Path) -> None:
    eml = tmp_path / "a.eml"
    eml.write_bytes(b"From: a@example.se\r\nSubject: Avregistrera\r\n\r\nAvregistrera mig fran nyhetsbrevet tack\r\n")
    bounce = Path(__file__).parent / "fixtures" / "automated"
    dsn = sorted(bounce.glob("*postfix*"))[0]
    out = subprocess.run([sys.executable, "-m", "inboxbot.cli", "classify", "--json", str(eml), str(dsn)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert [r["file"] for r in rows] == [str(eml), str(dsn)]
    for r in rows:
        assert {"file", "label", "confidence", "language", "automated", "intents", "reasons"} <= set(r)
        assert 0 <= r["confidence"] <= 1 and len(r["language"]) in (2, 3)
    assert rows[0]["label"] == "unsubscribe" and rows[0]["automated"] is False
    assert rows[1]["label"] == "auto_reply" and rows[1]["automated"] is True


def test_hidden_layer_head_is_deterministic_and_survives_save(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    # XOR of two signs: no single linear boundary, one hidden layer learns it
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.float32).reshape(-1, 1)
    a = fit(x, y, ("xor",), hidden=16, epochs=400, learning_rate=0.02, l2=1e-4)
    b = fit(x, y, ("xor",), hidden=16, epochs=400, learning_rate=0.02, l2=1e-4)
    assert a.hidden_weights is not None and b.hidden_weights is not None
    assert np.array_equal(a.hidden_weights, b.hidden_weights) and np.array_equal(a.weights, b.weights)
    assert ((a.predict_proba(x) > 0.5) == (y > 0)).mean() > 0.9
    a.save(tmp_path / "h.npz")
    loaded = LinearHead.load(tmp_path / "h.npz")
    assert np.allclose(loaded.predict_proba(x), a.predict_proba(x))


def test_feature_gain_is_folded_into_the_saved_scale() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    head = fit(x, y, ("a",), feature_gain=np.array([1.0, 1.0, 4.0]), epochs=50)
    assert head.scale[2] == pytest.approx(x[:, 2].std() / 4.0, rel=1e-3)


def test_committed_head_was_trained_by_the_script_on_this_corpus() -> None:
    # head.npz has one source of truth: scripts/train_classifier.py with its defaults on the
    # corpus's train split. A corpus or default edited without a retrain shows up here.
    from inboxbot.corpus import load_corpus
    from scripts.train_classifier import build_parser, corpus_digest

    head = LinearHead.load(DEFAULT_HEAD)
    examples = [e for e in load_corpus() if e.split == "train" and not e.automated]
    assert head.meta["corpus_sha256"] == corpus_digest(examples)
    assert head.meta["train_examples"] == str(len(examples))
    defaults = vars(build_parser().parse_args([]))
    for name in ("l2", "epochs", "pos_power", "lang_power", "rule_gain", "hidden", "learning_rate"):
        assert float(head.meta[name]) == float(defaults[name]), name
    assert head.meta["max_tokens"] == str(defaults["max_tokens"])
