"""Render acknowledgements and notifications from the Jinja2 templates in prompts/.

Templates are plain text whose first line is `Subject: ...`. Wording belongs to the DPO, so it
lives in prompts/replies/<lang>/ and not in code.

Values that come from inbound mail (the sender's name, the original subject, a ticket's summary)
pass through `one_line()` before they reach a template: no line break, no control character, a
bounded length. So a hostile name cannot end the `Subject:` line, add paragraphs of its own to
an acknowledgement that may reach a forged victim, or push our text out of view. The output is
plain text (autoescape is off on purpose); HTML renderers must escape on their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from inboxbot.config import Organisation
from inboxbot.domain import Intent

_MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")
_SPACES = re.compile(r"\s{2,}")


def one_line(value: str, limit: int = 120) -> str:
    """A value from inbound mail made safe for one line of a plain-text template: line breaks,
    control and bidi-override characters become spaces, runs of space one, cut at `limit`."""
    text = _SPACES.sub(" ", _BREAKS.sub(" ", unicodedata.normalize("NFC", value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_date(d: date, lang: str) -> str:
    months = _MONTHS.get(lang, _MONTHS["en"])
    return f"{d.day} {months[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class TicketView:
    reference: str
    due_date: date
    due_date_text: str
    intents: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str


class ReplyRenderer:
    def __init__(self, prompts_dir: Path, org: Organisation) -> None:
        self.org = org
        self.env = Environment(
            loader=FileSystemLoader(str(prompts_dir)),
            undefined=StrictUndefined,
            autoescape=False,  # plain text; HTML output (the digest) uses its own escaping env
            keep_trailing_newline=True,
        )
        available = {p.name for p in (prompts_dir / "replies").iterdir() if p.is_dir()} \
            if (prompts_dir / "replies").is_dir() else set()
        self.languages = tuple(lang for lang in org.languages if lang in available) or ("en",)

    def language_for(self, detected: str) -> str:
        """Answer in the sender's language when we have templates for it; else English if we
        have it, else the organisation's first language."""
        if detected in self.languages:
            return detected
        return "en" if "en" in self.languages else self.languages[0]

    def ticket_view(self, reference: str, due: date, lang: str, intents: tuple[str, ...] = (),
                    summary: str = "") -> TicketView:
        return TicketView(reference, due, format_date(due, lang), intents, one_line(summary, 160))

    def render_named(self, name: str, lang: str, **context: object) -> Rendered:
        text = self.env.get_template(f"replies/{lang}/{name}").render(org=self.org, **context)
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"template replies/{lang}/{name} must start with a 'Subject:' line")
        return Rendered(first.removeprefix("Subject:").strip(), rest.lstrip("\n"), lang)

    def acknowledgement(
        self,
        *,
        lang: str,
        sender_name: str,
        intents: tuple[Intent, ...],
        ticket: TicketView | None,
        received: date,
        suppressed: bool,
        verification_needed: bool,
        original_subject: str,
    ) -> Rendered:
        return self.render_named(
            "ack.txt.j2",
            lang,
            sender_name=one_line(sender_name, 80),
            intents=[str(i) for i in intents],
            ticket=ticket,
            received_date_text=format_date(received, lang),
            suppressed=suppressed,
            verification_needed=verification_needed,
            original_subject=one_line(original_subject, 200),
        )

    def escalation(self, *, ticket: TicketView, reason: str, breach: bool,
                   breach_deadline_text: str = "") -> Rendered:
        lang = self.languages[0]
        return self.render_named("escalation.txt.j2", lang, ticket=ticket, reason=reason,
                            breach=breach, breach_deadline_text=breach_deadline_text)
