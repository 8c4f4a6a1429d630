"""IMAP faults under a running worker: a restarted or killed Dovecot, a connection cut during
FETCH or STORE, a server that stops answering. The worker must reconnect (with backoff, not a
spin), resume from its cursor, and answer each message exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.pipeline import Processor
from inboxbot.source.imap import ImapFolder
from inboxbot.store import close_store, open_store
from inboxbot.store.models import ProcessedMessage
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.integration


def request(n: int) -> bytes:
    return (
        f"From: Anna Berg <anna.{n}@example.org>\r\nTo: privacy@example.com\r\n"
        f"Subject: Begäran om registerutdrag {n}\r\nMessage-ID: <fault-{n}-{time.time_ns()}@example.org>\r\n"
        "Date: Mon, 02 Mar 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hej, jag begär ett registerutdrag enligt artikel 15 GDPR.\r\n"
    ).encode()


def settings_for(mailbox: Any, smtp: RecordingSMTP, tmp: Path) -> Settings:
    return Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(mailbox,),
        transport=TransportSettings(kind="smtp", host=smtp.host, port=smtp.port, security="plain"),
        state_dir=tmp, outbox_interval=0.1,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Path]:
    await open_store(f"sqlite://{tmp_path / 'inboxbot.sqlite3'}")
    yield tmp_path
    await close_store()


class Running:
    """A worker running in this loop; stopped (and its errors kept) on exit."""

    def __init__(self, settings: Settings, reconnect_base: float = 0.3) -> None:
        self.worker = Worker(settings, Processor(settings, make_classifier(settings)),
                             make_transport(settings.transport), targets=[])
        self.worker.reconnect_base = reconnect_base
        self.task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Worker:
        self.task = asyncio.create_task(self.worker.run())
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        self.worker.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 15)


def acks(smtp: RecordingSMTP) -> list[str]:
    return [r.rcpt_tos[0] for r in smtp.messages if r.rcpt_tos != ["dpo@example.com"]]


async def test_dovecot_restart_mid_idle_then_new_mail_answered_within_10_s(
    dovecot_factory: Callable[..., Dovecot], smtp_server: RecordingSMTP, store: Path
) -> None:
    server = dovecot_factory()
    user = server.users["privacy@example.com"]
    settings = settings_for(server.mailbox_settings(user.name, idle_timeout=60), smtp_server, store)
    async with Running(settings) as worker:
        await asyncio.sleep(1.0)  # connected and idling
        await asyncio.to_thread(server.restart)
        back = time.monotonic()
        await asyncio.to_thread(server.append, user.name, request(1))
        await smtp_server.wait_for(1, timeout=10)
        assert time.monotonic() - back < 10
        assert worker.report.errors  # it did see the connection go
    assert acks(smtp_server) == ["anna.1@example.org"]


async def test_killed_dovecot_is_retried_with_backoff_not_a_spin(
    dovecot_factory: Callable[..., Dovecot], smtp_server: RecordingSMTP, store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = dovecot_factory()
    user = server.users["privacy@example.com"]
    opens: list[float] = []
    real_open = ImapFolder.open

    async def counting_open(self: ImapFolder) -> Any:
        opens.append(time.monotonic())
        return await real_open(self)

    monkeypatch.setattr(ImapFolder, "open", counting_open)
    settings = settings_for(server.mailbox_settings(user.name, idle_timeout=60), smtp_server, store)
    async with Running(settings):
        await asyncio.sleep(1.0)
        await asyncio.to_thread(server.kill)  # SIGKILL: clients see EOF, then refused connects
        killed = time.monotonic()
        await asyncio.sleep(4.0)
        during = [t for t in opens if t > killed]
        # Backoff 0.3 s doubling, with jitter: about 4 tries in 4 s. A spin would make hundreds.
        assert 1 <= len(during) <= 7, len(during)
        await asyncio.to_thread(server.start)
        back = time.monotonic()
        await asyncio.to_thread(server.append, user.name, request(2))
        await smtp_server.wait_for(1, timeout=10)
        assert time.monotonic() - back < 10
    assert acks(smtp_server) == ["anna.2@example.org"]


@pytest.mark.parametrize("command", [b"UID FETCH", b"UID STORE", b"IDLE"])
async def test_connection_cut_during_a_command(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path,
    command: bytes,
) -> None:
    proxy = FaultProxy(dovecot.host, dovecot.port).start()
    try:
        mailbox = dovecot.mailbox_settings(mailbox_user.name, security="plain", port=proxy.port,
                                           idle_timeout=60)
        for n in (1, 2):
            await asyncio.to_thread(dovecot.append, mailbox_user.name, request(n))
        proxy.drop_on(command)
        async with Running(settings_for(mailbox, smtp_server, store)) as worker:
            await smtp_server.wait_for(2, timeout=10)
            if command == b"IDLE":  # the cut comes while idling: mail after it is still seen
                await asyncio.sleep(0.5)
                await asyncio.to_thread(dovecot.append, mailbox_user.name, request(3))
                await smtp_server.wait_for(3, timeout=10)
            await asyncio.sleep(0.5)  # time for a wrong second answer to show up
            assert proxy.dropped == 1 and proxy.accepted >= 2  # cut once, and reconnected
            assert worker.report.errors or command == b"UID STORE"
        expected = ["anna.1@example.org", "anna.2@example.org"] + (["anna.3@example.org"] if command == b"IDLE" else [])
        assert sorted(acks(smtp_server)) == expected
        assert await ProcessedMessage.all().count() == len(expected)
    finally:
        proxy.stop()


async def test_hung_server_is_noticed_dropped_and_reconnected(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    proxy = FaultProxy(dovecot.host, dovecot.port).start()
    try:
        # Without the watchdog this worker would sit in IDLE for 60 s and never notice.
        mailbox = dovecot.mailbox_settings(mailbox_user.name, security="plain", port=proxy.port,
                                           idle_timeout=60, idle_probe=1.0, timeout=1.0)
        async with Running(settings_for(mailbox, smtp_server, store)):
            await asyncio.sleep(0.8)
            proxy.hang()  # nothing comes through either way; new connections get no greeting
            await asyncio.sleep(4.0)
            assert proxy.accepted >= 2  # the silence was noticed and a reconnect attempted
            await asyncio.to_thread(dovecot.append, mailbox_user.name, request(4))
            proxy.resume()
            back = time.monotonic()
            await smtp_server.wait_for(1, timeout=10)
            assert time.monotonic() - back < 10
        assert acks(smtp_server) == ["anna.4@example.org"]
    finally:
        proxy.stop()


async def test_idle_is_renewed_within_idle_timeout(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    """RFC 2177: a client must re-issue IDLE at least every 29 minutes; we do it every
    `idle_timeout` (25 minutes by default; 0.5 s here)."""
    proxy = FaultProxy(dovecot.host, dovecot.port).start()
    try:
        mailbox = dovecot.mailbox_settings(mailbox_user.name, security="plain", port=proxy.port,
                                           idle_timeout=0.5)
        async with Running(settings_for(mailbox, smtp_server, store)):
            await asyncio.sleep(2.6)
        idles = bytes(proxy.client_bytes).count(b" IDLE\r\n")
        dones = bytes(proxy.client_bytes).count(b"DONE\r\n")
        assert 4 <= idles <= 7 and dones >= idles - 1, (idles, dones)
        assert proxy.accepted == 1  # renewed on the same connection
    finally:
        proxy.stop()

