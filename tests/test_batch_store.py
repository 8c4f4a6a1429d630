"""One transaction per batch: the same store as one transaction per message, for the same mail.

The generated mixed batch (tests/crashharness.generate: requests, follow-ups to requests in the
same batch, out-of-office, bounces, list mail, repeats) is stored once as one batch of 150 and
once one message at a time; every outcome and every row that decides what anyone is told must
come out the same, the reply caps included. A message that fails inside a batch sends the batch
back to one transaction per message, so that it alone becomes a dead letter."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from inboxbot.classify import make_classifier
from inboxbot.config import ClassifierSettings, Organisation, Settings
from inboxbot.domain import RawMessage
from inboxbot.pipeline import Outcome, Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.models import (
    DeadLetter,
    MailboxCursor,
    OutboxItem,
    ProcessedMessage,
    Ticket,
)
from tests.crashharness import generate
from tests.helpers_pipeline import poison_acknowledgements

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def settings_in(state: Path, *, per_sender: int = 3, per_domain: int = 25) -> Settings:
    s = Settings(state_dir=state, classifier=ClassifierSettings(kind="rules"),
                 organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                           dpo_email="dpo@example.com"))
    return replace(s, replies=replace(s.replies, max_per_sender_per_day=per_sender,
                                      max_per_domain_per_hour=per_domain, max_per_hour=90))


def mailbox(count: int) -> list[RawMessage]:
    items = generate(count, 11)
    raws = [RawMessage("privacy", "INBOX", 1, i + 1, it.raw, None) for i, it in enumerate(items)]
    # The same mail again, later in the folder: duplicates of messages in the same batch.
    return raws + [RawMessage("privacy", "INBOX", 1, count + 1 + i, items[i * 9 % count].raw, None) for i in range(10)]


async def stored(state: Path, raws: list[RawMessage], batch: int) -> tuple[list[Outcome], dict[str, list]]:
    settings = settings_in(state)
    await open_store(settings.db_url)
    try:
        processor = Processor(settings, make_classifier(settings), clock=lambda: NOW)
        outcomes: list[Outcome] = []
        for i in range(0, len(raws), batch):
            outcomes += await processor.process(raws[i:i + batch], track_cursor=True)
    finally:
        await close_store()
    with sqlite3.connect(state / "inboxbot.sqlite3") as db:
        def rows(sql: str) -> list:
            return [tuple(r) for r in db.execute(sql)]
        tables = {
            "tickets": rows("select id, reference, sender, status, intents, needs_review, due_date from ticket order by id"),
            "events": rows("select ticket_id, kind, detail, at from ticket_event order by ticket_id, id"),
            "outbox": rows("select dedupe_key, purpose, recipient, ticket_id, created_at from outbox order by dedupe_key"),
            "records": rows("select message_id, outcome, ticket_id, needs_review, reasons, ack_withheld from "
                            "processed_message order by message_id"),
            "suppressions": rows("select address_hash, scope, source from suppression order by address_hash"),
            "cursor": rows("select account, folder, last_uid from mailbox_cursor"),
        }
    return outcomes, tables


async def test_one_batch_stores_what_one_message_at_a_time_stores(tmp_path: Path) -> None:
    raws = mailbox(140)
    together, store_together = await stored(tmp_path / "together", raws, batch=150)
    alone, store_alone = await stored(tmp_path / "alone", raws, batch=1)
    assert together == alone
    assert store_together == store_alone
    kinds = {o.outcome for o in together}
    assert {"ticket", "follow_up", "automated", "suppressed", "duplicate"} <= kinds, kinds
    assert any(o.withheld and "cap of" in o.withheld for o in together)  # a reply cap was reached
    assert store_together["cursor"] == [("privacy", "INBOX", 150)]


async def test_a_poison_message_sends_its_batch_back_to_one_transaction_each(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    await open_store(settings.db_url)
    try:
        processor = Processor(settings, make_classifier(settings), clock=lambda: NOW)
        poison_acknowledgements(processor)
        raws = mailbox(30)[:30]
        poison = raws[12].raw.replace(b"Subject: ", b"Subject: POISON ", 1)
        raws[12] = replace(raws[12], raw=poison)
        outcomes = await processor.process(raws, track_cursor=True)
        assert [o.outcome == "dead_letter" for o in outcomes] == [i == 12 for i in range(30)]
        assert await DeadLetter.all().count() == 1
        assert await ProcessedMessage.all().count() == 29  # each of the rest once, no half batch left
        tickets = sum(o.outcome == "ticket" for o in outcomes)
        assert await Ticket.all().count() == tickets
        assert await OutboxItem.filter(purpose="ack").count() == sum(o.acknowledged for o in outcomes)
        assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 30
    finally:
        await close_store()
