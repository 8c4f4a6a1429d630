"""The worker reads ahead (batch k+2 fetched and parsed, k+1 classified, while batch k is stored).
What that must not change: every message is stored once and in order, the cursor ends at the
last UID, and mail that arrives while a batch is being stored is still picked up by the same
round, not left for the next IDLE (which would not announce mail that came before it began).
Real Dovecot, aiosmtpd and SQLite; the rules classifier keeps it quick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import (
    ClassifierSettings,
    Organisation,
    Settings,
    TransportSettings,
)
from inboxbot.domain import RawMessage
from inboxbot.pipeline import Outcome, Processor
from inboxbot.prepare import ParsedBatch, Ready
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


def batches_of_two(dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP, state: Path) -> Settings:
    return Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(user.name, fetch_batch=2, idle_timeout=30),),
        transport=TransportSettings(kind="smtp", host=smtp.host, port=smtp.port, security="plain"),
        classifier=ClassifierSettings(kind="rules"),
        state_dir=state,
    )


P = TypeVar("P", bound=Processor)


@asynccontextmanager
async def drained_five(dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP, state: Path,
                       make_processor: Callable[[Settings], P]) -> AsyncIterator[P]:
    """Five requests in the mailbox, one `run --once` over them in batches of two with the
    processor made here; yields that processor with the store still open for the checks."""
    for n in range(1, 6):
        await asyncio.to_thread(dovecot.append, user.name, request(n))
    settings = batches_of_two(dovecot, user, smtp, state)
    await open_store(settings.db_url)
    try:
        processor = make_processor(settings)
        report = await Worker(settings, processor, make_transport(settings.transport), targets=[]).run(once=True)
        assert not report.errors, report.errors
        yield processor
    finally:
        await close_store()


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
    async with drained_five(dovecot, mailbox_user, smtp_server, tmp_path,
                            lambda s: AppendingWhileStoring(s, dovecot, mailbox_user)) as processor:
        assert processor.batches == [[1, 2], [3, 4], [5], [6]]  # in order, each once
        assert await ProcessedMessage.all().count() == 6
        assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 6
        assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == sorted(
            [f"nils.{n}@example.org" for n in range(1, 6)] + ["nils.99@example.org"])


class WaitingForTheFetchAhead(Processor):
    """The real processor, but classifying batch [3, 4] waits (up to 10 s) until batch [5] has
    been fetched and parsed: with the three-stage pipeline that happens meanwhile; a worker that
    fetched the next batch only after classifying this one would time out here."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, make_classifier(settings))
        self.parsed_five = asyncio.Event()
        self.overlapped: bool | None = None
        self.parsed: list[list[int]] = []

    async def parse(self, raws: Sequence[RawMessage]) -> ParsedBatch:
        out = await super().parse(raws)
        self.parsed.append([r.uid for r in raws])
        if raws and raws[0].uid == 5:
            self.parsed_five.set()
        return out

    async def classify(self, raws: Sequence[RawMessage], parsed: ParsedBatch) -> list[Ready]:
        if raws[0].uid == 3:
            try:
                await asyncio.wait_for(self.parsed_five.wait(), 10)
                self.overlapped = True
            except TimeoutError:
                self.overlapped = False
        return await super().classify(raws, parsed)


async def test_the_next_batch_is_fetched_and_parsed_while_one_is_classified(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path
) -> None:
    async with drained_five(dovecot, mailbox_user, smtp_server, tmp_path, WaitingForTheFetchAhead) as processor:
        assert processor.overlapped is True
        assert processor.parsed[:3] == [[1, 2], [3, 4], [5]]  # each batch parsed once, in order
        assert await ProcessedMessage.all().count() == 5
        assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 5
