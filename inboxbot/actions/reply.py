"""Queue the acknowledgement to the sender and the escalation to the DPO in the outbox."""

from __future__ import annotations

from datetime import timedelta

from inboxbot.actions import ActContext
from inboxbot.domain import Action, Outgoing
from inboxbot.outgoing import message_text, new_message_id
from inboxbot.render import TicketView, format_date
from inboxbot.store.models import OutboxItem, TicketEvent


async def _queue(ctx: ActContext, *, key: str, purpose: str, out: Outgoing) -> bool:
    """Write one outbox item unless one with the same key exists. Returns True if written."""
    known = ctx.batch.key_exists(key)
    if known is None:  # the batch cannot tell: the store can (rows the batch holds back it knows)
        known = await OutboxItem.filter(dedupe_key=key).using_db(ctx.conn).exists()
    if known:
        return False
    org = ctx.settings.organisation
    payload = message_text(out, sender=org.reply_from, sender_name=org.name, now=ctx.now)
    await ctx.write(OutboxItem(
        dedupe_key=key, purpose=purpose, recipient=out.to.lower(),
        message_id=out.message_id, payload=payload, next_attempt_at=ctx.now,
        created_at=ctx.now, ticket=ctx.ticket,
    ))
    ctx.batch.queued(key, purpose, out.to.lower())
    return True


def _ticket_view(ctx: ActContext, lang: str) -> TicketView | None:
    t = ctx.ticket
    if t is None or not t.reference:
        return None
    return ctx.renderer.ticket_view(t.reference, t.due_date, lang, tuple(t.intents), t.summary)


async def acknowledge(ctx: ActContext, action: Action) -> None:
    msg = ctx.msg
    assert msg.sender is not None  # guarded by may_autoreply
    lang = ctx.renderer.language_for(msg.language)
    received = msg.received_at.astimezone(ctx.settings.organisation.tz).date()
    rendered = ctx.renderer.acknowledgement(
        lang=lang, sender_name=msg.sender.name, intents=action.intents,
        ticket=_ticket_view(ctx, lang), received=received, suppressed=ctx.suppressed,
        verification_needed=ctx.ticket is not None and ctx.ticket.status == "awaiting_identity",
        original_subject=msg.subject,
    )
    headers: list[tuple[str, str]] = [("Content-Language", lang)]
    if ctx.ticket is not None and ctx.ticket.reference:
        headers.append(("X-Inboxbot-Ref", ctx.ticket.reference))
    out = Outgoing(
        to=msg.sender.addr, subject=rendered.subject, text=rendered.body,
        in_reply_to=msg.message_id, references=msg.references + (msg.message_id,),
        message_id=new_message_id(ctx.settings.organisation.domain),
        extra_headers=tuple(headers),
    )
    if await _queue(ctx, key=f"ack:{msg.message_id}", purpose="ack", out=out):
        ctx.ack_sent = True
        if ctx.ticket is not None:
            await ctx.write(TicketEvent(at=ctx.now, ticket=ctx.ticket, kind="acknowledged",
                                        detail=f"acknowledgement queued in {lang}"))


async def escalate(ctx: ActContext, action: Action) -> None:
    """Tell the DPO now. Carries the reference and a one-line summary, never the body."""
    if ctx.ticket is None or not ctx.ticket.reference:
        return
    org = ctx.settings.organisation
    view = _ticket_view(ctx, ctx.renderer.languages[0])
    assert view is not None
    breach_text = ""
    if ctx.verdict.breach_reported:
        due = ctx.msg.received_at + timedelta(hours=72)
        local = due.astimezone(org.tz)
        breach_text = f"{format_date(local.date(), ctx.renderer.languages[0])} {local:%H:%M}"
    rendered = ctx.renderer.escalation(ticket=view, reason=action.reason,
                                       breach=ctx.verdict.breach_reported,
                                       breach_deadline_text=breach_text)
    for recipient in (org.dpo_email, *org.escalation_emails):
        out = Outgoing(
            to=recipient, subject=rendered.subject, text=rendered.body,
            message_id=new_message_id(org.domain), auto_submitted="auto-generated",
            extra_headers=(("X-Inboxbot-Ref", ctx.ticket.reference),),
        )
        await _queue(ctx, key=f"escalation:{ctx.ticket.reference}:{action.reason}:{recipient.lower()}",
                     purpose="escalation", out=out)
    await ctx.write(TicketEvent(at=ctx.now, ticket=ctx.ticket, kind="escalated",
                                detail=f"{action.reason}: DPO notified"))
