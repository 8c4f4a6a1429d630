"""Gather what the store knows about one message before deciding (domain.History)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from inboxbot.domain import History, Inbound, TicketRef
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket


def reference_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{6}}\b")


def _ref(t: Ticket) -> TicketRef:
    return TicketRef(t.id, t.reference or "", t.status, t.sender)


async def _thread_ticket(msg: Inbound, prefix: str, conn: Any) -> Ticket | None:
    ids = [i for i in ((msg.in_reply_to,) + msg.references) if i]
    if ids:
        item = await OutboxItem.filter(message_id__in=ids, ticket_id__isnull=False).using_db(conn).first()
        if item is not None:
            return await Ticket.get(id=item.ticket_id, using_db=conn)  # type: ignore[attr-defined]
        seen = await ProcessedMessage.filter(message_id__in=ids, ticket_id__isnull=False).using_db(conn).first()
        if seen is not None:
            return await Ticket.get(id=seen.ticket_id, using_db=conn)  # type: ignore[attr-defined]
    # A reference in the subject counts only from the same sender: anyone can type a reference.
    match = reference_pattern(prefix).search(msg.subject)
    if match and msg.sender is not None:
        return await Ticket.filter(reference=match.group(0), sender=msg.sender.addr.lower()).using_db(conn).first()
    return None


async def _earlier_request(msg: Inbound, intents: frozenset[str], window_days: int, now: datetime,
                           conn: Any) -> Ticket | None:
    """The same person's open ticket about one of the same intents, opened within the window."""
    if msg.sender is None or not intents or window_days <= 0:
        return None
    candidates = await Ticket.filter(
        sender=msg.sender.addr.lower(), status__in=("open", "awaiting_identity", "extended"),
        received_at__gte=now - timedelta(days=window_days),
    ).using_db(conn).order_by("-received_at")
    for ticket in candidates:
        if intents & set(ticket.intents):
            return ticket
    return None


async def load_history(msg: Inbound, *, prefix: str, domain: str, now: datetime, conn: Any,
                       intents: frozenset[str] = frozenset(), duplicate_window_days: int = 0) -> History:
    already = await ProcessedMessage.filter(message_id=msg.message_id).using_db(conn).exists()
    own = (
        msg.header("x-inboxbot-ref") is not None
        or await OutboxItem.filter(message_id=msg.message_id).using_db(conn).exists()
    )
    ticket = await _thread_ticket(msg, prefix, conn)
    earlier = None
    if ticket is None:
        earlier = await _earlier_request(msg, intents, duplicate_window_days, now, conn)
    acknowledged = False
    if ticket is not None:
        acknowledged = await OutboxItem.filter(ticket_id=ticket.id, purpose="ack").using_db(conn).exists()
    per_sender = per_domain = total = 0
    if msg.sender is not None:
        addr = msg.sender.addr.lower()
        per_sender = await OutboxItem.filter(
            purpose="ack", recipient=addr, created_at__gte=now - timedelta(days=1)
        ).using_db(conn).count()
        per_domain = await OutboxItem.filter(
            purpose="ack", recipient__endswith="@" + msg.sender.domain.lower(),
            created_at__gte=now - timedelta(hours=1),
        ).using_db(conn).count()
    total = await OutboxItem.filter(purpose="ack", created_at__gte=now - timedelta(hours=1)).using_db(conn).count()
    return History(
        already_processed=already,
        own_message=own,
        thread_ticket=_ref(ticket) if ticket is not None else None,
        thread_acknowledged=acknowledged,
        earlier_request=_ref(earlier) if earlier is not None else None,
        acks_to_sender_today=per_sender,
        acks_to_domain_last_hour=per_domain,
        acks_last_hour=total,
    )
