"""Put the sender on the suppression list, at once and idempotently.

The suppression and its pushes to every configured marketing system are written in the message's
transaction (`inboxbot.marketing.manage.add`); the worker delivers the pushes afterwards.
"""

from __future__ import annotations

from inboxbot.actions import ActContext
from inboxbot.domain import Action
from inboxbot.marketing.manage import add


async def suppress(ctx: ActContext, action: Action) -> None:
    if ctx.msg.sender is None:
        ctx.notes.append("suppression asked without a sender address")
        return
    source = f"message {ctx.msg.message_id[:150]}"
    if ctx.ticket is not None and ctx.ticket.reference:
        source = f"ticket {ctx.ticket.reference}"
    await add(ctx.settings, ctx.msg.sender.addr, now=ctx.now, scope="all", source=source,
              conn=ctx.conn)
    ctx.suppressed = True
