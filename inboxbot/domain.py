"""The plain data that flows through the pipeline.

source -> RawMessage -> parse -> Inbound -> classify -> Verdict -> decide -> Decision -> act.

Everything here is immutable and free of I/O so that each stage can be tested on its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Intent(enum.StrEnum):
    """What the sender wants. The values are the labels of the `classify --json` contract."""

    ACCESS = "access"
    ERASURE = "erasure"
    RECTIFICATION = "rectification"
    OBJECTION = "objection"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    GENERAL = "general"
    AUTO_REPLY = "auto_reply"


# Rights under GDPR Art. 15-22 that run on the Art. 12(3) one-month clock.
RIGHTS_INTENTS: frozenset[Intent] = frozenset(
    {
        Intent.ACCESS,
        Intent.ERASURE,
        Intent.RECTIFICATION,
        Intent.OBJECTION,
        Intent.RESTRICTION,
        Intent.PORTABILITY,
        Intent.CONSENT_WITHDRAWAL,
    }
)

# Intents that stop marketing at once (Art. 21(3), Art. 7(3)).
SUPPRESSING_INTENTS: frozenset[Intent] = frozenset(
    {Intent.UNSUBSCRIBE, Intent.OBJECTION, Intent.CONSENT_WITHDRAWAL}
)

# Intents that become a ticket. A bare unsubscribe is done at once and needs none.
TICKET_INTENTS: frozenset[Intent] = RIGHTS_INTENTS | {Intent.COMPLAINT, Intent.GENERAL}


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as a source hands it over, before anything is interpreted."""

    account: str  # configured mailbox name, e.g. "privacy"
    folder: str  # IMAP folder or Maildir path label
    uidvalidity: int  # IMAP UIDVALIDITY; 0 for sources without one
    uid: int  # IMAP UID, or a source-local sequence number
    raw: bytes
    internaldate: datetime | None  # when it reached our mailbox (timezone-aware), if known
    source_key: str = ""  # source-specific handle used to mark it done (Maildir file name)


@dataclass(frozen=True, slots=True)
class Address:
    addr: str  # normalised addr-spec: local part as written, domain lower-cased
    name: str = ""

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Inbound:
    """A parsed message: everything later stages may look at. Never holds the raw bytes."""

    message_id: str  # with angle brackets; synthesised from a content hash when missing
    sender: Address | None  # From:, None when missing or unparseable
    reply_to: Address | None
    recipients: tuple[str, ...]  # To + Cc addr-specs
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None  # the sender's Date: header, informational only
    received_at: datetime  # when it reached our mailbox: INTERNALDATE, else now
    body: str  # the new text: quoted history and signature stripped
    full_text: str  # the whole plain-text body, for follow-up matching and review
    language: str  # ISO 639-1, "und" when unknown
    headers: tuple[tuple[str, str], ...]  # lower-cased name, decoded value; only the ones rules use
    content_type: str  # top-level content type, e.g. "multipart/report"
    attachments: tuple[str, ...] = ()  # file names
    defects: tuple[str, ...] = ()  # what the parser had to repair, for the record
    size: int = 0  # bytes of the raw message

    def header(self, name: str) -> str | None:
        """First value of a header, by case-insensitive name."""
        key = name.lower()
        for hname, value in self.headers:
            if hname == key:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        key = name.lower()
        return [value for hname, value in self.headers if hname == key]


@dataclass(frozen=True, slots=True)
class IntentScore:
    intent: Intent
    confidence: float  # 0-1
    reason: str  # which rule or model said so


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the classifier concluded, with its reasons. `label` is the main intent."""

    label: Intent
    confidence: float
    intents: tuple[IntentScore, ...]  # every intent found, strongest first; the label included
    automated: bool
    language: str
    reasons: tuple[str, ...]
    needs_review: bool = False
    breach_reported: bool = False  # the sender reports a personal data breach (Art. 33 clock)

    def has(self, intent: Intent) -> bool:
        return any(s.intent == intent for s in self.intents)

    @property
    def intent_set(self) -> frozenset[Intent]:
        return frozenset(s.intent for s in self.intents)


@dataclass(frozen=True, slots=True)
class TicketRef:
    id: int
    reference: str
    status: str
    sender: str


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows that bears on one message. Gathered before deciding."""

    already_processed: bool = False  # same Message-ID seen before (other mailbox, or a retry)
    own_message: bool = False  # one of our own outgoing messages coming back
    thread_ticket: TicketRef | None = None  # the ticket this message follows up, if any
    thread_acknowledged: bool = False  # an acknowledgement already went to this thread
    # An open ticket of the same sender about the same thing, opened within the duplicate window:
    # a repeat of that request joins it (no second clock, no second acknowledgement).
    earlier_request: TicketRef | None = None
    acks_to_sender_today: int = 0
    acks_to_domain_last_hour: int = 0
    acks_last_hour: int = 0
    sender_suppressed: bool = False


class ActionKind(enum.StrEnum):
    OPEN_TICKET = "open_ticket"
    FOLLOW_UP = "follow_up"  # attach to an existing ticket
    SUPPRESS = "suppress"
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"  # notify the DPO now
    RECORD = "record"  # keep the record only (automated mail, duplicates)


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    reason: str
    intents: tuple[Intent, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    """Something a person must look at before acting: recorded on the message and its ticket."""

    kind: str  # "unauthenticated" (sender domain not verified), "sender_mismatch"
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The whole plan for one message. Produced by decide.py, carried out by pipeline.py."""

    outcome: str  # one word for the record: ticket, follow_up, suppressed, automated, duplicate, ...
    actions: tuple[Action, ...]
    withheld_ack_reason: str | None = None  # why no acknowledgement, when none is sent
    flags: tuple[ReviewFlag, ...] = ()  # needs review, and why

    def has(self, kind: ActionKind) -> bool:
        return any(a.kind == kind for a in self.actions)


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date
    rule: str  # human-readable: which rule gave this date


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message we send, fully rendered, as stored in the outbox."""

    to: str
    subject: str
    text: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    message_id: str = ""
    auto_submitted: str = "auto-replied"
    html: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
