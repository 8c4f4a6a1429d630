"""The text inside a parsed MIME tree: charsets decoded, HTML flattened, attachments named.

Helper of parse.py. The walk keeps the sender's own text apart from forwarded messages
(message/rfc822) so that the new-text body can leave the forwarded part out while full_text
keeps it. Every loop is bounded: parts walked, nesting depth, encoded characters read per part,
characters kept in all.
"""

from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass, field
from email.message import Message

from inboxbot.textclean import html_to_text, normalise_whitespace

MAX_PARTS = 1000
MAX_DEPTH = 20
MAX_PART_CHARS = 1_000_000  # encoded characters read from one text part
MAX_HTML_CHARS = 500_000
MAX_FULL_TEXT = 100_000
MAX_ATTACHMENTS = 100
MAX_DEFECTS = 50
MAX_HEADER_CHARS = 2000

_LATIN = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_FOLD = re.compile(r"\r\n|\r|\n")
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]+")  # CR/LF and friends: never kept in a header
_SPACES = re.compile(r"\s{2,}")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]{0,1000}?)\?=")
_WORD_GAP = re.compile(r"(\?=)[ \t]+(?==\?)")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029/\\]+")


class Defects(list[str]):
    """Repairs made, each once, in order; bounded so a hostile message cannot flood the record."""

    def add(self, what: str) -> None:
        if what not in self and len(self) < MAX_DEFECTS:
            self.append(what)


def _codec(charset: str | None, defects: Defects) -> str | None:
    """Python codec name for a declared charset; None (and a defect) when Python has none."""
    name = (charset or "").strip().strip("\"'").lower()
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        defects.add(f"unknown charset {name[:40]!r}")
        return None
    if not getattr(info, "_is_text_encoding", True):  # "base64", "rot13": not a charset
        defects.add(f"unknown charset {name[:40]!r}")
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None, defects: Defects, *, partial: bool = False) -> str:
    """Text of `data`: the declared charset, else UTF-8, else cp1252 with replacement characters.

    Text labelled ASCII or Latin-1 that is valid UTF-8 is almost always mislabelled UTF-8.
    `partial` means the bytes were cut short, so an incomplete last character is no error.
    """
    codec = _codec(charset, defects)
    order = [codec] if codec else []
    if (codec is None or codec in _LATIN) and not data.isascii():
        order.insert(0, "utf-8")
    order.append("utf-8")
    for name in order:
        try:
            return codecs.getincrementaldecoder(name)().decode(data, final=not partial)
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    defects.add("text neither in its declared charset nor UTF-8, read as cp1252")
    return data.decode("cp1252", errors="replace")


def raw_bytes(value: str) -> bytes:
    """The bytes behind a string from the bytes parser, which keeps 8-bit bytes as surrogates."""
    return value.encode("utf-8", errors="surrogateescape")


def _decode_word(match: re.Match[str], defects: Defects) -> str:
    charset, kind, text = match.group(1).split("*")[0], match.group(2).upper(), match.group(3)
    try:
        if kind == "B":
            data = _B64_JUNK.sub(b"", text.encode("ascii", errors="ignore"))
            data = data[: len(data) - 1 if len(data) % 4 == 1 else len(data)]
            if data != text.rstrip("=").encode("ascii", errors="ignore") or len(text) % 4:
                defects.add("malformed base64 encoded word repaired")
            raw = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        else:
            raw = binascii.a2b_qp(text.encode("utf-8"), header=True)
    except (binascii.Error, ValueError):
        defects.add("broken encoded word kept as written")
        return match.group(0)
    return decode_bytes(raw, charset, defects)


def _quoted_word(match: re.Match[str], defects: Defects) -> str:
    # An encoded word may only ever be a display name; quoting it keeps a decoded "," "<" or
    # "Bcc:" from turning into address syntax.
    text = _decode_word(match, defects)
    if _UNSAFE.search(text):
        defects.add("control characters removed from a header")
    text = _UNSAFE.sub(" ", text).replace("\\", "").replace('"', "")
    return f'"{text}"'


