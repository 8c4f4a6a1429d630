"""Deliver what the pipeline queued: the persistent outbox.

SMTP being down delays mail and loses none: an item stays pending and is retried with
exponential backoff and jitter. A permanent refusal (5xx), or running out of attempts, marks the
item `failed` and, in the same transaction, hands it to `on_failure` (the worker queues one
notice to the DPO and records it on the ticket): never retried forever, never silent.

What a crash can do, and why this is the honest guarantee
---------------------------------------------------------
An item is marked `sending` (committed) before the SMTP transaction and `sent` (committed) after
the server's final 250. If the process dies between the two, nobody can know whether the server
took the message: SMTP has no way to ask "did you already accept Message-ID X?" (a submission
server keeps no queryable record, and DSN's ENVID only reports back later). We have two
choices: never resend (the acknowledgement may be lost: a data subject who is owed a reply
gets none) or resend (the server may get it twice). For a legal record losing is worse, so we
resend, and make the resend harmless:

* the payload is rendered once, at queue time, and stored: a resend is byte-identical, with
  the same Message-ID, so it is the same message (RFC 5322 3.6.4), not a second
  acknowledgement; many receiving systems drop such a copy, others show it twice;
* only an item left in `sending` can be resent, and items are sent one at a time, so one crash
  causes at most one such copy; the resend is logged and noted in `last_error`;
* an acknowledgement is queued in the same transaction that records its inbound message, under
  a unique `dedupe_key`, so there can never be two *different* acknowledgements for one message.

So: each due acknowledgement reaches the SMTP server at least once; the recipient never sees
two different acknowledgements for one request; an identical copy (same Message-ID) is possible
only for a message in flight at the instant of a crash, at most one per crash.

Several workers may deliver from one store: each item is claimed with a conditional UPDATE
before it is sent, so two workers never send the same item. A claimed item that is still
`sending` after `sending_timeout` (its worker died mid-send) is due again and claimed anew.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from inboxbot.errors import PermanentError, TransientError
from inboxbot.logs import redact_address
from inboxbot.store.models import OutboxItem
from inboxbot.transport import Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # about 1.5 days of backoff in total before the DPO must look
# A claimed item is someone's for this long; if its sender dies, another (or the restarted one)
# sends it after that. Longer than any one SMTP transaction ([transport] timeout is per step).
SENDING_TIMEOUT = 120.0

# Called with (item, reason, conn) inside the transaction that marks an item failed.
FailureHook = Callable[[OutboxItem, str, Any], Awaitable[None]]

INTERRUPTED = "previous attempt interrupted; resent with the same Message-ID"


def backoff(attempts: int, *, base: float = 30.0, cap: float = 6 * 3600.0) -> float:
    """Seconds to wait after `attempts` failures: exponential, capped, with full jitter."""
    return random.uniform(0.5, 1.0) * min(cap, base * (2.0 ** max(0, attempts - 1)))


# Stand-ins for the claim's values while its SQL is written once: unlike any real id or count.
_SAMPLE_ID, _SAMPLE_SEEN, _SAMPLE_NEXT = -7_000_001, -7_000_002, -7_000_003
_SAMPLE_AT = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


@dataclass(frozen=True)
class _ClaimStatement:
    """The claim UPDATE exactly as tortoise writes it for one dialect, with the places of its
    changing values: writing it through the query builder cost ~0.15 ms per item, the same
    text every time."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[int, int, int, int]  # where the id, the seen attempts, the new attempts, the time go

    @classmethod
    def build(cls, db: Any) -> _ClaimStatement:
        query = OutboxItem.filter(
            id=_SAMPLE_ID, attempts=_SAMPLE_SEEN, status__in=("pending", "sending")
        ).using_db(db).update(status="sending", attempts=_SAMPLE_NEXT, next_attempt_at=_SAMPLE_AT)
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        samples = (_SAMPLE_ID, _SAMPLE_SEEN, _SAMPLE_NEXT, _to_db_time(_SAMPLE_AT))
        slots = tuple(params.index(sample) for sample in samples)
        return cls(sql, tuple(params), slots)  # type: ignore[arg-type]

    def bind(self, item_id: int, seen: int, at: datetime) -> list[Any]:
        params = list(self.params)
        for slot, value in zip(self.slots, (item_id, seen, seen + 1, _to_db_time(at)), strict=True):
            params[slot] = value
        return params


