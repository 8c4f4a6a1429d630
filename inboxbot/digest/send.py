"""Queue the digest in the outbox, once per scheduled week.

The DigestRun row and the outbox items (one per recipient) are written in one transaction, and
the run's key is unique: a restart, a second worker, or `run --once` on a timer can neither skip
a week (the check looks at the store, not at memory) nor repeat one (the insert would collide).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from inboxbot.config import Settings
from inboxbot.digest.collect import collect
from inboxbot.digest.render import DigestRenderer, RenderedDigest, render
from inboxbot.digest.schedule import digest_tz, is_due, last_slot, week_key, weeks_before
from inboxbot.domain import Outgoing
from inboxbot.outgoing import build_message, new_message_id
from inboxbot.store.models import DigestRun, OutboxItem

log = logging.getLogger(__name__)


def recipients(settings: Settings) -> tuple[str, ...]:
    return settings.digest.recipients or (settings.organisation.dpo_email,)


def language(settings: Settings) -> str:
    return settings.digest.language or settings.organisation.languages[0]


async def last_scheduled_week() -> str | None:
    """Week key of the latest scheduled (or baseline) digest; manual sends do not count."""
    run = await DigestRun.exclude(kind="manual").order_by("-week").first()
    return run.week if run else None


async def build_digest(settings: Settings, now: datetime, period_end: datetime) -> RenderedDigest:
    data = await collect(settings, now, period_end=period_end)
    return render(data, DigestRenderer(settings.prompts_dir), language(settings))


async def queue_digest(settings: Settings, now: datetime, *, force: bool = False) -> bool:
    """Queue the digest when the schedule says it is owed; with `force`, queue one now for the
    seven days up to `now` (a manual send, which leaves the schedule alone). Returns True when
    something was queued.

    A store with no digest history records the current week as a baseline and sends nothing:
    a new installation does not open with a digest of an empty week, and its first digest goes
    at the next slot.
    """
    slot = last_slot(settings, now)
    week = week_key(slot)
    if force:
        week = week_key(now.astimezone(digest_tz(settings)))
        key, kind, period_end = f"{week}:manual:{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}", "manual", now
    else:
        last = await last_scheduled_week()
        if not is_due(settings, now, last):
            return False
        key, kind, period_end = week, "scheduled", slot
        if last is None:
            try:
                await DigestRun.create(key=week, week=week, kind="baseline", window_start=weeks_before(slot, 1),
                                       window_end=slot, recipients=[], created_at=now)
                log.info("digest: no history; %s recorded as the baseline, first digest at the next slot", week)
            except IntegrityError:
                pass
            return False

    rendered = await build_digest(settings, now, period_end)
    org = settings.organisation
    try:
        async with in_transaction() as conn:
            await DigestRun.create(using_db=conn, key=key, week=week, kind=kind,
                                   window_start=weeks_before(period_end, 1), window_end=period_end,
                                   recipients=list(recipients(settings)), created_at=now)
            for recipient in recipients(settings):
                out = Outgoing(
                    to=recipient, subject=rendered.subject, text=rendered.text, html=rendered.html,
                    message_id=new_message_id(org.domain), auto_submitted="auto-generated",
                    extra_headers=(("Content-Language", rendered.language), ("X-Inboxbot-Digest", key)),
                )
                message = build_message(out, sender=org.reply_from, sender_name=org.name, now=now)
                await OutboxItem.create(
                    using_db=conn, dedupe_key=f"digest:{key}:{recipient.lower()}", purpose="digest",
                    recipient=recipient.lower(), message_id=out.message_id,
                    payload=message.as_string(), next_attempt_at=now, created_at=now,
                )
    except IntegrityError:
        # Another worker recorded this week between our check and our insert: it sends it.
        return False
    log.info("digest %s queued for %d recipient(s)", key, len(recipients(settings)))
    return True