def decode_header(value: str, defects: Defects | None = None, *, for_addresses: bool = False) -> str:
    """A header value as one clean line: unfolded, 8-bit bytes and RFC 2047 words decoded,
    control characters (CR, LF, NUL...) replaced by spaces, length capped.

    `for_addresses` turns each encoded word into a quoted string, ready for an address parser.
    """
    defects = defects if defects is not None else Defects()
    value = _FOLD.sub("", value[: MAX_HEADER_CHARS * 4]).replace("\t", " ")
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(raw_bytes(value), None, defects)
    value = _WORD_GAP.sub(r"\1", value)
    decode = _quoted_word if for_addresses else _decode_word
    value = _ENCODED_WORD.sub(lambda m: decode(m, defects), value)
    if _UNSAFE.search(value):
        defects.add("control characters removed from a header")
        value = _UNSAFE.sub(" ", value)
    return _SPACES.sub(" ", value).strip()[:MAX_HEADER_CHARS]


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _payload_bytes(part: Message, defects: Defects) -> tuple[bytes, bool]:
    """The decoded content of a leaf part, read from at most MAX_PART_CHARS; (bytes, was_cut)."""
    # The stored payload, not get_payload(): for 8-bit text that one already decodes with the
    # declared charset and "replace", or with ASCII when the charset is unknown, losing letters.
    payload = getattr(part, "_payload", None)
    if not isinstance(payload, str):
        return b"", False
    cut = len(payload) > MAX_PART_CHARS
    if cut:
        defects.add(f"text part over {MAX_PART_CHARS} characters, rest not read")
        payload = payload[:MAX_PART_CHARS]
    data = raw_bytes(payload)
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    try:
        if cte == "base64":
            data = _B64_JUNK.sub(b"", data)
            if len(data) % 4 == 1:  # a stray character cannot be a whole byte; drop it
                data = data[:-1]
                defects.add("base64 body with a bad length")
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4)), cut
        if cte == "quoted-printable":
            return binascii.a2b_qp(data), cut
    except (binascii.Error, ValueError):
        defects.add(f"undecodable {cte} body read as it stands")
    if cte not in ("", "7bit", "8bit", "binary", "base64", "quoted-printable"):
        defects.add(f"unknown transfer encoding {cte[:40]!r}")
    return data, cut


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        return ""
    return _UNSAFE_NAME.sub("_", decode_header(str(name)))[:255]


def _has_text(part: Message) -> bool:
    payload = getattr(part, "_payload", None)
    return isinstance(payload, str) and bool(payload.strip())


@dataclass
class MimeText:
    """What the walk found. `own` is the sender's text; `full` adds forwarded messages."""

    own: list[str] = field(default_factory=list)
    full: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    chars: int = 0
    parts: int = 0

    def add(self, text: str, forwarded: bool, defects: Defects) -> None:
        text = normalise_whitespace(text)
        room = MAX_FULL_TEXT - self.chars
        if not text:
            return
        if len(text) > room:
            defects.add(f"text over {MAX_FULL_TEXT} characters, rest dropped")
            text = text[: max(room, 0)]
        self.chars += len(text)
        if text:
            self.full.append(text)
            if not forwarded:
                self.own.append(text)


def _pick_alternative(children: list[Message]) -> Message | None:
    """From a multipart/alternative: plain text if it says something, else HTML, else the last."""
    types = [content_type(c) for c in children]
    for wanted in ("text/plain", "text/html"):
        for child, ctype in zip(children, types):
            if ctype == wanted and _has_text(child):
                return child
    nested = [c for c, t in zip(children, types) if t.startswith("multipart/")]
    return nested[0] if nested else (children[-1] if children else None)


def _forward_header(msg: Message) -> str:
    lines = ["---------- Forwarded message ----------"]
    wanted = {"from": "From", "date": "Date", "subject": "Subject", "to": "To"}
    for name, value in list(msg.raw_items())[:200]:
        label = wanted.pop(str(name).lower(), None)
        if label:
            lines.append(f"{label}: {decode_header(str(value))}")
    return "\n".join(lines)


def walk(part: Message, out: MimeText, defects: Defects, depth: int = 0, forwarded: bool = False) -> None:
    """Collect text and attachment names from `part` and below, in document order."""
    out.parts += 1
    if out.parts > MAX_PARTS:
        defects.add(f"more than {MAX_PARTS} MIME parts, rest not read")
        return
    if depth > MAX_DEPTH:
        defects.add(f"MIME nesting deeper than {MAX_DEPTH}, rest not read")
        return
    for defect in getattr(part, "defects", ())[:10]:
        defects.add(f"email: {type(defect).__name__}")
    ctype = content_type(part)
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if ctype == "message/delivery-status":
            return  # machine-readable; the report's human part and headers say what matters
        if ctype.startswith("message/"):
            for child in children:
                out.add(_forward_header(child), True, defects)
                walk(child, out, defects, depth + 1, True)
            return
        if ctype == "multipart/alternative":
            children = [c for c in [_pick_alternative(children)] if c is not None]
        for child in children:
            if out.parts > MAX_PARTS:
                defects.add(f"more than {MAX_PARTS} MIME parts, rest not read")
                return
            walk(child, out, defects, depth + 1, forwarded)
        return
    _leaf(part, ctype, out, defects, forwarded)


def _leaf(part: Message, ctype: str, out: MimeText, defects: Defects, forwarded: bool) -> None:
    name = _filename(part)
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    if name or disposition == "attachment":
        if len(out.attachments) < MAX_ATTACHMENTS:
            out.attachments.append(name or f"({ctype})")
        return
    if ctype not in ("text/plain", "text/html", "text/rfc822-headers"):
        return
    data, cut = _payload_bytes(part, defects)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_bytes(data, charset, defects, partial=cut)
    if ctype == "text/html":
        if len(text) > MAX_HTML_CHARS:
            defects.add(f"HTML part over {MAX_HTML_CHARS} characters, rest not read")
        text = html_to_text(text[:MAX_HTML_CHARS])
    out.add(text, forwarded or ctype == "text/rfc822-headers", defects)