def _to_db_time(at: datetime) -> Any:
    # No instance, as the query builder passes none for an UPDATE's values.
    return OutboxItem._meta.fields_map["next_attempt_at"].to_db_value(at, None)  # type: ignore[arg-type]


_claim_statements: dict[tuple[str, type], _ClaimStatement] = {}


def claim_statement(db: Any) -> _ClaimStatement:
    """The claim UPDATE for `db`'s dialect, written on first use."""
    key = (db.capabilities.dialect, db.query_class)
    statement = _claim_statements.get(key)
    if statement is None:
        statement = _claim_statements[key] = _ClaimStatement.build(db)
    return statement


async def _claim(item: OutboxItem, at: datetime, sending_timeout: float) -> bool:
    """Make `item` ours with one conditional UPDATE. `attempts` grows on every claim, so it
    works as a version: of several workers that read the same row, exactly one claims it."""
    db = OutboxItem._meta.db
    statement = claim_statement(db)
    claimed, _ = await db.execute_query(
        statement.sql, statement.bind(item.id, item.attempts, at + timedelta(seconds=sending_timeout)))
    if claimed:
        item.status, item.attempts = "sending", item.attempts + 1
    return bool(claimed)


async def _fail(item: OutboxItem, reason: str, on_failure: FailureHook | None) -> None:
    """Mark `item` failed and tell the hook, in one transaction: the notice exists iff the
    failure is recorded, so a crash can neither lose it nor make two."""
    async with in_transaction() as conn:
        item.status, item.last_error = "failed", reason[:500]
        await item.save(using_db=conn, update_fields=["status", "last_error"])
        if on_failure is not None:
            await on_failure(item, reason, conn)


async def deliver_due(transport: Transport, now: Callable[[], datetime], *, limit: int = 50,
                      on_failure: FailureHook | None = None,
                      sending_timeout: float = SENDING_TIMEOUT,
                      on_result: Callable[[str, str], None] | None = None) -> tuple[int, int]:
    """Send every pending item whose time has come. Returns (sent, still_pending_or_failed).

    `on_result(purpose, result)` hears of each attempt: sent, deferred or failed (metrics)."""
    report = on_result or (lambda purpose, result: None)
    sent = failed = 0
    items = await OutboxItem.filter(
        status__in=("pending", "sending"), next_attempt_at__lte=now()
    ).order_by("id").limit(limit)
    for item in items:
        was_sending = item.status == "sending"
        if not await _claim(item, now(), sending_timeout):
            continue  # another worker took it between our SELECT and now
        if was_sending:
            # Its sender died during the SMTP transaction (see the module docstring).
            log.warning("outbox %s %s to %s: %s", item.purpose, item.id,
                        redact_address(item.recipient), INTERRUPTED)
            item.last_error = INTERRUPTED
            await item.save(update_fields=["last_error"])
        try:
            await transport.send_stored(item.payload)
        except PermanentError as exc:
            await _fail(item, str(exc), on_failure)
            log.error("outbox %s to %s refused permanently: %s", item.purpose,
                      redact_address(item.recipient), exc)
            report(item.purpose, "failed")
            failed += 1
            continue
        except TransientError as exc:
            failed += 1
            if item.attempts >= MAX_ATTEMPTS:
                await _fail(item, f"gave up after {item.attempts} attempts: {exc}", on_failure)
                log.error("outbox %s to %s: gave up after %d attempts: %s", item.purpose,
                          redact_address(item.recipient), item.attempts, exc)
                report(item.purpose, "failed")
                continue
            item.status = "pending"
            item.last_error = str(exc)[:500]
            item.next_attempt_at = now() + timedelta(seconds=backoff(item.attempts))
            await item.save(update_fields=["status", "last_error", "next_attempt_at"])
            log.warning("outbox %s to %s deferred (attempt %d): %s", item.purpose,
                        redact_address(item.recipient), item.attempts, exc)
            report(item.purpose, "deferred")
            # The server is likely down for everyone: stop this round rather than hammer it.
            break
        item.status, item.sent_at = "sent", now()
        item.last_error = INTERRUPTED if item.last_error == INTERRUPTED else ""
        await item.save(update_fields=["status", "sent_at", "last_error"])
        report(item.purpose, "sent")
        sent += 1
    return sent, failed


async def pending_count() -> int:
    return await OutboxItem.filter(status__in=("pending", "sending")).count()
