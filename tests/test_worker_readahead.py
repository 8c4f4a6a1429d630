"""The worker reads one batch ahead (fetch, parse, classify batch k+1 while batch k is stored).
What that must not change: every message is stored once and in order, the cursor ends at the
last UID, and mail that arrives while a batch is being stored is still picked up by the same
round, not left for the next IDLE (which would not announce mail that came before it began).
Real Dovecot, aiosmtpd and SQLite; the rules classifier keeps it quick."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import ClassifierSettings, Organisation, Settings, TransportSettings
from inboxbot.pipeline import Outcome, Processor, Ready
from inboxbot.store import close_store, open_store
from inboxbot.store.models import MailboxCursor, ProcessedMessage
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP

pytestmark = pytest.mark.integration


def request(n: int) -> bytes:
    return (
        f"From: Nils Berg <nils.{n}@example.org>\r\nTo: privacy@example.com\r\nSubject: Radera mina uppgifter\r\n"
        f"Message-ID: <ahead-{n}@example.org>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Jag vill att ni raderar alla mina personuppgifter enligt artikel 17 GDPR.\r\n"
    ).encode()


class AppendingWhileStoring(Processor):
    """The real processor; as it finishes the last batch, a new message lands in the mailbox."""

    def __init__(self, settings: Settings, dovecot: Dovecot, user: MailUser) -> None:
        super().__init__(settings, make_classifier(settings))
        self.dovecot, self.user = dovecot, user
        self.batches: list[list[int]] = []

    async def store(self, batch: Sequence[Ready], *, track_cursor: bool) -> list[Outcome]:
        self.batches.append([r.raw.uid for r in batch])
        outcomes = await super().store(batch, track_cursor=track_cursor)
        if self.batches[-1] == [5]:  # the last batch there was: the read past it has begun
            await asyncio.to_thread(self.dovecot.append, self.user.name, request(99))
        return outcomes


async def test_read_ahead_stores_everything_once_including_mail_that_came_meanwhile(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path
) -> None:
    for n in range(1, 6):
        await asyncio.to_thread(dovecot.append, mailbox_user.name, request(n))
    settings = Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(mailbox_user.name, fetch_batch=2, idle_timeout=30),),
        transport=TransportSettings(kind="smtp", host=smtp_server.host, port=smtp_server.port,
                                    security="plain"),
        classifier=ClassifierSettings(kind="rules"),
        state_dir=tmp_path,
    )
    await open_store(settings.db_url)
    try:
        processor = AppendingWhileStoring(settings, dovecot, mailbox_user)
        worker = Worker(settings, processor, make_transport(settings.transport), targets=[])
        report = await worker.run(once=True)
        assert not report.errors, report.errors
        assert processor.batches == [[1, 2], [3, 4], [5], [6]]  # in order, each once
        assert await ProcessedMessage.all().count() == 6
        assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 6
        assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == sorted(
            [f"nils.{n}@example.org" for n in range(1, 6)] + ["nils.99@example.org"])
    finally:
        await close_store()
