"""What one batch transaction knows, and what it has yet to write: few round trips per message.

The pipeline stores a fetched batch in one transaction (inboxbot/pipeline.py). Asked message by
message, the history behind each decision took about ten queries, and the effects about ten
inserts: each a round trip through the database driver, which cost more than the rest of the
message's handling. Most of those answers are the same for the whole batch, or follow from one
query for the whole batch plus what the batch itself has written:

* *Negative knowledge*, loaded once (`load`): which of the batch's Message-IDs are already
  recorded or are ours, which of its references point at a ticket, which senders have an open
  ticket. A message whose keys matched nothing, and which nothing written in this batch could
  match, needs no query of its own; any other message asks the store exactly as before
  (store/history.py), after `flush`, so it sees what the batch wrote. The answers are the ones the
  per-message queries gave, not approximations.
* The acknowledgement counts behind the reply caps, loaded once and counted up as the batch queues
  acknowledgements. The batch runs at one instant (`now`), so the windows do not move inside it.
* Rows the pipeline does not read back before commit (ticket events), or reads back only through
  a query that flushes first (outbox items, message records), are collected and written with one
  INSERT per table: before any such query, and at the latest before the commit.

Everything here lives inside the one transaction: a rollback throws it away with the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.models import Model

from inboxbot.domain import Inbound
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket, TicketEvent

OPEN_STATUSES = ("open", "awaiting_identity", "extended")
_CHUNK = 500  # values per IN (...): well inside SQLite's and PostgreSQL's parameter limits


def _chunks(values: Iterable[str]) -> list[list[str]]:
    ordered = sorted(set(values))
    return [ordered[i:i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


def references_of(msg: Inbound) -> list[str]:
    """The Message-IDs a message says it answers: where its thread's ticket may be found."""
    return [i for i in ((msg.in_reply_to,) + msg.references) if i]


