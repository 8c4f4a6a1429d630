"""Deadline reminders to the DPO: N days before a due date, and once when it has passed.

Each reminder is an outbox item with a key of its own (`reminder:<ref>:<kind>:<due>`), so it is
queued exactly once, however often the check runs and across restarts. A new due date (an
extension) makes new keys, so the reminders start again for it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from inboxbot.config import Settings
from inboxbot.domain import Outgoing
from inboxbot.lifecycle import OPEN_STATES
from inboxbot.outgoing import build_message, new_message_id
from inboxbot.render import ReplyRenderer
from inboxbot.store.models import OutboxItem, Ticket, TicketEvent

log = logging.getLogger(__name__)


def reminder_kind(days_left: int, reminder_days: tuple[int, ...]) -> str | None:
    """Which reminder is due today: 'overdue', 'due-in-<N>' for the nearest configured N that has
    been reached, or None. Reached means days_left <= N: a worker that was down on the day
    still sends it when it comes back."""
    if days_left < 0:
        return "overdue"
    reached = [n for n in reminder_days if days_left <= n]
    return f"due-in-{min(reached)}" if reached else None


async def queue_reminders(settings: Settings, renderer: ReplyRenderer, now: datetime) -> int:
    """Queue every reminder that is due and not yet queued. Returns how many were queued."""
    org = settings.organisation
    today = now.astimezone(org.tz).date()
    lang = renderer.languages[0]
    queued = 0
    tickets = await Ticket.filter(status__in=tuple(OPEN_STATES)).order_by("due_date")
    for ticket in tickets:
        days_left = (ticket.due_date - today).days
        kind = reminder_kind(days_left, settings.deadlines.reminder_days)
        if kind is None or not ticket.reference:
            continue
        key = f"reminder:{ticket.reference}:{kind}:{ticket.due_date.isoformat()}"
        async with in_transaction() as conn:
            if await OutboxItem.filter(dedupe_key=key).using_db(conn).exists():
                continue
            view = renderer.ticket_view(ticket.reference, ticket.due_date, lang, tuple(ticket.intents),
                                        ticket.summary)
            rendered = renderer.render_named("reminder.txt.j2", lang, ticket=view, days_left=days_left,
                                             status=ticket.status)
            for recipient in (org.dpo_email, *org.escalation_emails):
                out = Outgoing(to=recipient, subject=rendered.subject, text=rendered.body,
                               message_id=new_message_id(org.domain), auto_submitted="auto-generated",
                               extra_headers=(("X-Inboxbot-Ref", ticket.reference),))
                message = build_message(out, sender=org.reply_from, sender_name=org.name, now=now)
                await OutboxItem.create(
                    using_db=conn, dedupe_key=key if recipient == org.dpo_email else f"{key}:{recipient}",
                    purpose="reminder", recipient=recipient.lower(), message_id=out.message_id,
                    payload=message.as_string(), next_attempt_at=now, created_at=now, ticket=ticket,
                )
            await TicketEvent.create(using_db=conn, ticket=ticket, at=now, kind="reminder",
                                     detail=f"{kind}: DPO reminded ({days_left} day(s) left)")
        queued += 1
    if queued:
        log.info("queued %d deadline reminder(s)", queued)
    return queued
