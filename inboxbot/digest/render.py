"""Render the digest from prompts/digest/<lang>/: digest.txt.j2 (first line `Subject: ...`) and
digest.html.j2, with the shared wording in names.j2.

Two Jinja environments: the HTML one escapes every value (subjects, summaries and error texts
come from mail and must never become markup); the text one escapes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from inboxbot.digest.data import DigestData
from inboxbot.render import format_date

_SHORT_MONTHS = {
    "sv": ("jan", "feb", "mars", "apr", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
_DECIMAL_COMMA = {"sv", "de", "fr", "fi", "da", "nb", "nl", "es", "it", "pl"}
CHART_WIDTH = 320  # pixels for the longest bar in the HTML chart


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    language: str


class Formatter:
    """Dates and numbers the way the reader's language writes them; used by the templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def long(self, d: date) -> str:
        return format_date(d, self.lang)

    def short(self, d: date | datetime) -> str:
        day = d.date() if isinstance(d, datetime) else d
        months = _SHORT_MONTHS.get(self.lang, _SHORT_MONTHS["en"])
        return f"{day.day} {months[day.month - 1]}"

    def time(self, moment: datetime) -> str:
        return f"{self.short(moment)} {moment:%H:%M}"

    def number(self, value: float) -> str:
        # One decimal, halves rounded up (0.25 -> 0.3): what a reader expects, not banker's rounding.
        rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        text = f"{rounded:.0f}" if rounded == rounded.to_integral_value() else f"{rounded}"
        return text.replace(".", ",") if self.lang in _DECIMAL_COMMA else text

    def bar(self, count: int, largest: int) -> int:
        """Bar length in pixels; a non-zero count always shows at least 2 pixels."""
        if count <= 0 or largest <= 0:
            return 0
        return max(2, round(CHART_WIDTH * count / largest))


class DigestRenderer:
    def __init__(self, prompts_dir: Path) -> None:
        loader = FileSystemLoader(str(prompts_dir))
        common = {"loader": loader, "undefined": StrictUndefined, "trim_blocks": True,
                  "lstrip_blocks": True, "keep_trailing_newline": True}
        self.text_env = Environment(autoescape=False, **common)  # type: ignore[arg-type]
        self.html_env = Environment(autoescape=True, **common)  # type: ignore[arg-type]
        root = prompts_dir / "digest"
        self.languages = tuple(sorted(p.name for p in root.iterdir() if p.is_dir())) \
            if root.is_dir() else ()

    def language_for(self, wanted: str) -> str:
        """`wanted` when there are templates for it, else English, else any we have."""
        if wanted in self.languages:
            return wanted
        if "en" in self.languages or not self.languages:
            return "en"
        return self.languages[0]

    def render(self, data: DigestData, lang: str) -> RenderedDigest:
        lang = self.language_for(lang)
        context = {
            "d": data,
            "fmt": Formatter(lang),
            "lang": lang,
            "chart_max": max((w.total for w in data.volume), default=0),
        }
        text = self.text_env.get_template(f"digest/{lang}/digest.txt.j2").render(**context)
        first, _, body = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"digest/{lang}/digest.txt.j2 must start with a 'Subject:' line")
        html = self.html_env.get_template(f"digest/{lang}/digest.html.j2").render(**context)
        return RenderedDigest(first.removeprefix("Subject:").strip(), body.lstrip("\n"), html, lang)


def render(data: DigestData, renderer: DigestRenderer, lang: str) -> RenderedDigest:
    """Subject, plain text and HTML of one digest, in `lang` (or the fallback, see language_for)."""
    return renderer.render(data, lang)
