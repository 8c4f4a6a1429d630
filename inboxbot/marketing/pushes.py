"""The persistent push outbox: suppression events on their way to each marketing system.

`enqueue` writes one SuppressionPush row per (event, target), inside the caller's transaction,
so the suppression and its pushes commit together. `deliver_pushes` sends what is due.

Each target's rows go strictly in order (by id): a row waiting for a retry holds back the rows
behind it, so an unsuppress never overtakes its suppress and a system that is down is asked
once per round, not once per row. A transient failure is retried with exponential backoff and
jitter, for as long as it takes: a marketing API being down delays a suppression, never drops
it. Only a permanent refusal (a 4xx other than auth) marks the row failed; `inboxbot suppress
status` shows those, and `suppress sync` sends everything again once the cause is fixed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inboxbot.errors import PermanentError, TransientError
from inboxbot.marketing import EventAction, SuppressionEvent, SuppressionTarget
from inboxbot.outbox import backoff
from inboxbot.store.models import SuppressionPush

log = logging.getLogger(__name__)

BACKOFF_CAP = 6 * 3600.0  # seconds: even a long outage is retried a few times a day
IN_FLIGHT = 120.0  # seconds a claimed row stays with its worker ([worker] sending_timeout)


async def _claim(row: SuppressionPush, at: datetime, in_flight: float) -> bool:
    """Take the head row of a target with one conditional UPDATE (`attempts` as its version).

    While claimed, the row is not due for anyone else, and since each target's rows go strictly
    in order, the rows behind it wait too: two workers never push one target out of order.
    If the claiming worker dies, the row is due again after `in_flight` s (adapters are idempotent).
    """
    claimed = await SuppressionPush.filter(id=row.id, attempts=row.attempts, status="pending").update(
        attempts=row.attempts + 1, next_attempt_at=at + timedelta(seconds=in_flight)
    )
    if claimed:
        row.attempts += 1
    return bool(claimed)


def new_event(action: EventAction, sha256: str, address: str | None, scope: str,
              at: datetime) -> SuppressionEvent:
    """A fresh event with a random id (the id then stays the same across all retries)."""
    return SuppressionEvent(uuid.uuid4().hex, action, address, sha256, scope, at)


async def enqueue(event: SuppressionEvent, targets: Sequence[str], *, conn: Any = None) -> int:
    """Queue `event` for each target name; an (event, target) already queued is left alone."""
    queued = 0
    for name in targets:
        _, created = await SuppressionPush.get_or_create(
            event_id=event.id, target=name, using_db=conn, defaults=_queued_fields(event))
        queued += int(created)
    return queued


async def enqueue_new(event: SuppressionEvent, targets: Sequence[str], *, conn: Any = None) -> int:
    """Queue an event that `new_event` has just made for each target, in one INSERT.

    Its random id cannot be queued yet, so `enqueue`'s look for an existing row (a SELECT and a
    savepoint per target) has nothing to find: the rows written are the same."""
    rows = [SuppressionPush(event_id=event.id, target=name, **_queued_fields(event)) for name in targets]
    if rows:
        await SuppressionPush.bulk_create(rows, using_db=conn)
    return len(rows)


def _queued_fields(event: SuppressionEvent) -> dict[str, Any]:
    """A push row's fields besides its event id and target, as first queued."""
    return {"action": event.action, "address": event.address, "address_hash": event.sha256,
            "scope": event.scope, "event_at": event.at, "next_attempt_at": event.at}


def _event(row: SuppressionPush) -> SuppressionEvent:
    return SuppressionEvent(row.event_id, row.action, row.address,  # type: ignore[arg-type]
                            row.address_hash, row.scope, row.event_at)


@dataclass
class PushReport:
    sent: int = 0
    deferred: int = 0  # transient failures: retried later
    failed: int = 0  # permanent refusals
    errors: list[str] = field(default_factory=list)


async def deliver_pushes(targets: Sequence[SuppressionTarget], now: Callable[[], datetime], *,
                         limit: int = 100, in_flight: float = IN_FLIGHT) -> PushReport:
    """Push every due row for each target, in order, until a target defers or `limit` rows sent."""
    report = PushReport()
    for target in targets:
        for _ in range(limit):
            row = await SuppressionPush.filter(target=target.name, status="pending").order_by("id").first()
            if row is None or row.next_attempt_at > now():
                break
            if not await _claim(row, now(), in_flight):
                break  # another worker is pushing this target's head row: it keeps the order
            try:
                await target.push(_event(row))
            except TransientError as exc:
                delay = max(exc.retry_after, backoff(row.attempts, cap=BACKOFF_CAP))
                row.next_attempt_at = now() + timedelta(seconds=delay)
                row.last_error = str(exc)[:500]
                await row.save(update_fields=["attempts", "next_attempt_at", "last_error"])
                report.deferred += 1
                report.errors.append(f"{target.name}: {exc}")
                log.warning("suppression push to %s deferred (attempt %d, next in %.0f s): %s",
                            target.name, row.attempts, delay, exc)
                break  # the rest of this target's queue waits behind this row
            except PermanentError as exc:
                row.status, row.last_error = "failed", str(exc)[:500]
                await row.save(update_fields=["attempts", "status", "last_error"])
                report.failed += 1
                report.errors.append(f"{target.name}: {exc}")
                log.error("suppression push to %s refused: %s", target.name, exc)
                continue
            row.status, row.sent_at, row.last_error = "sent", now(), ""
            await row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
            report.sent += 1
    return report


async def pending_pushes() -> int:
    return await SuppressionPush.filter(status="pending").count()

