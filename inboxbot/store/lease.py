"""Leases: one worker at a time fetches a mailbox folder, across processes and machines.

A lease is a row in `mailbox_lease` per (account, folder) with a holder ("host:pid") and an
expiry. Taking it is one conditional UPDATE (free, expired, or already ours), so of several
workers racing, exactly one wins on PostgreSQL and on SQLite alike. The holder renews it every
third of its time to live; a worker that dies stops renewing and another takes over once the
lease has expired. A holder that cannot renew (database gone, or someone else took the row)
stops fetching before its own expiry, so two holders never overlap while clocks agree.

Why a row and not `pg_try_advisory_lock`: the same code runs on SQLite, it needs no connection
held open per mailbox, and a machine that vanishes without closing its socket is noticed after
the lease's time to live rather than after TCP keepalive (hours by default).

Correctness does not rest on the lease alone: Message-ID is unique in the store and each message
is recorded in one transaction with its effects, so even an overlap (a holder frozen past its
expiry) answers nobody twice. The lease is what keeps workers from doing the same work and racing on cursors.
Expiry uses each worker's wall clock: machines must keep time (NTP) to well within the TTL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError
from tortoise.expressions import Q

from inboxbot.errors import TransientError
from inboxbot.store.models import MailboxLease

log = logging.getLogger(__name__)

DEFAULT_TTL = 45.0  # seconds: with a 10 s retry, a dead worker's mailbox moves within a minute
RETRY_INTERVAL = 10.0  # seconds between attempts by a worker that does not hold the lease
_DB_ERRORS = (OperationalError, DBConnectionError, ConnectionError, TransientError)


def worker_id() -> str:
    """This process's name in lease rows: host and pid, readable in `db status`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def wall_clock() -> datetime:
    # Leases run on real time even when the pipeline's clock is frozen (tests, replays).
    return datetime.now(timezone.utc)


class Lease:
    """The right to work on (account, folder), held by `holder` for `ttl` seconds at a time."""

    def __init__(self, account: str, folder: str, holder: str, *, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], datetime] = wall_clock) -> None:
        self.account = account
        self.folder = folder
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.valid_until: datetime | None = None  # our expiry as of the last successful write

    def __repr__(self) -> str:
        return f"Lease({self.account}/{self.folder}, {self.holder})"

    def _row(self) -> Q:
        return Q(account=self.account, folder=self.folder)

    async def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours. True when we hold it now."""
        now = self.clock()
        if not await MailboxLease.filter(self._row()).exists():
            try:
                await MailboxLease.create(account=self.account, folder=self.folder, holder="",
                                          expires_at=now)
            except IntegrityError:
                pass  # another worker created the row first: fine, we race on the UPDATE below
        taken = await MailboxLease.filter(
            self._row() & (Q(holder=self.holder) | Q(expires_at__lte=now))
        ).update(holder=self.holder, expires_at=now + timedelta(seconds=self.ttl), acquired_at=now)
        self.valid_until = now + timedelta(seconds=self.ttl) if taken else None
        return bool(taken)

    async def renew(self) -> bool:
        """Push our expiry out again. False when the row is no longer ours (we lost it)."""
        now = self.clock()
        kept = await MailboxLease.filter(self._row() & Q(holder=self.holder)).update(
            expires_at=now + timedelta(seconds=self.ttl)
        )
        self.valid_until = now + timedelta(seconds=self.ttl) if kept else None
        return bool(kept)

    async def release(self) -> None:
        """Give the lease up at once (a clean stop), so another worker need not wait for expiry."""
        self.valid_until = None
        await MailboxLease.filter(self._row() & Q(holder=self.holder)).update(
            holder="", expires_at=self.clock()
        )

    async def keep(self) -> None:
        """Renew until the lease is lost; returns then. Runs beside the work it protects."""
        interval = self.ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.renew():
                    log.warning("%r: taken over by another worker", self)
                    return
            except _DB_ERRORS as exc:
                # Cannot tell whether we still hold it. Stop before our last expiry could pass.
                if self.valid_until is None or self.clock() + timedelta(seconds=interval) >= self.valid_until:
                    log.warning("%r: could not renew (%s); stopping", self, exc)
                    return
                log.warning("%r: renewal failed, will retry: %s", self, exc)


async def hold(lease: Lease, body: Callable[[], Coroutine[Any, Any, None]], stop: asyncio.Event, *,
               once: bool = False, retry: float = RETRY_INTERVAL,
               on_wait: Callable[[], None] | None = None) -> None:
    """Run `body` only while holding `lease`; wait and retry every `retry` s while another has it.

    Returns when `body` returns (it watches `stop` itself) or when `stop` is set. If the lease
    is lost, `body` is cancelled and we go back to waiting. With `once`, a lease held by another
    worker means that worker is doing this mailbox's work: return without running `body`.
    """
    while not stop.is_set():
        try:
            held = await lease.acquire()
        except _DB_ERRORS as exc:
            log.warning("%r: could not take: %s", lease, exc)
            held = False
        if not held:
            if on_wait is not None:
                on_wait()
            if once:
                log.info("%r: held by another worker; skipping", lease)
                return
            try:
                await asyncio.wait_for(stop.wait(), retry)
            except TimeoutError:
                pass
            continue
        log.info("%r: taken", lease)
        work = asyncio.create_task(body())
        keeper = asyncio.create_task(lease.keep())
        try:
            await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, keeper):
                task.cancel()
            results = await asyncio.gather(work, keeper, return_exceptions=True)
            if lease.valid_until is not None:
                try:
                    await lease.release()
                except _DB_ERRORS as exc:
                    log.warning("%r: could not release (it expires by itself): %s", lease, exc)
        if work.cancelled() or isinstance(results[0], asyncio.CancelledError):
            continue  # lost the lease mid-work: wait to take it again
        if isinstance(results[0], BaseException):
            raise results[0]
        return
