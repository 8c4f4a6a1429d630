"""The worker's chores beside the mailboxes: sending the outbox, pushing suppressions to the
marketing systems, queueing deadline reminders and the weekly digest.

Each chore has one round (what `run --once` calls) and a loop around it (what the service runs).
The store decides what is due, so a round repeated after a restart, or run by two workers at
once, sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError

from inboxbot.config import Settings
from inboxbot.digest import queue_digest
from inboxbot.marketing import SuppressionTarget
from inboxbot.marketing.pushes import deliver_pushes
from inboxbot.metrics import Metrics
from inboxbot.outbox import deliver_due
from inboxbot.pipeline import TRANSIENT_DB_ERRORS, Outcome
from inboxbot.reminders import queue_reminders
from inboxbot.store.models import OutboxItem
from inboxbot.transport import Transport
from inboxbot.undelivered import notify_undelivered

if TYPE_CHECKING:
    from inboxbot.render import ReplyRenderer

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 3600.0  # seconds between deadline checks; each reminder goes out once
DIGEST_INTERVAL = 300.0  # seconds between digest checks: it goes out within minutes of its slot


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)
    sent: int = 0
    pending: int = 0
    pushed: int = 0  # suppression events delivered to marketing systems
    errors: list[str] = field(default_factory=list)


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set, but no longer than `seconds`."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass


class Chores:
    """The outbox, suppression pushes, reminders and the digest of one worker. `outbox_wakeup`
    and `push_wakeup` are set by the pipeline when a batch queued mail or suppressions."""

    def __init__(self, settings: Settings, renderer: ReplyRenderer, transport: Transport,
                 clock: Callable[[], datetime], targets: Sequence[SuppressionTarget],
                 metrics: Metrics, report: RunReport, stop: asyncio.Event) -> None:
        self.settings = settings
        self.renderer = renderer
        self.transport = transport
        self.clock = clock
        self.targets = list(targets)
        self.metrics = metrics
        self.report = report
        self.stop = stop
        self.outbox_wakeup = asyncio.Event()
        self.push_wakeup = asyncio.Event()

    # -- reminders ---------------------------------------------------------------------------

    async def remind(self) -> None:
        try:
            if await queue_reminders(self.settings, self.renderer, self.clock()):
                self.outbox_wakeup.set()
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("reminders: %s", exc)
        except IntegrityError:
            # Another worker queued the same reminder between our check and our insert; its
            # dedupe key won. What is left of this round is done by that worker's round.
            log.info("reminders: queued by another worker")

    async def remind_forever(self) -> None:
        while not self.stop.is_set():
            await self.remind()
            await wait_at_most(self.stop, REMINDER_INTERVAL)

    # -- weekly digest -----------------------------------------------------------------------

    async def digest(self) -> None:
        """Queue the weekly digest if it is owed; the store decides, so restarts are safe."""
        try:
            if await queue_digest(self.settings, self.clock()):
                self.outbox_wakeup.set()
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("digest: %s", exc)
        except Exception:  # noqa: BLE001 - a broken digest template must not stop the mail
            log.exception("digest could not be made; will try again at the next check")

    async def digest_forever(self) -> None:
        while not self.stop.is_set():
            await self.digest()
            await wait_at_most(self.stop, DIGEST_INTERVAL)

    # -- outbox ------------------------------------------------------------------------------

    async def _undelivered(self, item: OutboxItem, reason: str, conn: object) -> None:
        await notify_undelivered(self.settings, self.renderer, item, reason, conn, self.clock())

    async def deliver_round(self) -> tuple[int, int]:
        """One round of the outbox: (sent, failed), the sent counted in the report."""
        sent, failed = await deliver_due(self.transport, self.clock, on_failure=self._undelivered,
                                         sending_timeout=self.settings.sending_timeout,
                                         on_result=self.metrics.count_delivery)
        self.report.sent += sent
        return sent, failed

    async def deliver_all(self) -> None:
        """--once: deliver until nothing is due, or the transport refuses for now."""
        while True:
            sent, failed = await self.deliver_round()
            if failed or not sent:
                return

    async def deliver_while(self, done: asyncio.Event) -> None:
        """--once: deliver what the pipeline queues until `done`. Stops early, leaving the rest
        to the final round, when the transport refuses for now or the database is busy."""
        while not done.is_set():
            self.outbox_wakeup.clear()
            try:
                sent, failed = await self.deliver_round()
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("outbox: %s", exc)
                return
            if failed:
                return
            if not sent:
                await self.outbox_wakeup.wait()

    async def deliver_forever(self) -> None:
        while not self.stop.is_set():
            # Cleared before looking, not after: a wakeup that comes while deliver_due runs
            # (a batch committed after its SELECT) must start another round at once, not be
            # wiped and left to outbox_interval (it was: IDLE latency p95 = outbox_interval).
            self.outbox_wakeup.clear()
            try:
                sent, _ = await self.deliver_round()
                if sent:
                    continue
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("outbox: %s", exc)
            await wait_at_most(self.outbox_wakeup, self.settings.outbox_interval)

    async def close_transport(self) -> None:
        """Let go of the kept SMTP connection (a QUIT); a failure here loses nothing."""
        if self.transport is not None:
            try:
                await self.transport.close()
            except Exception:  # noqa: BLE001 - stopping anyway
                log.debug("closing the transport failed", exc_info=True)

    # -- suppression pushes ------------------------------------------------------------------

    async def push_round(self) -> None:
        """One round of suppression pushes, the delivered counted in the report."""
        result = await deliver_pushes(self.targets, self.clock, in_flight=self.settings.sending_timeout)
        self.report.pushed += result.sent

    async def push_all(self) -> None:
        """--once: one round; a target that defers is retried by the next run."""
        if not self.targets:
            return
        try:
            await self.push_round()
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("suppression pushes: %s", exc)

    async def push_forever(self) -> None:
        while not self.stop.is_set():
            self.push_wakeup.clear()  # before the round, as in deliver_forever
            try:
                await self.push_round()
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("suppression pushes: %s", exc)
            # Rows waiting on backoff are picked up by a later round; new suppressions wake us.
            await wait_at_most(self.push_wakeup, self.settings.outbox_interval)
