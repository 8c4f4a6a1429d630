"""The database locked for a moment: the message is retried from the cursor, never skipped.

Another connection holds SQLite's write lock (BEGIN EXCLUSIVE) for two seconds while the worker
starts on three new messages; the store's busy timeout is short (50 ms), so the worker meets the
lock for real. When the lock goes, every message must be handled exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.domain import RawMessage
from inboxbot.parse import parse
from inboxbot.pipeline import TRANSIENT_DB_ERRORS, Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.models import MailboxCursor, OutboxItem, ProcessedMessage, Ticket
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP

pytestmark = pytest.mark.integration


def request(n: int) -> bytes:
    return (
        f"From: Eva Sjö <eva.{n}@example.org>\r\nTo: privacy@example.com\r\nSubject: Delete my data\r\n"
        f"Message-ID: <locked-{n}@example.org>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Please erase all my personal data under Article 17 GDPR.\r\n"
    ).encode()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "inboxbot.sqlite3"
    await open_store(f"sqlite://{path}?busy_timeout=50")
    yield path
    await close_store()


class Lock:
    """Hold SQLite's write lock from another connection, as another process would."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release_after(self, seconds: float) -> threading.Thread:
        def release() -> None:
            time.sleep(seconds)
            self.conn.execute("COMMIT")
            self.conn.close()

        thread = threading.Thread(target=release, daemon=True)
        thread.start()
        return thread


async def test_locked_database_is_waited_out_and_nothing_is_skipped(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, db: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING")
    for n in (1, 2, 3):
        await asyncio.to_thread(dovecot.append, mailbox_user.name, request(n))
    settings = Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(mailbox_user.name, idle_timeout=30),),
        transport=TransportSettings(kind="smtp", host=smtp_server.host, port=smtp_server.port,
                                    security="plain"),
        state_dir=db.parent, outbox_interval=0.1,
    )
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport), targets=[])
    worker.reconnect_base = 0.3
    # Load the language model now, so the worker reaches the store while the lock is held.
    worker.processor.classifier.classify([parse(request(0))])
    lock = Lock(db)
    released = lock.release_after(2.0)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(1.5)
        assert await asyncio.to_thread(_count_read_only, db) == 0  # nothing got through the lock
        released.join()
        got = await smtp_server.wait_for(3, timeout=15)
        await asyncio.sleep(0.5)  # room for a wrong extra acknowledgement to arrive
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 15)
    # It met the lock: in the mailbox lease (taken before fetching) or in the pipeline.
    met = [e for e in worker.report.errors if "locked" in e]
    met += [r.getMessage() for r in caplog.records if "locked" in r.getMessage()]
    assert met, (worker.report.errors, [r.getMessage() for r in caplog.records])
    assert sorted(r.rcpt_tos[0] for r in got) == ["eva.1@example.org", "eva.2@example.org", "eva.3@example.org"]
    assert len(smtp_server.messages) == 3
    assert await ProcessedMessage.all().count() == 3 and await Ticket.all().count() == 3
    assert await OutboxItem.filter(purpose="ack", status="sent").count() == 3
    assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 3


def _count_read_only(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute("select count(*) from processed_message").fetchone()[0])


async def test_pipeline_raises_a_lock_and_leaves_no_half_message(db: Path) -> None:
    """The pipeline itself neither swallows the error (which would skip the message) nor
    leaves part of it written (which a retry would then duplicate)."""
    settings = Settings(state_dir=db.parent)
    processor = Processor(settings, make_classifier(settings))
    raw = RawMessage("privacy", "INBOX", 1, 1, request(9), None)
    lock = Lock(db)
    try:
        with pytest.raises(TRANSIENT_DB_ERRORS):
            await processor.process([raw], track_cursor=True)
    finally:
        lock.release_after(0).join()
    assert await ProcessedMessage.all().count() == 0 and await Ticket.all().count() == 0
    [outcome] = await processor.process([raw], track_cursor=True)  # the retry: handled once
    assert outcome.outcome == "ticket"
    assert await Ticket.all().count() == 1 and await OutboxItem.filter(purpose="ack").count() == 1
