"""Export the encoder folder to one int8 ONNX graph that runs without torch or transformers.

    python scripts/export_encoder.py [--model .models/e5-small] [--precision int8|fp32]

Writes ``encoder-int8.onnx`` (or ``encoder-fp32.onnx``) into the model folder, beside the
transformers files it was made from, plus ``encoder-int8.json`` recording how. At run time
``inboxbot.classify.encoder`` loads it with ONNX Runtime alone: about 0.5 s and 170 MB of memory
instead of 3 s and 400 MB for ``import torch, transformers`` plus the model.

Three steps, each a pure function of its input, so two builds are byte-identical:

1. ``torch.onnx.export`` (the TorchScript tracer) of the transformers ``BertModel`` with eager
   attention, in fp32, wrapped so the graph ends in the same mean pooling and L2 normalisation
   as ``Encoder.embed``: inputs ``input_ids`` and ``attention_mask`` (int64, batch x tokens),
   output ``embedding`` (float32, batch x 384).
2. ONNX Runtime's offline BERT fuser (``onnxruntime.transformers.optimizer``, graph rewrites
   only) folds each layer's attention, bias+GELU and residual+LayerNorm into single operators.
3. ``quantize_dynamic``: weights to int8 per output channel (per-tensor scales cost about 1.5 %
   cosine to the fp32 model; per-channel 0.3 %), activations quantised on the fly, except
   ``KEEP_FP32`` (below). The embedding table is stored in int8 too (27 MB instead of 107 MB).

Needs torch, transformers, onnx and onnxruntime (all installed by ``scripts/setup.sh``). About
30 s on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPSET = 17
# Matrix products left in fp32. Dynamic quantisation gives each activation matrix one scale, and
# the input of layer 4's feed-forward output (the GELU activations) has a few channels far larger
# than the rest, so int8 rounds the others away. Measured on the corpus (cosine to fp32, mean /
# min): all int8 0.9967 / 0.991 and the head lost 1.5 points of held-out macro-F1; this one
# product in fp32 0.9984 / 0.997; all twelve FFN outputs in fp32 0.9991 / 0.998 but 40 % slower.
KEEP_FP32 = ("/bert/encoder/layer.4/output/dense/MatMul",)


def onnx_name(precision: str) -> str:
    """File name of the exported graph inside the model folder (kept in step with the encoder)."""
    return f"encoder-{precision}.onnx"


def export_fp32(model_dir: Path, out: Path) -> dict[str, Any]:
    """Step 1: trace the transformers model with pooling into an fp32 ONNX graph."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = BertModel.from_pretrained(
        str(model_dir), add_pooling_layer=False, dtype=torch.float32,
        attn_implementation="eager",  # the pattern ONNX Runtime's fuser recognises
        local_files_only=True,
    ).eval()

    class Pooled(torch.nn.Module):
        """BertModel, then the masked mean and L2 normalisation Encoder.embed applies."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1)
            return torch.nn.functional.normalize(pooled, dim=-1)

    # Two rows of different length, so the traced graph keeps the padding path of the mask.
    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 500, 2, 1, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "embedding": {0: "batch"}}  # fmt: skip
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side shape checks
        torch.onnx.export(
            Pooled(model), (ids, mask), str(out), dynamo=False, opset_version=OPSET,
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes=dynamic, do_constant_folding=True,
        )  # fmt: skip
    return {"hidden_size": int(model.config.hidden_size), "heads": int(model.config.num_attention_heads)}


def fuse(src: Path, out: Path, heads: int, hidden: int) -> dict[str, int]:
    """Step 2: ONNX Runtime's BERT fusions, as graph rewrites (opt_level 0: no session runs)."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                                     opt_level=0, use_gpu=False)  # fmt: skip
    stats = {k: int(v) for k, v in model.get_fused_operator_statistics().items() if v}
    model.save_model_to_file(str(out))
    return stats


def quantize(src: Path, out: Path) -> None:
    """Step 3: int8 weights per channel, activations quantised dynamically."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process applies to CNNs
    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=list(KEEP_FP32),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fmt: skip


def export(model_dir: Path, precision: str = "int8") -> Path:
    """Write ``model_dir/encoder-<precision>.onnx`` and its JSON note; returns the graph's path."""
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"no encoder folder at {model_dir}; run scripts/build_encoder.py first")
    final = model_dir / onnx_name(precision)
    with tempfile.TemporaryDirectory(dir=model_dir) as tmp_name:
        tmp = Path(tmp_name)
        dims = export_fp32(model_dir, tmp / "traced.onnx")
        stats = fuse(tmp / "traced.onnx", tmp / "fused.onnx", dims["heads"], dims["hidden_size"])
        if precision == "int8":
            quantize(tmp / "fused.onnx", tmp / "final.onnx")
        else:
            (tmp / "fused.onnx").rename(tmp / "final.onnx")
        os.replace(tmp / "final.onnx", final)  # atomic: a reader never sees half a graph
    weights = model_dir / "model.safetensors"
    note = {
        "graph": final.name,
        "precision": precision,
        "sha256": hashlib.sha256(final.read_bytes()).hexdigest(),
        "source_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "fused": stats,
        "kept_fp32": list(KEEP_FP32) if precision == "int8" else [],
        "opset": OPSET,
        "versions": {p: importlib.metadata.version(p) for p in ("torch", "transformers", "onnx", "onnxruntime")},
    }
    final.with_suffix(".json").write_text(json.dumps(note, indent=2) + "\n")
    return final


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / ".models" / "e5-small")
    ap.add_argument("--precision", choices=("int8", "fp32"), default="int8")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    out = export(args.model, args.precision)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
