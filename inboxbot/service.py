"""Running the worker as a service: systemd readiness, watchdog and status; metrics refresh.

    await serve(settings, worker, metrics=metrics)    # returns after SIGTERM / SIGINT

Beside the worker run two small loops on the same event loop:

- the refresher reads the store's figures (outbox depth, tickets, last fetch per folder) every
  `[metrics] refresh_seconds` and publishes them for the metrics thread and for STATUS=;
- the watchdog feeds systemd's watchdog (WATCHDOG=1) every half period, and only while every
  worker loop is still alive. A loop that died, or an event loop that is blocked, stops the
  feeding, and systemd restarts the unit (`WatchdogSec=`, `Restart=on-failure`).

READY=1 goes out once every mailbox has been tried (opened, refused, or leased to another
worker; see Worker.ready), STOPPING=1 as soon as SIGTERM arrives.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime

from inboxbot.config import Settings
from inboxbot.metrics import Metrics, StoreSnapshot, read_snapshot
from inboxbot.pipeline import TRANSIENT_DB_ERRORS, utc_now
from inboxbot.sdnotify import Notifier
from inboxbot.worker import RunReport, Worker

log = logging.getLogger(__name__)

READY_AT_THE_LATEST = 60.0  # seconds: a mailbox that hangs on connect must not fail the start
WATCHDOG_FALLBACK = 30.0  # seconds between health checks when systemd set no watchdog


def status_line(settings: Settings, snapshot: StoreSnapshot | None, dead: list[str]) -> str:
    """The one line `systemctl status` shows, e.g. 'watching 2 mailboxes; 3 in outbox'."""
    n = sum(len(mb.folders) if mb.kind == "imap" else 1 for mb in settings.mailboxes)
    parts = [f"watching {n} mailbox{'es' if n != 1 else ''}"]
    if snapshot is not None:
        parts.append(f"{snapshot.outbox_depth} in outbox")
        parts.append(f"{snapshot.tickets_open} open tickets ({snapshot.tickets_overdue} overdue)")
        if snapshot.dead_letters:
            parts.append(f"{snapshot.dead_letters} dead letters")
    if dead:
        parts.append("STOPPED LOOPS: " + ", ".join(dead))
    return "; ".join(parts)


class Supervisor:
    """The loops beside a Worker that talk to systemd and keep the metrics fresh."""

    def __init__(self, settings: Settings, worker: Worker, metrics: Metrics, notifier: Notifier,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.worker = worker
        self.metrics = metrics
        self.notifier = notifier
        self.clock = clock
        self.reported_dead: set[str] = set()

    def on_signal(self) -> None:
        self.notifier.stopping("stopping: finishing the message in hand")
        self.worker.stop.set()

    def status(self) -> str:
        return status_line(self.settings, self.metrics.snapshot, self.worker.dead_tasks())

    async def announce_ready(self) -> None:
        try:
            await asyncio.wait_for(self.worker.ready.wait(), READY_AT_THE_LATEST)
        except TimeoutError:
            log.warning("not every mailbox answered within %.0f s; starting anyway", READY_AT_THE_LATEST)
        await self.refresh()
        self.notifier.ready(self.status())
        log.info("ready: %s", self.status())

    async def refresh(self) -> None:
        try:
            self.metrics.publish(await read_snapshot(self.settings, self.clock()))
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("metrics: cannot read the store: %s", exc)

    async def refresh_forever(self) -> None:
        while not self.worker.stop.is_set():
            await self._sleep(self.settings.metrics.refresh_seconds)
            await self.refresh()

    def healthy(self) -> bool:
        dead = self.worker.dead_tasks()
        for name in set(dead) - self.reported_dead:
            task = self.worker.tasks[name]
            exc = None if task.cancelled() else task.exception()
            log.error("worker loop %s stopped: %r; no more watchdog pings, systemd will restart us",
                      name, exc)
        self.reported_dead.update(dead)
        return not dead

    async def watchdog_forever(self) -> None:
        interval = (self.notifier.watchdog_interval or WATCHDOG_FALLBACK * 2) / 2
        while not self.worker.stop.is_set():
            if self.healthy():
                self.notifier.watchdog(self.status())
            else:
                self.notifier.status(self.status())
            await self._sleep(interval)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.worker.stop.wait(), seconds)
        except TimeoutError:
            pass


async def serve(settings: Settings, worker: Worker, *, metrics: Metrics | None = None,
                notifier: Notifier | None = None) -> RunReport:
    """Run `worker` until SIGTERM or SIGINT, with readiness, watchdog, status and metrics."""
    metrics = metrics or worker.metrics
    supervisor = Supervisor(settings, worker, metrics, notifier or Notifier())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.on_signal)
    try:
        metrics.serve()
    except OSError as exc:
        # The mail matters more than its graphs: run on, and say so where it will be seen.
        log.error("metrics: cannot listen on %s (%s); running without /metrics and /healthz",
                  metrics.settings.listen, exc.strerror or exc)
    if metrics.port is not None:
        log.info("metrics on http://%s:%d/metrics and /healthz", metrics.settings.host_port[0], metrics.port)
    helpers = [asyncio.create_task(c) for c in (supervisor.announce_ready(), supervisor.refresh_forever(),
                                                 supervisor.watchdog_forever())]
    try:
        return await worker.run()
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        metrics.close()
