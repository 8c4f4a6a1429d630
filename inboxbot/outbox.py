"""Deliver what the pipeline queued: the persistent outbox.

SMTP being down delays mail and loses none: an item stays pending and is retried with
exponential backoff and jitter. A permanent refusal (5xx) is recorded as failed, not retried
forever, and shows in `inboxbot outbox` and the digest.

An item is marked `sending` (committed) before the SMTP transaction and `sent` after it. If the
process dies in between, the restart cannot know whether the server took the message; it sends
it again with the same Message-ID (at-least-once for that narrow window, and the receiving
side sees the same message twice, not two different ones).

Several workers may deliver from one store: each item is claimed with a conditional UPDATE
before it is sent, so two workers never send the same item. A claimed item that is still
`sending` after SENDING_TIMEOUT (its worker died mid-send) is due again and claimed anew.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_string, policy

from inboxbot.errors import PermanentError, TransientError
from inboxbot.logs import redact_address
from inboxbot.store.models import OutboxItem
from inboxbot.transport import Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # about 1.5 days of backoff in total before the DPO must look
# A claimed item is someone's for this long; if its sender dies, another sends it after that.
SENDING_TIMEOUT = 300.0


def backoff(attempts: int, *, base: float = 30.0, cap: float = 6 * 3600.0) -> float:
    """Seconds to wait after `attempts` failures: exponential, capped, with full jitter."""
    return random.uniform(0.5, 1.0) * min(cap, base * (2 ** max(0, attempts - 1)))


async def _claim(item: OutboxItem, at: datetime) -> bool:
    """Make `item` ours with one conditional UPDATE. `attempts` grows on every claim, so it
    works as a version: of several workers that read the same row, exactly one claims it."""
    claimed = await OutboxItem.filter(
        id=item.id, attempts=item.attempts, status__in=("pending", "sending")
    ).update(status="sending", attempts=item.attempts + 1,
             next_attempt_at=at + timedelta(seconds=SENDING_TIMEOUT))
    if claimed:
        item.status, item.attempts = "sending", item.attempts + 1
    return bool(claimed)


async def deliver_due(transport: Transport, now: Callable[[], datetime], *, limit: int = 50,
                      on_result: Callable[[str, str], None] | None = None) -> tuple[int, int]:
    """Send every pending item whose time has come. Returns (sent, still_pending_or_failed).

    `on_result(purpose, result)` hears of each attempt: sent, deferred or failed (metrics)."""
    report = on_result or (lambda purpose, result: None)
    sent = failed = 0
    items = await OutboxItem.filter(
        status__in=("pending", "sending"), next_attempt_at__lte=now()
    ).order_by("id").limit(limit)
    for item in items:
        if not await _claim(item, now()):
            continue  # another worker took it between our SELECT and now
        message = message_from_string(item.payload, policy=policy.default)
        try:
            await transport.send(message)  # type: ignore[arg-type]
        except PermanentError as exc:
            item.status, item.last_error = "failed", str(exc)[:500]
            await item.save(update_fields=["status", "last_error"])
            log.error("outbox %s to %s refused permanently: %s", item.purpose,
                      redact_address(item.recipient), exc)
            report(item.purpose, "failed")
            failed += 1
            continue
        except TransientError as exc:
            if item.attempts >= MAX_ATTEMPTS:
                item.status = "failed"
            else:
                item.status = "pending"
            item.last_error = str(exc)[:500]
            item.next_attempt_at = now() + timedelta(seconds=backoff(item.attempts))
            await item.save(update_fields=["status", "last_error", "next_attempt_at"])
            log.warning("outbox %s to %s deferred (attempt %d): %s", item.purpose,
                        redact_address(item.recipient), item.attempts, exc)
            report(item.purpose, "failed" if item.status == "failed" else "deferred")
            failed += 1
            # The server is likely down for everyone: stop this round rather than hammer it.
            break
        item.status, item.sent_at, item.last_error = "sent", now(), ""
        await item.save(update_fields=["status", "sent_at", "last_error"])
        report(item.purpose, "sent")
        sent += 1
    return sent, failed


async def pending_count() -> int:
    return await OutboxItem.filter(status__in=("pending", "sending")).count()
