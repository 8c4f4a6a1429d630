"""Plain-text helpers for message bodies: HTML to text, quoted history and signatures out.

Each function is pure and works line by line, so its cost grows with the text it is given;
the parser caps that text before it gets here. The language-specific phrases live in the
small tables below so that adding a language means adding rows, not code.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# --- tables -----------------------------------------------------------------------------------

# Verbs that end a reply attribution line, as mail clients write them: "On <date>, <name> wrote:".
ATTRIBUTION_VERBS: dict[str, tuple[str, ...]] = {
    "en": ("wrote",),
    "sv": ("skrev",),
    "da": ("skrev",),
    "no": ("skrev",),
    "de": ("schrieb", "geschrieben"),
    "fr": ("a écrit", "a ecrit"),
    "es": ("escribió", "escribio"),
    "it": ("ha scritto", "scrisse"),
    "nl": ("schreef", "geschreven"),
    "fi": ("kirjoitti",),
    "pl": ("napisał\\(a\\)", "napisała", "napisał", "pisze"),
    "pt": ("escreveu",),
}

# Outlook-style quoted header blocks: a "From:" line soon followed by a "Sent:"/"Date:" line.
HEADER_BLOCK_FROM: tuple[str, ...] = (
    "from", "från", "fra", "von", "de", "da", "van", "lähettäjä", "od",
)
HEADER_BLOCK_SENT: tuple[str, ...] = (
    "sent", "date", "skickat", "datum", "sendt", "dato", "gesendet", "envoyé", "envoye",
    "enviado", "enviada", "fecha", "inviato", "data", "verzonden", "verstuurd", "lähetetty",
    "päivämäärä", "wysłano", "wysłane",
)

# Separator lines some clients put above the quoted original.
ORIGINAL_MESSAGE_MARKERS: tuple[str, ...] = (
    "original message", "ursprungligt meddelande", "oprindelig meddelelse",
    "opprinnelig melding", "ursprüngliche nachricht", "message d'origine", "mensaje original",
    "messaggio originale", "oorspronkelijk bericht", "alkuperäinen viesti",
    "wiadomość oryginalna", "oryginalna wiadomość", "mensagem original",
)

# Closing phrases that start a signature block ("Mvh" alone on a line, then a name and a phone).
VALEDICTIONS: dict[str, tuple[str, ...]] = {
    "sv": ("med vänliga hälsningar", "med vänlig hälsning", "vänliga hälsningar",
           "vänlig hälsning", "hälsningar", "mvh", "hälsning"),
    "en": ("best regards", "kind regards", "warm regards", "regards", "best wishes",
           "sincerely", "yours sincerely", "yours faithfully", "cheers", "br"),
    "de": ("mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße",
           "viele grüße", "beste grüße", "liebe grüße", "grüße", "mfg"),
    "fr": ("cordialement", "bien cordialement", "bien à vous", "salutations distinguées",
           "meilleures salutations"),
    "es": ("saludos", "saludos cordiales", "un saludo", "atentamente", "cordialmente"),
    "it": ("cordiali saluti", "distinti saluti", "saluti", "cordialmente"),
    "nl": ("met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet",
           "groeten", "mvg"),
    "da": ("med venlig hilsen", "venlig hilsen", "de bedste hilsner", "hilsen", "vh"),
    "no": ("med vennlig hilsen", "vennlig hilsen", "hilsen", "mvh"),
    "fi": ("ystävällisin terveisin", "terveisin", "parhain terveisin", "t."),
    "pl": ("pozdrawiam", "z poważaniem", "z wyrazami szacunku", "pozdrowienia"),
    "pt": ("atenciosamente", "cumprimentos", "com os melhores cumprimentos",
           "melhores cumprimentos", "abraços"),
}

# Lines a phone or web client appends on its own; removed wherever they stand.
MOBILE_FOOTERS: tuple[str, ...] = (
    "sent from my", "skickat från min", "sendt fra min", "von meinem", "gesendet von",
    "envoyé de mon", "enviado desde mi", "enviado do meu", "inviato da", "verzonden met",
    "verstuurd vanaf", "lähetetty", "wysłane z", "get outlook for", "hämta outlook för",
)

# A signature block longer than this after a closing phrase is probably not a signature.
MAX_SIGNATURE_LINES = 10
MAX_SIGNATURE_CHARS = 600

# --- compiled patterns ------------------------------------------------------------------------

_ALL_VERBS = sorted({v for verbs in ATTRIBUTION_VERBS.values() for v in verbs}, key=len, reverse=True)
# An attribution names a date or an address, so require a digit or "@" before the verb.
_ATTRIBUTION = re.compile(
    r"^(?=.*[0-9@]).{0,300}?\b(?:" + "|".join(_ALL_VERBS) + r")\b[^:\n]{0,80}:\s*$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\W{0,2}(?:" + "|".join(HEADER_BLOCK_FROM) + r")\s?\W{0,2}:\s*\S", re.I)
_SENT_LINE = re.compile(r"^\W{0,2}(?:" + "|".join(HEADER_BLOCK_SENT) + r")\s?\W{0,2}:\s*\S", re.I)
# "Från: Anna Skickat: den 3 november" when a client has folded the block into one line.
_INLINE_BLOCK = re.compile(
    r"^\W{0,2}(?:" + "|".join(HEADER_BLOCK_FROM) + r")\s?:.{1,200}?\b(?:"
    + "|".join(HEADER_BLOCK_SENT) + r")\s?:",
    re.IGNORECASE,
)
_ORIGINAL_MARKER = re.compile(
    r"^\s*-{2,}\s*(?:" + "|".join(re.escape(m) for m in ORIGINAL_MESSAGE_MARKERS) + r")\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_SIG_DELIMITER = re.compile(r"^-- ?$")
_ALL_VALEDICTIONS = sorted({v for vs in VALEDICTIONS.values() for v in vs}, key=len, reverse=True)
# The phrase alone, or followed by a short name on the same line ("Mvh Anna Svensson").
_VALEDICTION = re.compile(
    r"^\s*(?:" + "|".join(re.escape(v) for v in _ALL_VALEDICTIONS) + r")"
    r"[,.!]?(?:\s+[^\W\d_][\w.'-]*){0,3}\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:" + "|".join(re.escape(f) for f in MOBILE_FOOTERS) + r")\b.{0,60}$", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")


# --- HTML -------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt fieldset figcaption figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
# Blocks that stand apart with an empty line, as paragraphs do in plain-text mail.
_PARAGRAPH_TAGS = frozenset("blockquote h1 h2 h3 h4 h5 h6 ol p pre table ul".split())
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements become line breaks, blockquotes become "> "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip = 0
        self._quote = 0

    def _flush(self, paragraph: bool = False) -> None:
        text = " ".join("".join(self._line).split())
        if text:
            self.lines.append("> " * self._quote + text)
        if paragraph:  # an empty line; normalise_whitespace collapses runs of them
            self.lines.append("")
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self._flush()
        elif tag in _BLOCK_TAGS:
            self._flush(tag in _PARAGRAPH_TAGS)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "li":
                self._line.append("- ")
        elif tag in ("td", "th"):
            self._line.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self._flush(tag in _PARAGRAPH_TAGS)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._line.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one line per block element or <br>."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient, but a hostile document should still yield text
        pass
    parser._flush()
    return normalise_whitespace("\n".join(parser.lines))


# --- whitespace -------------------------------------------------------------------------------


def normalise_whitespace(text: str) -> str:
    """Unix line ends, no control characters or trailing blanks, at most one empty line in a row.

    A signature delimiter "-- " keeps its trailing space, which is what makes it a delimiter.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = _CONTROL.sub("", text).replace("\t", " ")
    out: list[str] = []
    for line in text.split("\n"):
        line = line if line == "-- " else line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# --- quoted history ---------------------------------------------------------------------------


