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
  or a *bare* note: a short text that, besides the absence sentence, holds no question, no address
  and no number. People who mention that they are away usually add what they want ("I'm away till
  the 5th. My new address is Storgatan 5") even when no phrase of the lexicons names it; an
  auto-reply is written before the mail it answers and says nothing specific.

Our ticket reference in the subject is deliberately *not* a sign: people follow up by replying to
our acknowledgement, so a reply to it is where a person who is away most often writes.

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

BARE_WORDS = 40  # a bare absence note is at most this long
_DATE_WORDS = 3  # words after an absence phrase that may hold its date ("9 augusti", "14.8.")
_SPECIFIC = re.compile(r"[?@\d]")  # a question, an address or a number: something a person says
_INTENT_WEIGHT = 0.6  # intent phrases of at least this weight (medium, strong) show a request
_NOT_REQUESTS = frozenset({"general", BREACH})  # a question or a breach report is no veto

# A reply or forward prefix: the subject is about a message, not an auto-reply's own marker.
REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|wg|fw|fwd|vs|tr|rv|odp|res|antw|r)\s*(\[\d+\])?\s*:", re.I)
# After a subject marker: a separator, the end, or a reply prefix ("Abwesend Re: ...").
_AFTER_MARKER = (
    r"(?:\s*(?::|-|–|—|\]|\)|$)|\s+(?:re|sv|aw|vs|wg|fw|fwd|tr|rv|odp|res|antw)\s*:)"
)


@dataclass(frozen=True, slots=True)
class AbsenceSigns:
    """What the words of one message show; each field holds the words found, or None."""

    subject: str | None  # a marker opening the subject
    declaration: str | None
    absence: str | None
    notice: str | None
    request: str | None  # the writer asks for something
    bare: bool  # a short text with nothing specific besides the absence sentence

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
            elif self.bare:
                also = " + nothing else in a short text"
            else:
                return out
            out.append(f"out-of-office body: absence '{self.absence}'{also}")
        return out


class AbsenceReader:
    """Finds AbsenceSigns with the `[out_of_office]` phrases of every lexicon."""

    def __init__(self, lexicons: Mapping[str, Lexicon]) -> None:
        self._lexicons = tuple(lexicons.values())
        phrases = [p for lex in self._lexicons for p in lex.out_of_office]
        # one pattern per kind, all languages' phrases as alternatives: one scan of the text, not
        # hundreds (this runs on every message that has no automated header)
        self._by_kind: dict[str, re.Pattern[str] | None] = {
            kind: _union([p for p in phrases if p.kind == kind])
            for kind in ("declaration", "absence", "notice", "request")
        }
        markers = [p.pattern for p in phrases if p.kind == "subject"]
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
        absence = self._match("absence", text)
        subject = self.subject_marker(msg.subject)
        request = None
        if declaration is None and (subject is not None or absence is not None):
            request = self._first("request", text) or self._intent_request(text)
        bare = False
        if absence is not None:
            # the date after "until" is part of the absence sentence, not something specific
            after = text[absence.end() :].split(" ")
            rest = text[: absence.start()] + " " + " ".join(after[_DATE_WORDS + 1 :])
            bare = len(text.split()) <= BARE_WORDS and not _SPECIFIC.search(rest)
        return AbsenceSigns(
            subject=subject,
            declaration=declaration,
            absence=_shown(absence) if absence is not None else None,
            notice=self._first("notice", text) if absence is not None else None,
            request=request,
            bare=bare,
        )

    def reasons(self, msg: Inbound) -> list[str]:
        """Shorthand for `signs(msg).reasons()`."""
        return self.signs(msg).reasons()

    def request(self, msg: Inbound) -> str | None:
        """The words with which the writer asks for something, or None."""
        text = normalise(msg.body if msg.body.strip() else msg.full_text)
        return self._first("request", text) or self._intent_request(text)

    def _match(self, kind: str, text: str) -> re.Match[str] | None:
        pattern = self._by_kind[kind]
        return pattern.search(text) if pattern is not None else None

    def _first(self, kind: str, text: str) -> str | None:
        match = self._match(kind, text)
        return _shown(match) if match is not None else None

    def _intent_request(self, text: str) -> str | None:
        for lexicon in self._lexicons:
            for hit in lexicon.find(text):
                if hit.section not in _NOT_REQUESTS and not hit.negated and hit.weight >= _INTENT_WEIGHT:
                    return f"{hit.section} '{hit.text}'"
        return None


def _union(phrases: list[OooPhrase]) -> re.Pattern[str] | None:
    """The phrases as one case-insensitive alternation, fenced to whole words once: fencing each
    alternative instead makes the search about four times slower."""
    if not phrases:
        return None
    alternation = "|".join(f"(?:{p.pattern})" for p in phrases)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def _shown(match: re.Match[str]) -> str:
    """The words a phrase matched, for a reason string."""
    return " ".join(match.group(0).split())[:80]
