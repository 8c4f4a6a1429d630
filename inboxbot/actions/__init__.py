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
    conn: Any  # the open transaction (tortoise BaseDBAsyncClient)
    now: datetime
    raw: RawMessage
    msg: Inbound
    verdict: Verdict
    ticket: Ticket | None = None  # set by open_ticket / follow_up
    suppressed: bool = False
    ack_sent: bool = False
    notes: list[str] = field(default_factory=list)
    batch: Batch | None = None  # the batch transaction's pending rows and knowledge, if any

    async def write(self, row: Model) -> None:
        """Insert `row` in this transaction: with the batch's next flush, or now."""
        if self.batch is not None:
            self.batch.add(row)
        else:
            await row.save(using_db=self.conn)
