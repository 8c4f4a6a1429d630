"""The exported ONNX encoder: built by scripts/export_encoder.py from the transformers model, it
must embed like that model (the head was trained on one of them), load without torch, and be
chosen by runtime="auto" only where it exists.

The graph is built here, into a copy of the model folder, so the export script itself is under
test (about 30 s). Skipped when the built encoder folder or the build tools are missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from inboxbot.classify.encoder import Encoder, onnx_graph

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("INBOXBOT_ENCODER_DIR", ROOT / ".models" / "e5-small"))
FOLDER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def _export_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_encoder", ROOT / "scripts" / "export_encoder.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder holding the transformers files (linked) and a freshly exported graph."""
    if not (MODEL_DIR / "config.json").is_file():
        pytest.skip(f"no built encoder at {MODEL_DIR}")
    folder = tmp_path_factory.mktemp("e5")
    for name in FOLDER_FILES:
        (folder / name).symlink_to(MODEL_DIR / name)
    _export_module().export(folder, "int8")
    return folder


def _corpus_texts(n: int) -> list[str]:
    """Model inputs of the first n training requests, as the classifier builds them."""
    from inboxbot.classify.model import model_text
    from inboxbot.corpus import load_corpus

    examples = [e for e in load_corpus() if e.split == "train" and not e.automated]
    return [model_text(e.message) for e in examples[:n]]


def test_export_writes_graph_and_note(exported: Path) -> None:
    graph = onnx_graph(exported)
    note = json.loads(graph.with_suffix(".json").read_text())
    assert note["sha256"] == hashlib.sha256(graph.read_bytes()).hexdigest()
    # Every layer's attention and both LayerNorms fused: otherwise the graph runs at half speed.
    assert note["fused"]["Attention"] == 12
    assert note["fused"]["SkipLayerNormalization"] == 24


def test_export_is_reproducible(exported: Path) -> None:
    """The installed graph (built by setup.sh from the same folder and tool versions) is
    byte-identical to the one built here: the build is a pure function of its inputs."""
    installed = onnx_graph(MODEL_DIR)
    if not installed.is_file():
        pytest.skip("no installed graph to compare with")
    ours = json.loads(onnx_graph(exported).with_suffix(".json").read_text())
    theirs = json.loads(installed.with_suffix(".json").read_text())
    if ours["versions"] != theirs["versions"]:
        pytest.skip(f"installed graph made by other tool versions: {theirs['versions']}")
    assert ours["sha256"] == theirs["sha256"]


def test_onnx_agrees_with_transformers(exported: Path) -> None:
    texts = _corpus_texts(160)
    onnx = Encoder.load(exported, max_tokens=96, runtime="onnx", batch_size=32)
    ref = Encoder.load(exported, max_tokens=96, runtime="transformers", precision="fp32", batch_size=32)
    assert (onnx.info.runtime, onnx.info.precision) == ("onnx", "int8")
    assert ref.info.runtime == "transformers"
    a, b = onnx.embed(texts), ref.embed(texts)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    cos = np.sum(a * b, axis=1)
    assert cos.min() > 0.99, f"worst cosine {cos.min():.4f}"
    assert cos.mean() > 0.995


def test_onnx_vector_depends_on_the_text_alone(exported: Path) -> None:
    # Dynamic int8 takes one activation scale per matrix: run batched, a text's batch mates
    # would move its rounding, and a verdict near a threshold could change on a replay after a
    # crash (the crash test caught exactly that). The int8 graph therefore runs one text at a
    # time, whatever batch size is asked for.
    enc = Encoder.load(exported, max_tokens=96, runtime="onnx", batch_size=8)
    texts = _corpus_texts(24)
    together = enc.embed(texts)
    alone = np.stack([enc.embed([t])[0] for t in texts[:6]])
    shuffled = enc.embed(texts[::-1])[::-1]
    np.testing.assert_array_equal(together[:6], alone)
    np.testing.assert_array_equal(together, shuffled)


def test_auto_picks_onnx_only_where_built(exported: Path, tmp_path: Path) -> None:
    assert Encoder.load(exported).info.runtime == "onnx"
    # bf16 and truncated layers exist only in the transformers runtime.
    assert Encoder.load(exported, layers=2).info.runtime == "transformers"
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in FOLDER_FILES:
        (bare / name).symlink_to(MODEL_DIR / name)
    assert Encoder.load(bare).info.runtime == "transformers"
    with pytest.raises(FileNotFoundError, match="export_encoder"):
        Encoder.load(bare, runtime="onnx")
    with pytest.raises(ValueError, match="layers"):
        Encoder.load(exported, runtime="onnx", layers=2)


def test_onnx_runtime_never_imports_torch(exported: Path) -> None:
    """What makes the worker start fast and small: loading and running the classifier on the
    ONNX runtime leaves torch and transformers unimported."""
    code = (
        "import sys\n"
        "from pathlib import Path as P\nfrom inboxbot.classify.model import load_model_classifier\n"
        "from inboxbot.parse import parse\n"
        f"clf = load_model_classifier(P({str(exported)!r}), P({str(ROOT / 'inboxbot/classify/data/head.npz')!r}),"
        f" P({str(ROOT / 'prompts/lexicon')!r}), 0.55, runtime='onnx')\n"
        "raw = b'From: a@example.se\\r\\nTo: privacy@example.com\\r\\nSubject: Radera mig\\r\\n\\r\\n"
        "Hej, radera alla mina uppgifter.\\r\\n'\n"
        "print(clf.classify([parse(raw)])[0].label.value)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    label, imported = out.stdout.strip().splitlines()[-2:]
    assert label == "erasure"
    assert imported == "[]"
