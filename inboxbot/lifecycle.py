"""The ticket lifecycle a DPO drives: states, allowed changes, and the record of each change.

States: open, awaiting_identity, extended, answered, closed, rejected, duplicate. Every change is
a TicketEvent with who, when and why; nothing is deleted silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from inboxbot.config import Settings
from inboxbot.deadlines import extended_deadline, get_calendar, shift_for_pause
from inboxbot.domain import Outgoing
from inboxbot.errors import InboxbotError
from inboxbot.outgoing import build_message, new_message_id
from inboxbot.render import ReplyRenderer
from inboxbot.store.models import OutboxItem, Ticket, TicketEvent

OPEN_STATES = frozenset({"open", "awaiting_identity", "extended"})
ALL_STATES = OPEN_STATES | {"answered", "closed", "rejected", "duplicate"}


class LifecycleError(InboxbotError):
    """The change asked for is not allowed (wrong state, missing reason, too late)."""


@dataclass(frozen=True)
class Change:
    """One allowed operation: from which states, to which state."""

    allowed_from: frozenset[str]
    to: str | None  # None: status stays as it is
    needs_reason: bool = False


CHANGES: dict[str, Change] = {
    "note": Change(frozenset(ALL_STATES), None),
    "await_identity": Change(frozenset({"open"}), "awaiting_identity"),
    "verify": Change(OPEN_STATES, None),  # awaiting_identity -> open, handled below
    "extend": Change(frozenset({"open", "awaiting_identity"}), "extended", needs_reason=True),
    "answer": Change(OPEN_STATES, "answered"),
    "close": Change(OPEN_STATES | {"answered"}, "closed"),
    "reject": Change(OPEN_STATES, "rejected", needs_reason=True),
    "reopen": Change(frozenset({"answered", "closed", "rejected", "duplicate"}), "open"),
}


async def find_ticket(reference: str) -> Ticket:
    ticket = await Ticket.filter(reference=reference.strip().upper()).first()
    if ticket is None:
        raise LifecycleError(f"no ticket {reference!r}")
    return ticket


async def apply(
    settings: Settings,
    reference: str,
    operation: str,
    *,
    actor: str,
    reason: str = "",
    now: datetime,
    renderer: ReplyRenderer | None = None,
) -> Ticket:
    """Apply one operation to a ticket, in one transaction, with its event."""
    change = CHANGES.get(operation)
    if change is None:
        raise LifecycleError(f"unknown operation {operation!r}; one of {', '.join(CHANGES)}")
    if change.needs_reason and not reason.strip():
        raise LifecycleError(f"{operation} needs a reason (--reason)")
    async with in_transaction() as conn:
        ticket = await find_ticket(reference)
        if ticket.status not in change.allowed_from:
            raise LifecycleError(
                f"{ticket.reference} is {ticket.status}; {operation} is possible only from "
                + ", ".join(sorted(change.allowed_from))
            )
        if operation == "answer":
            _require_identity(settings, ticket, operation)
        before = ticket.status
        detail = reason.strip()
        if operation == "verify":
            detail = await _verify(settings, ticket, conn, now, detail)
        elif operation == "extend":
            detail = await _extend(settings, ticket, conn, now, detail, renderer)
        if change.to is not None:
            ticket.status = change.to
        if operation in ("close", "reject", "answer"):
            ticket.closed_at = now if operation != "answer" else ticket.closed_at
            ticket.status_reason = detail
        if operation == "reopen":
            ticket.closed_at = None
            ticket.status_reason = ""
        await ticket.save(using_db=conn)
        if before != ticket.status:
            detail = f"{before} -> {ticket.status}" + (f": {detail}" if detail else "")
        await TicketEvent.create(using_db=conn, ticket=ticket, at=now, actor=actor,
                                 kind=operation, detail=detail)
    return ticket


def _require_identity(settings: Settings, ticket: Ticket, operation: str) -> None:
    """Art. 12(6): data is disclosed, erased or handed over only to the verified data subject.
    Answering a ticket for a right listed in `[verification] intents` needs `verify` first; a
    request whose asker cannot be verified is rejected with a reason instead. (`close` stays
    free: it files a ticket away, e.g. a withdrawn request, and acts on nothing.)"""
    needing = [i for i in ticket.intents if i in settings.verification.intents]
    if needing and not ticket.identity_verified:
        raise LifecycleError(
            f"{ticket.reference}: identity not verified; {', '.join(needing)} may not be acted on "
            f"before `verify` (or `reject` it with a reason); {operation} refused"
        )


async def _verify(settings: Settings, ticket: Ticket, conn: object, now: datetime, reason: str) -> str:
    if ticket.identity_verified:
        raise LifecycleError(f"{ticket.reference}: identity already verified")
    ticket.identity_verified = True
    notes = [reason] if reason else []
    if ticket.status == "awaiting_identity":
        ticket.status = "open"
        if settings.verification.clock_pauses:
            started = await TicketEvent.filter(ticket_id=ticket.id).using_db(conn).order_by("id").first()
            since = started.at if started else ticket.created_at
            paused = max(0, (now.date() - since.date()).days)
            org = settings.organisation
            cal = get_calendar(org.country, settings.deadlines.extra_non_working_days)
            new_due = shift_for_pause(ticket.due_date, paused, clock_pauses=True, calendar=cal)
            if new_due != ticket.due_date:
                notes.append(f"clock paused {paused} day(s) awaiting identity: due "
                             f"{ticket.due_date} -> {new_due}")
                ticket.due_date = new_due
                ticket.due_rule += f"; paused {paused} day(s) awaiting identity (config)"
    return "identity verified" + (": " + "; ".join(notes) if notes else "")


async def _extend(settings: Settings, ticket: Ticket, conn: object, now: datetime, reason: str,
                  renderer: ReplyRenderer | None) -> str:
    org = settings.organisation
    today = now.astimezone(org.tz).date()
    if ticket.extended:
        raise LifecycleError(f"{ticket.reference} was already extended; Art. 12(3) allows it once")
    if today > ticket.due_date:
        raise LifecycleError(
            f"{ticket.reference}: the first deadline ({ticket.due_date}) has passed; "
            "Art. 12(3) requires the extension to be notified within the first month"
        )
    if settings.deadlines.extension_months <= 0:
        raise LifecycleError("extensions are switched off (deadlines.extension_months = 0)")
    new_due = extended_deadline(
        ticket.received_at, org.country, tz=org.timezone,
        extra_non_working=settings.deadlines.extra_non_working_days,
        extension_months=settings.deadlines.extension_months, months=settings.deadlines.rights_months,
    )
    old_due = ticket.due_date
    ticket.due_date = new_due
    ticket.extended = True
    ticket.due_rule = (f"GDPR Art. 12(3) extended by {settings.deadlines.extension_months} months "
                       f"from receipt {ticket.received_at.astimezone(org.tz).date()}: {reason}")
    if ticket.sender and renderer is not None:
        lang = renderer.language_for(ticket.language)
        rendered = renderer.render_named(
            "extension.txt.j2", lang,
            ticket=renderer.ticket_view(ticket.reference or "", new_due, lang, tuple(ticket.intents),
                                        ticket.summary),
            reason=reason,
        )
        out = Outgoing(to=ticket.sender, subject=rendered.subject, text=rendered.body,
                       message_id=new_message_id(org.domain), auto_submitted="auto-generated",
                       extra_headers=(("X-Inboxbot-Ref", ticket.reference or ""),
                                      ("Content-Language", lang)))
        message = build_message(out, sender=org.reply_from, sender_name=org.name, now=now)
        await OutboxItem.create(using_db=conn, dedupe_key=f"extension:{ticket.reference}",
                                purpose="extension", recipient=ticket.sender.lower(),
                                message_id=out.message_id, payload=message.as_string(),
                                next_attempt_at=now, created_at=now, ticket=ticket)
    return f"due {old_due} -> {new_due}; data subject notified: {reason}"
