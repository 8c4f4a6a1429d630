"""Prometheus metrics and /healthz: what an operator graphs and alerts on.

    metrics = Metrics.from_settings(settings)   # disabled (every call a no-op) without [metrics] listen
    worker = Worker(..., metrics=metrics)       # counts messages and deliveries as they happen
    metrics.publish(await read_snapshot(...))   # gauges, from the event loop (see snapshot.py)
    metrics.serve()                             # /metrics and /healthz on the configured address

Each Metrics has its own registry (never prometheus_client's global one), so tests and several
workers in one process never see each other's numbers. Labels are bounded sets (intents,
outcomes, purposes, configured mailboxes): no addresses, subjects or free text.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from inboxbot.config import MetricsSettings
from inboxbot.metrics.snapshot import Health, StoreSnapshot, health, read_snapshot

if TYPE_CHECKING:
    from inboxbot.metrics.http import MetricsServer
    from inboxbot.pipeline import Outcome

__all__ = ["Health", "Metrics", "StoreSnapshot", "read_snapshot"]


class Metrics:
    """Counters the worker increments, gauges it publishes; all no-ops when not `enabled`."""

    def __init__(self, settings: MetricsSettings | None = None, *, enabled: bool | None = None) -> None:
        self.settings = settings or MetricsSettings()
        self.enabled = bool(self.settings.listen) if enabled is None else enabled
        self.started_at = datetime.now(UTC)
        self.snapshot: StoreSnapshot | None = None  # replaced whole, never mutated: thread-safe
        self.registry = CollectorRegistry()
        self._server: MetricsServer | None = None
        if not self.enabled:
            return
        self.messages = Counter(
            "inboxbot_messages", "Inbound messages handled, by main intent and outcome",
            ["intent", "outcome"], registry=self.registry)
        self.acknowledgements = Counter(
            "inboxbot_acknowledgements",
            "Acknowledgements to senders: queued, or withheld (automated, capped, duplicate...)",
            ["result"], registry=self.registry)
        self.deliveries = Counter(
            "inboxbot_outbox_deliveries",
            "Outbox delivery attempts by purpose (ack, escalation, reminder, digest) and result",
            ["purpose", "result"], registry=self.registry)
        self.dead_letters = Counter(
            "inboxbot_dead_letters_created", "Messages kept as dead letters by this process",
            registry=self.registry)
        self.registry.register(_StoreCollector(self))

    @classmethod
    def disabled(cls) -> Metrics:
        return cls(enabled=False)

    # -- counters, from the worker -----------------------------------------------------------

    def count_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        if not self.enabled:
            return
        for o in outcomes:
            if o.outcome == "dead_letter":
                self.dead_letters.inc()
            self.messages.labels(intent=o.label or "none", outcome=o.outcome).inc()
            if o.acknowledged:
                self.acknowledgements.labels(result="queued").inc()
            elif o.outcome != "dead_letter":
                self.acknowledgements.labels(result="withheld").inc()

    def count_delivery(self, purpose: str, result: str) -> None:
        """`result`: sent, deferred (will retry) or failed (refused for good)."""
        if self.enabled:
            self.deliveries.labels(purpose=purpose, result=result).inc()

    # -- gauges and health, from the event loop and the scrape thread ------------------------

    def publish(self, snapshot: StoreSnapshot) -> None:
        self.snapshot = snapshot

    def health(self, now: datetime | None = None) -> Health:
        return health(self.snapshot, now or datetime.now(UTC),
                      stale_after=timedelta(minutes=self.settings.stale_after_minutes),
                      started_at=self.started_at)

    # -- the HTTP endpoint -------------------------------------------------------------------

    def serve(self) -> None:
        """Start /metrics and /healthz on `settings.listen` (a daemon thread). No-op if disabled."""
        if not self.enabled or self._server is not None:
            return
        from inboxbot.metrics.http import MetricsServer

        host, port = self.settings.host_port
        self._server = MetricsServer(self, host, port)

    @property
    def port(self) -> int | None:
        """The bound port (useful with port 0), once serving."""
        return self._server.port if self._server else None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class _StoreCollector(Collector):
    """Gauges from the last snapshot; ages computed at scrape time, so they keep growing even
    while the database cannot be read."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self.metrics.snapshot
        if snap is None:
            return
        now = time.time()
        for name, doc, value in (
            ("inboxbot_outbox_depth", "Outbox items waiting to be sent", snap.outbox_depth),
            ("inboxbot_outbox_failed", "Outbox items refused for good", snap.outbox_failed),
            ("inboxbot_dead_letters", "Dead letters not yet replayed", snap.dead_letters),
            ("inboxbot_tickets_open", "Open tickets", snap.tickets_open),
            ("inboxbot_tickets_overdue", "Open tickets past their due date", snap.tickets_overdue),
            ("inboxbot_store_snapshot_age_seconds", "Age of these figures",
             now - snap.taken_at.timestamp()),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
        age = GaugeMetricFamily(
            "inboxbot_mailbox_last_success_age_seconds",
            "Seconds since a fetch last reached this folder (any worker); since start if never",
            labels=["mailbox", "folder"])
        started = self.metrics.started_at.timestamp()
        for f in snap.folders:
            seen = f.last_success_at.timestamp() if f.last_success_at else started
            age.add_metric([f.account, f.folder], now - seen)
        yield age
        up = GaugeMetricFamily("inboxbot_healthy", "1 when /healthz would answer 200")
        up.add_metric([], 1.0 if self.metrics.health().ok else 0.0)
        yield up
