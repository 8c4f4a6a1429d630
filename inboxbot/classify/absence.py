"""Out-of-office replies that carry no auto-reply header, recognised from their words.

Webmail vacation programs, hand-made mail rules and some hosted systems send auto-replies without
Auto-Submitted or X-Autoreply: only the subject and the text show what they are. The words live in
the `[out_of_office]` section of each prompts/lexicon/{lang}.toml, so a DPO can read and extend them.
Every language's phrases are tried: an auto-reply is often written in two languages, and language
detection on three lines is unreliable.

Words are weaker evidence than headers, so they are combined (see `AbsenceSigns.reasons`):

* a *declaration* ("this is an automatic reply") is enough on its own;
* a *subject marker* opening the subject ("Abwesend Re: ...", "Frånvaro:") is enough, as long as
  the subject is not itself a reply or forward ("Re: Autosvar" is a person writing about one);
* an *absence* sentence ("Ich bin bis 28.08. nicht im Büro") counts together with one more sign:
  auto-reply boilerplate (a *notice*: "Ihre Nachricht wird nicht weitergeleitet"), a subject marker,
  our ticket reference in the subject (a reply to our acknowledgement) or a short text, the last
  two only when the text asks no question ("I'm away till the 5th, will you be done by then?").

Except for a declaration, nothing counts when the writer *asks for something*: a `request` phrase
of the same file, or a medium or strong intent phrase of the lexicons. "Olen lomalla ensi viikolla,
mutta poistakaa tietoni" is a person who happens to be away, and a person must never be ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from inboxbot.classify.lexicon import BREACH, Lexicon, OooPhrase, normalise
from inboxbot.domain import Inbound

SHORT_WORDS = 80  # an auto-reply rarely says more; a person explaining something often does
_INTENT_WEIGHT = 0.6  # intent phrases of at least this weight (medium, strong) show a request
_NOT_REQUESTS = frozenset({"general", BREACH})  # a question or a breach report is no veto

# A reply or forward prefix: the subject is about a message, not an auto-reply's own marker.
REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|wg|fw|fwd|vs|tr|rv|odp|res|antw|r)\s*(\[\d+\])?\s*:", re.I)
# After a subject marker: a separator, the end, or a reply prefix ("Abwesend Re: ...").
_AFTER_MARKER = (
    r"(?:\s*(?::|-|–|—|\]|\)|$)|\s+(?:re|sv|aw|vs|wg|fw|fwd|tr|rv|odp|res|antw)\s*:)"
)
# Our ticket reference (as in rules.REFERENCE): an auto-reply to our acknowledgement quotes it.
TICKET_REFERENCE = re.compile(r"\b[A-Z][A-Z0-9]{1,11}-\d{4}-\d{3,8}\b")


@dataclass(frozen=True, slots=True)
class AbsenceSigns:
    """What the words of one message show; each field holds the words found, or None."""

    subject: str | None  # a marker opening the subject
    declaration: str | None
    absence: str | None
    notice: str | None
    request: str | None  # the writer asks for something
    reference: str | None  # our ticket reference in the subject
    short: bool  # the new text has at most SHORT_WORDS words
    question: bool  # the new text asks a question: auto-replies tell, people ask

    def reasons(self) -> list[str]:
        """The out-of-office reasons these signs add up to; empty when a person wrote it."""
        if self.declaration is not None:
            return [f"out-of-office body: declaration '{self.declaration}'"]
        if self.request is not None:
            return []
        out: list[str] = []
        if self.subject is not None:
            out.append(f"out-of-office subject ({self.subject})")
        if self.absence is not None:
            if self.notice is not None:
                also = f" + notice '{self.notice}'"
            elif self.subject is not None:
                also = " + subject marker"
            elif self.question:
                return out
            elif self.reference is not None:
                also = f" + our reference {self.reference} in the subject"
            elif self.short:
                also = " + short text, no question"
            else:
                return out
            out.append(f"out-of-office body: absence '{self.absence}'{also}")
        return out


class AbsenceReader:
    """Finds AbsenceSigns with the `[out_of_office]` phrases of every lexicon."""

    def __init__(self, lexicons: Mapping[str, Lexicon]) -> None:
        self._lexicons = tuple(lexicons.values())
        phrases = [p for lex in self._lexicons for p in lex.out_of_office]
        self._by_kind: dict[str, tuple[OooPhrase, ...]] = {
            kind: tuple(p for p in phrases if p.kind == kind)
            for kind in ("declaration", "absence", "notice", "request")
        }
        markers = [p.source for p in phrases if p.kind == "subject"]
        # longest first, so "out of office reply" wins over "out of office" in the reason
        alternation = "|".join(f"(?:{m})" for m in sorted(set(markers), key=len, reverse=True))
        self._subject = (
            re.compile(rf"^\s*\[?\s*({alternation}){_AFTER_MARKER}", re.I) if markers else None
        )

    def subject_marker(self, subject: str) -> str | None:
        """The out-of-office marker opening `subject`, lower-cased; None for replies and forwards."""
        if self._subject is None or REPLY_PREFIX.match(subject):
            return None
        match = self._subject.match(subject)
        return " ".join(match.group(1).lower().split()) if match else None

    def signs(self, msg: Inbound) -> AbsenceSigns:
        """Read the subject and the new text (the whole text when nothing new is left)."""
        raw = msg.body if msg.body.strip() else msg.full_text
        text = normalise(raw)
        declaration = self._first("declaration", text)
        absence = self._first("absence", text)
        subject = self.subject_marker(msg.subject)
        request = None
        if declaration is None and (subject is not None or absence is not None):
            request = self._first("request", text) or self._intent_request(text)
        reference = TICKET_REFERENCE.search(msg.subject)
        return AbsenceSigns(
            subject=subject,
            declaration=declaration,
            absence=absence,
            notice=self._first("notice", text) if absence is not None else None,
            request=request,
            reference=reference.group(0) if reference else None,
            short=len(text.split()) <= SHORT_WORDS,
            question="?" in raw,
        )

    def reasons(self, msg: Inbound) -> list[str]:
        """Shorthand for `signs(msg).reasons()`."""
        return self.signs(msg).reasons()

    def request(self, msg: Inbound) -> str | None:
        """The words with which the writer asks for something, or None."""
        text = normalise(msg.body if msg.body.strip() else msg.full_text)
        return self._first("request", text) or self._intent_request(text)

    def _first(self, kind: str, text: str) -> str | None:
        for phrase in self._by_kind[kind]:
            match = phrase.regex.search(text)
            if match:
                return " ".join(match.group(0).split())[:80]
        return None

    def _intent_request(self, text: str) -> str | None:
        for lexicon in self._lexicons:
            for hit in lexicon.find(text):
                if hit.section not in _NOT_REQUESTS and not hit.negated and hit.weight >= _INTENT_WEIGHT:
                    return f"{hit.section} '{hit.text}'"
        return None
