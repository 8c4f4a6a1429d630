"""Gather what the store knows about one message before deciding (domain.History).

Asked inside a batch transaction (store/batch.py): what the batch loaded answers most questions
without a query of their own; where it cannot rule an answer out, the query below runs as it
always did, after the batch's pending rows are written, so it sees the rows it saw before.
"""

from __future__ import annotations

import re
from datetime import timedelta

from inboxbot.domain import History, Inbound, TicketRef
from inboxbot.store.batch import OPEN_STATUSES, Batch, references_of
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket


def reference_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{6}}\b")


def _ref(t: Ticket) -> TicketRef:
    return TicketRef(t.id, t.reference or "", t.status, t.sender)


async def _thread_ticket(msg: Inbound, prefix: str, batch: Batch) -> Ticket | None:
    conn = batch.conn
    ids = references_of(msg)
    if ids and batch.may_link(ids):
        await batch.flush()  # the batch's own records count: a follow-up to a request just stored
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


async def _earlier_request(msg: Inbound, intents: frozenset[str], batch: Batch) -> Ticket | None:
    """The same person's open ticket about one of the same intents, opened within the batch's
    duplicate window."""
    window_days = batch.window_days
    if msg.sender is None or not intents or window_days <= 0:
        return None
    if not batch.may_have_open(msg.sender.addr.lower()):
        return None
    candidates = await Ticket.filter(
        sender=msg.sender.addr.lower(), status__in=OPEN_STATUSES,
        received_at__gte=batch.now - timedelta(days=window_days),
    ).using_db(batch.conn).order_by("-received_at")
    for ticket in candidates:
        if intents & set(ticket.intents):
            return ticket
    return None


async def load_history(msg: Inbound, batch: Batch, *, prefix: str,
                       intents: frozenset[str] = frozenset()) -> History:
    """`batch` has loaded this message (Batch.load); its transaction, instant and duplicate
    window are the ones asked in."""
    already = batch.already_recorded(msg.message_id)
    own = msg.header("x-inboxbot-ref") is not None or batch.is_ours(msg.message_id)
    ticket = await _thread_ticket(msg, prefix, batch)
    earlier = None
    if ticket is None:
        earlier = await _earlier_request(msg, intents, batch)
    acknowledged = False
    if ticket is not None:
        await batch.flush()
        acknowledged = await OutboxItem.filter(ticket_id=ticket.id, purpose="ack").using_db(batch.conn).exists()
    per_sender = per_domain = 0
    if msg.sender is not None:
        per_sender, per_domain, total = batch.acks(msg.sender.addr.lower(), msg.sender.domain.lower())
    else:
        total = batch.acks("", "")[2]
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
