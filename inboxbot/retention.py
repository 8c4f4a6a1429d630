"""Retention: closed tickets are anonymised after the organisation's retention period.

Anonymising drops what identifies the person (addresses, names, subjects, bodies) and keeps what
the statistics and the accountability record need (intents, dates, status, the event trail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from inboxbot.config import Settings
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket, TicketEvent


@dataclass(frozen=True)
class PurgeItem:
    reference: str
    status: str
    closed_at: datetime


async def due_for_purge(settings: Settings, now: datetime) -> list[PurgeItem]:
    cutoff = now - timedelta(days=settings.retention.closed_ticket_days)
    tickets = await Ticket.filter(status__in=("closed", "rejected", "duplicate"),
                                  closed_at__lte=cutoff, anonymised_at__isnull=True).order_by("closed_at")
    return [PurgeItem(t.reference or f"#{t.id}", t.status, t.closed_at) for t in tickets if t.closed_at]


async def purge(settings: Settings, now: datetime, *, dry_run: bool) -> list[PurgeItem]:
    items = await due_for_purge(settings, now)
    if dry_run:
        return items
    for item in items:
        async with in_transaction() as conn:
            ticket = await Ticket.get(reference=item.reference, using_db=conn)
            ticket.sender = ""
            ticket.sender_name = ""
            ticket.subject = ""
            ticket.summary = ""
            ticket.anonymised_at = now
            await ticket.save(using_db=conn)
            await ProcessedMessage.filter(ticket_id=ticket.id).using_db(conn).update(
                sender="", subject="", body="")
            # Sent mail quotes names and addresses too; the record that it was sent stays.
            await OutboxItem.filter(ticket_id=ticket.id, status__in=("sent", "failed")).using_db(conn).update(
                payload="", recipient="")
            await TicketEvent.create(using_db=conn, ticket=ticket, at=now, actor="inboxbot",
                                     kind="anonymised",
                                     detail=f"retention of {settings.retention.closed_ticket_days} days after closing")
    return items
