"""Actions carry out a Decision. Each runs inside the transaction that records the message (its
batch's, or its own when a batch is redone one message at a time), so a crash leaves either all
of a message's effects or none of them. Rows nobody reads back before the commit go through
`ActContext.write`, which hands them to the batch to insert together (store/batch.py).

Mail is never sent from here: acknowledgements and notifications are written to the outbox in
the same transaction, and the outbox worker delivers them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.models import Model

from inboxbot.config import Settings
from inboxbot.domain import Inbound, RawMessage, Verdict
from inboxbot.render import ReplyRenderer
from inboxbot.store.batch import Batch
from inboxbot.store.models import Ticket


@dataclass
class ActContext:
    """What every action may use while handling one message."""

    settings: Settings
    renderer: ReplyRenderer
    batch: Batch  # the open transaction, what it knows, and the rows it has yet to write
    raw: RawMessage
    msg: Inbound
    verdict: Verdict
    ticket: Ticket | None = None  # set by open_ticket / follow_up
    suppressed: bool = False
    ack_sent: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def conn(self) -> Any:
        """The open transaction (tortoise BaseDBAsyncClient)."""
        return self.batch.conn

    @property
    def now(self) -> datetime:
        """The batch's one instant."""
        return self.batch.now

    async def write(self, row: Model) -> None:
        """Insert `row` in this transaction, with the batch's next flush."""
        self.batch.add(row)
