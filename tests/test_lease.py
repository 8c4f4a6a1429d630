"""Leases and claimed delivery (store/lease.py, outbox.py) on SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from inboxbot.outbox import deliver_due
from inboxbot.store import close_store, open_store
from inboxbot.store.lease import Lease, hold
from inboxbot.store.models import MailboxLease, OutboxItem
from inboxbot.transport import parse_stored


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = (request.getfixturevalue("postgres_url") if request.param == "postgres"
           else f"sqlite://{tmp_path / 'inboxbot.sqlite3'}")
    await open_store(url)
    yield request.param
    await close_store()


async def test_one_holder_at_a_time_and_takeover_after_expiry(store: str) -> None:
    a = Lease("privacy", "INBOX", "host-a:1", ttl=0.5)
    b = Lease("privacy", "INBOX", "host-b:2", ttl=0.5)
    results = await asyncio.gather(a.acquire(), b.acquire())
    assert sorted(results) == [False, True]  # racing: exactly one wins
    first, second = (a, b) if results[0] else (b, a)
    assert await first.renew()
    assert not await second.acquire()
    await asyncio.sleep(0.6)  # first stops renewing: its lease expires
    assert await second.acquire()
    assert not await first.renew()  # and first learns it lost the lease
    assert (await MailboxLease.get(account="privacy", folder="INBOX")).holder == second.holder
    await second.release()
    assert await first.acquire()  # released: no need to wait for expiry


async def test_other_mailboxes_are_independent(store: str) -> None:
    assert await Lease("privacy", "INBOX", "a").acquire()
    assert await Lease("dpo", "INBOX", "b").acquire()
    assert await Lease("privacy", "Archive", "b").acquire()


async def test_hold_stops_the_work_when_the_lease_is_lost(store: str) -> None:
    stop = asyncio.Event()
    lease = Lease("privacy", "INBOX", "host-a:1", ttl=0.6)
    runs: list[str] = []

    async def body() -> None:
        runs.append("start")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            runs.append("cancelled")
            raise

    task = asyncio.create_task(hold(lease, body, stop, retry=0.2))
    await asyncio.sleep(0.3)
    assert runs == ["start"]
    # Another worker takes the row (as after our expiry): our renewal fails, the work stops.
    future = datetime.now(timezone.utc) + timedelta(seconds=60)
    await MailboxLease.filter(account="privacy", folder="INBOX").update(holder="host-b:2", expires_at=future)
    await asyncio.sleep(0.6)
    assert runs == ["start", "cancelled"]
    assert not task.done()  # waiting to take the lease again
    stop.set()
    await asyncio.wait_for(task, 2)
    assert (await MailboxLease.get(account="privacy", folder="INBOX")).holder == "host-b:2"


async def test_once_skips_a_mailbox_another_worker_holds(store: str) -> None:
    assert await Lease("privacy", "INBOX", "host-b:2", ttl=60).acquire()
    ran = []

    async def body() -> None:
        ran.append(1)

    await hold(Lease("privacy", "INBOX", "host-a:1"), body, asyncio.Event(), once=True)
    assert ran == []


class SlowTransport:
    """Records what it sends; slow enough that two deliverers overlap."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: EmailMessage) -> None:
        await asyncio.sleep(0.01)
        self.sent.append(str(message["Message-ID"]))

    async def send_stored(self, payload: str) -> None:
        await self.send(parse_stored(payload))


async def test_two_deliverers_never_send_the_same_item(store: str) -> None:
    now = datetime.now(timezone.utc)
    for n in range(30):
        await OutboxItem.create(
            dedupe_key=f"ack:{n}", purpose="ack", recipient=f"p{n}@example.org", message_id=f"<m{n}@example.com>",
            payload=f"Message-ID: <m{n}@example.com>\nTo: p{n}@example.org\n\nhello\n",
            next_attempt_at=now, created_at=now,
        )
    transport = SlowTransport()
    clock = lambda: datetime.now(timezone.utc)
    results = await asyncio.gather(*(deliver_due(transport, clock) for _ in range(3)))  # type: ignore[arg-type]
    assert sum(sent for sent, _ in results) == 30
    assert sorted(transport.sent) == sorted(f"<m{n}@example.com>" for n in range(30))
    assert await OutboxItem.filter(status="sent").count() == 30