def _is_attribution(lines: list[str], i: int) -> int:
    """How many lines (1-3) form a reply attribution starting at line i; 0 when none.

    Clients wrap long attributions ("On Mon, 3 Nov 2026 at 10:14, Anna <a@example.se>\\nwrote:").
    """
    joined = ""
    for n in range(3):
        if i + n >= len(lines) or (n and not lines[i + n].strip()):
            return 0
        if n and (joined.endswith((".", "!", "?")) or _ATTRIBUTION.match(lines[i + n].strip())):
            return 0  # line i ends a sentence, or the attribution starts on a later line
        joined = (joined + " " + lines[i + n].strip()).strip()
        if len(joined) > 400:
            return 0
        if _ATTRIBUTION.match(joined):
            return n + 1
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    """A quoted "From: ... Sent: ..." block (Outlook and friends) starts at line i."""
    line = lines[i].strip()
    if _INLINE_BLOCK.match(line):
        return True
    if not _FROM_LINE.match(line):
        return False
    return any(_SENT_LINE.match(lines[j].strip()) for j in range(i + 1, min(i + 4, len(lines))))


def _next_text_line(lines: list[str], i: int) -> str:
    for line in lines[i:]:
        if line.strip():
            return line.lstrip()
    return ""


def strip_quoted(text: str) -> str:
    """The text without quoted history: "> " lines and everything under a reply header.

    An attribution followed by "> " lines only removes those lines, so that an answer written
    below or between the quotes survives; any other reply header ends the new text.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">"):
            i += 1
            continue
        if _ORIGINAL_MARKER.match(stripped) or _is_header_block(lines, i):
            break
        if _OUTLOOK_RULE.match(stripped) and i + 1 < len(lines):
            nxt = _next_text_line(lines, i + 1)
            if _FROM_LINE.match(nxt) or _INLINE_BLOCK.match(nxt):
                break
        span = _is_attribution(lines, i) if stripped else 0
        if span:
            if _next_text_line(lines, i + span).startswith(">"):
                i += span
                continue
            break
        out.append(line)
        i += 1
    return normalise_whitespace("\n".join(out))


# --- signatures -------------------------------------------------------------------------------


def _short_block(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip()]
    return len(body) <= MAX_SIGNATURE_LINES and sum(len(line) for line in body) <= MAX_SIGNATURE_CHARS


def strip_signature(text: str) -> str:
    """The text without its signature: from a "-- " line, or from a closing phrase followed by a
    short block (name, title, phone). Never removes everything: with nothing above the signature
    the text is returned as it was.
    """
    lines = [line for line in text.split("\n") if not _MOBILE_FOOTER.match(line)]
    has_text_above = False
    for i, line in enumerate(lines):
        if not has_text_above:
            has_text_above = bool(line.strip())
            continue
        if _SIG_DELIMITER.match(line):
            return normalise_whitespace("\n".join(lines[:i]))
        if _VALEDICTION.match(line) and _short_block(lines[i + 1 :]):
            return normalise_whitespace("\n".join(lines[:i]))
    return normalise_whitespace("\n".join(lines))
