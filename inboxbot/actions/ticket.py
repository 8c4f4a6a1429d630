"""Open a ticket for a request, or thread a follow-up into the ticket it belongs to."""

from __future__ import annotations

from inboxbot.actions import ActContext
from inboxbot.deadlines import deadline_for
from inboxbot.decide import REPEAT_REASON
from inboxbot.domain import Action, Intent, TicketRef
from inboxbot.identity import same_mailbox
from inboxbot.store.models import Ticket, TicketEvent


def summary_line(text: str, limit: int = 140) -> str:
    """The first non-empty line of the new text, shortened: enough to recognise a ticket by."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def format_reference(prefix: str, year: int, ticket_id: int) -> str:
    return f"{prefix}-{year}-{ticket_id:06d}"


async def open_ticket(ctx: ActContext, action: Action) -> None:
    s = ctx.settings
    org = s.organisation
    received_local = ctx.msg.received_at.astimezone(org.tz)
    deadline = deadline_for(
        action.intents,
        ctx.msg.received_at,
        country=org.country,
        tz=org.timezone,
        extra_non_working=s.deadlines.extra_non_working_days,
        rights_months=s.deadlines.rights_months,
        internal_business_days=s.deadlines.internal_target_business_days,
    )
    sender = ctx.msg.sender
    # Art. 12(6): before acting on these rights the controller may confirm who is asking.
    needs_identity = any(str(i) in s.verification.intents for i in action.intents)
    ticket = await Ticket.create(
        using_db=ctx.conn,
        sender=sender.addr.lower() if sender else "",
        sender_name=sender.name if sender else "",
        language=ctx.msg.language,
        intents=[str(i) for i in action.intents],
        status="awaiting_identity" if needs_identity else "open",
        received_at=ctx.msg.received_at,
        due_date=deadline.due,
        due_rule=deadline.rule,
        subject=ctx.msg.subject[:500],
        summary=summary_line(ctx.msg.body or ctx.msg.subject),
        needs_review=ctx.verdict.needs_review,
        breach=ctx.verdict.breach_reported,
    )
    ticket.reference = format_reference(org.reference_prefix, received_local.year, ticket.id)
    await ticket.save(using_db=ctx.conn, update_fields=["reference"])
    await ctx.write(TicketEvent(
        at=ctx.now, ticket=ticket, kind="opened",
        detail=f"{action.reason}; due {deadline.due.isoformat()} ({deadline.rule})",
    ))
    if ctx.verdict.needs_review:
        await ctx.write(TicketEvent(at=ctx.now, ticket=ticket, kind="needs_review",
                                    detail="classifier unsure: " + "; ".join(ctx.verdict.reasons[:3])))
    ctx.batch.touched(ticket)
    ctx.ticket = ticket


_REOPEN_FROM = {"closed", "answered", "rejected"}


def _from_ticket_sender(ctx: ActContext, ticket: Ticket) -> bool:
    sender = ctx.msg.sender
    return sender is not None and bool(ticket.sender) and same_mailbox(sender.addr, ticket.sender)


async def follow_up(ctx: ActContext, action: Action, ref: TicketRef) -> None:
    ticket = await Ticket.get(id=ref.id, using_db=ctx.conn)
    kind = "duplicate_request" if action.reason.startswith(REPEAT_REASON) else "follow_up"
    await ctx.write(TicketEvent(at=ctx.now, ticket=ticket, kind=kind,
                                detail=f"message {ctx.msg.message_id}: " + ", ".join(map(str, action.intents))))
    new_status = None
    if ticket.status in _REOPEN_FROM:
        new_status = "open"
    elif kind == "follow_up" and ticket.status == "awaiting_identity" and _from_ticket_sender(ctx, ticket):
        new_status = "open"  # the reply is taken as the identity answer; the DPO verifies it
    # From anyone else it proves nothing: the ticket keeps waiting (pipeline flags the mismatch).
    if new_status:
        await ctx.write(TicketEvent(at=ctx.now, ticket=ticket, kind="status",
                                    detail=f"{ticket.status} -> {new_status}: the data subject wrote again"))
        ticket.status = new_status
    added = [str(i) for i in action.intents if str(i) not in ticket.intents and i != Intent.GENERAL]
    if added:
        ticket.intents = list(ticket.intents) + added
    await ticket.save(using_db=ctx.conn)
    ctx.batch.touched(ticket)  # its status or intents may have changed
    ctx.ticket = ticket