class Batch:
    """One transaction's knowledge and pending rows. Build with `Batch(conn, now)`, `await
    load(messages)`, use it for every message of the batch, `await flush()` before commit."""

    def __init__(self, conn: Any, now: datetime, *, window_days: int = 0) -> None:
        self.conn = conn
        self.now = now
        self.window_days = window_days
        # Known at load time, from the store:
        self._ids: set[str] = set()  # the batch's Message-IDs, as loaded
        self._recorded: set[str] = set()  # batch Message-IDs with a processed_message row
        self._ours: set[str] = set()  # batch Message-IDs that are outbox items of ours
        self._linked: set[str] = set()  # references naming an outbox item or record with a ticket
        self._with_open: set[str] = set()  # senders with an open ticket inside the window
        self._ack_keys: set[str] = set()  # existing outbox dedupe keys "ack:<Message-ID>"
        self._acks_sender: Counter[str] = Counter()  # acknowledgements per recipient, last day
        self._acks_domain: Counter[str] = Counter()  # per recipient domain, last hour
        self._acks_total = 0  # all acknowledgements, last hour
        # Written by this batch:
        self._recorded_here: set[str] = set()
        self._keys_here: set[str] = set()
        self._touched_senders: set[str] = set()  # senders whose tickets this batch opened or changed
        self._pending: dict[type[Model], list[Model]] = {}

    # -- load --------------------------------------------------------------------------------

    async def load(self, messages: Sequence[Inbound]) -> None:
        """One query per question for the whole batch (per 500 values)."""
        ids = [m.message_id for m in messages]
        self._ids |= set(ids)
        refs = [r for m in messages for r in references_of(m)]
        senders = sorted({m.sender.addr.lower() for m in messages if m.sender is not None})
        domains = sorted({m.sender.domain.lower() for m in messages if m.sender is not None})
        db = self.conn
        for part in _chunks(ids):
            self._recorded |= set(await ProcessedMessage.filter(message_id__in=part)
                                  .using_db(db).values_list("message_id", flat=True))
            self._ours |= set(await OutboxItem.filter(message_id__in=part)
                              .using_db(db).values_list("message_id", flat=True))
            keys = [f"ack:{i}" for i in part]
            self._ack_keys |= set(await OutboxItem.filter(dedupe_key__in=keys)
                                  .using_db(db).values_list("dedupe_key", flat=True))
        for part in _chunks(refs):
            self._linked |= set(await OutboxItem.filter(message_id__in=part, ticket_id__isnull=False)
                                .using_db(db).values_list("message_id", flat=True))
            self._linked |= set(await ProcessedMessage.filter(message_id__in=part, ticket_id__isnull=False)
                                .using_db(db).values_list("message_id", flat=True))
        day, hour = self.now - timedelta(days=1), self.now - timedelta(hours=1)
        for part in _chunks(senders):
            if self.window_days > 0:
                self._with_open |= set(await Ticket.filter(
                    sender__in=part, status__in=OPEN_STATUSES,
                    received_at__gte=self.now - timedelta(days=self.window_days),
                ).using_db(db).values_list("sender", flat=True))
            rows = await OutboxItem.filter(purpose="ack", recipient__in=part, created_at__gte=day) \
                .using_db(db).values_list("recipient", flat=True)
            self._acks_sender.update(rows)
        for domain in domains:  # the same filter as before; a batch has few distinct domains
            self._acks_domain[domain] = await OutboxItem.filter(
                purpose="ack", recipient__endswith="@" + domain, created_at__gte=hour,
            ).using_db(db).count()
        self._acks_total = await OutboxItem.filter(purpose="ack", created_at__gte=hour).using_db(db).count()

    # -- questions ---------------------------------------------------------------------------

    def already_recorded(self, message_id: str) -> bool:
        return message_id in self._recorded or message_id in self._recorded_here

    def is_ours(self, message_id: str) -> bool:
        # Outbox items written by this batch have fresh Message-IDs (outgoing.new_message_id)
        # that no message fetched before them can carry: the store's answer is the whole answer.
        return message_id in self._ours

    def may_link(self, refs: Sequence[str]) -> bool:
        """False when none of `refs` can lead to a ticket: no need to ask the store."""
        return any(r in self._linked or r in self._recorded_here for r in refs)

    def may_have_open(self, sender: str) -> bool:
        return sender in self._with_open or sender in self._touched_senders

    def acks(self, sender: str, domain: str) -> tuple[int, int, int]:
        """(to this sender in the last day, to this domain in the last hour, in the last hour)."""
        return self._acks_sender[sender], self._acks_domain[domain], self._acks_total

    def key_exists(self, key: str) -> bool | None:
        """Whether an outbox item with this dedupe key exists: True/False when known, None when
        only the store can tell (keys other than the batch's own acknowledgements; the rows this
        batch holds back are known here, so the store need not see them first)."""
        if key in self._keys_here or key in self._ack_keys:
            return True
        return False if key.startswith("ack:") and key[4:] in self._ids else None

    # -- what the batch writes ---------------------------------------------------------------

    def recorded(self, message_id: str) -> None:
        self._recorded_here.add(message_id)

    def touched(self, ticket: Ticket) -> None:
        """A ticket was opened or changed: its sender's open tickets must be asked for again."""
        if ticket.sender:
            self._touched_senders.add(ticket.sender)

    def queued(self, key: str, purpose: str, recipient: str) -> None:
        self._keys_here.add(key)
        if purpose == "ack":
            self._acks_sender[recipient] += 1
            self._acks_total += 1
            for domain in list(self._acks_domain):
                if recipient.endswith("@" + domain):
                    self._acks_domain[domain] += 1

    def add(self, row: Model) -> None:
        """Write `row` with the next flush (one INSERT per table)."""
        self._pending.setdefault(type(row), []).append(row)

    async def flush(self) -> None:
        """Write what is pending, in the order it was added within each table."""
        pending, self._pending = self._pending, {}
        for model in (OutboxItem, ProcessedMessage, TicketEvent):
            rows = pending.pop(model, [])
            if rows:
                await model.bulk_create(rows, using_db=self.conn)
        for model, rows in pending.items():
            await model.bulk_create(rows, using_db=self.conn)
