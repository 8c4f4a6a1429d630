"""The digest's content as plain frozen data: no queries, no wording, no markup.

Two kinds of figures. *Week* figures (messages, suppressions, acknowledgements, needs review)
count what happened in the digest's period: the seven days before the slot (see schedule.py).
*State* figures (open tickets and their days left, mailbox health, dead letters, the outbox) are
as they stand when the digest is made, which is later than the period's end when a worker
catches up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

DUE_SOON_DAYS = 7

@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware, local
    end: datetime  # exclusive

    @property
    def iso_week(self) -> int:
        """The ISO week the period mostly covers (that of its midpoint)."""
        return (self.start + (self.end - self.start) / 2).isocalendar()[1]


@dataclass(frozen=True)
class Count:
    name: str
    count: int


@dataclass(frozen=True)
class WeekVolume:
    start: date
    iso_week: int
    people: int  # written by a person
    automated: int  # auto-replies, bounces, lists
    current: bool  # the digest's own period

    @property
    def total(self) -> int:
        return self.people + self.automated


@dataclass(frozen=True)
class Trend:
    """One intent's (or language's) count in the period and in each of the weeks before it."""

    name: str
    this_week: int
    previous: tuple[int, ...]  # the TREND_WEEKS weeks before, oldest first

    @property
    def average_before(self) -> float:
        return sum(self.previous) / len(self.previous) if self.previous else 0.0

    @property
    def direction(self) -> str:
        """'up', 'down' or 'same' against the average of the weeks before."""
        avg = self.average_before
        return "up" if self.this_week > avg else "down" if self.this_week < avg else "same"


@dataclass(frozen=True)
class TicketLine:
    reference: str
    status: str
    intents: tuple[str, ...]
    summary: str  # one line, never the body
    received: date
    due: date
    days_left: int
    breach: bool
    needs_review: bool
    breach_deadline: datetime | None  # local; only for breach reports

    @property
    def urgency(self) -> str:
        """'overdue', 'soon' (within DUE_SOON_DAYS) or 'later'."""
        if self.days_left < 0:
            return "overdue"
        return "soon" if self.days_left <= DUE_SOON_DAYS else "later"


@dataclass(frozen=True)
class ReviewLine:
    received: datetime  # local
    reference: str  # the ticket it went to, "" when none
    label: str
    confidence: float
    subject: str  # one line


@dataclass(frozen=True)
class MailboxHealth:
    account: str
    folder: str
    last_success: datetime | None  # local
    error: str  # one line, "" when the last attempt went well
    stale: bool  # not reached for more than STALE_AFTER (or never)

    @property
    def ok(self) -> bool:
        return not self.stale and not self.error


@dataclass(frozen=True)
class DeadLetterLine:
    created: datetime  # local
    account: str
    stage: str
    error: str  # one line


@dataclass(frozen=True)
class DigestData:
    organisation: str
    generated_at: datetime  # local
    period: Period
    volume: tuple[WeekVolume, ...]  # oldest first; the last one is the period itself
    intents: tuple[Trend, ...]  # by main intent (the label), busiest first
    languages: tuple[Trend, ...]  # by detected language, busiest first
    open_tickets: tuple[TicketLine, ...]  # by due date
    complaints: tuple[TicketLine, ...]  # open, or received in the period
    breaches: tuple[TicketLine, ...]  # open, or received in the period
    suppressions_added: tuple[Count, ...]  # by scope
    needs_review: tuple[ReviewLine, ...]  # the first MAX_LINES
    needs_review_total: int
    mailboxes: tuple[MailboxHealth, ...]
    dead_letters: int  # status "new": waiting for a fix and a replay
    dead_letter_lines: tuple[DeadLetterLine, ...]  # the newest few
    outbox_failed: int  # refused for good: someone did not get their mail
    outbox_retrying: int  # pending after at least one failed attempt
    acks_sent: int
    acks_withheld: tuple[Count, ...]  # by reason family, see withheld_family()

    @property
    def this_week(self) -> WeekVolume:
        return self.volume[-1]

    @property
    def average_before(self) -> float:
        before = self.volume[:-1]
        return sum(w.total for w in before) / len(before) if before else 0.0

    @property
    def overdue(self) -> tuple[TicketLine, ...]:
        return tuple(t for t in self.open_tickets if t.urgency == "overdue")

    @property
    def due_soon(self) -> tuple[TicketLine, ...]:
        return tuple(t for t in self.open_tickets if t.urgency == "soon")

    @property
    def extended(self) -> tuple[TicketLine, ...]:
        return tuple(t for t in self.open_tickets if t.status == "extended")

    @property
    def awaiting_identity(self) -> tuple[TicketLine, ...]:
        return tuple(t for t in self.open_tickets if t.status == "awaiting_identity")

    @property
    def suppressions_total(self) -> int:
        return sum(c.count for c in self.suppressions_added)

    @property
    def acks_withheld_total(self) -> int:
        return sum(c.count for c in self.acks_withheld)

    @property
    def mailbox_problems(self) -> int:
        return sum(1 for m in self.mailboxes if not m.ok)
