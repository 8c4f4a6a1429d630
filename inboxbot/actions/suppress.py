"""Put the sender on the suppression list, at once and idempotently."""

from __future__ import annotations

from inboxbot.actions import ActContext
from inboxbot.domain import Action
from inboxbot.store.models import Suppression
from inboxbot.suppression import address_hash, normalise_address


async def suppress(ctx: ActContext, action: Action) -> None:
    if ctx.msg.sender is None:
        ctx.notes.append("suppression asked without a sender address")
        return
    addr = normalise_address(ctx.msg.sender.addr)
    digest = address_hash(addr)
    existing = await Suppression.filter(address_hash=digest, scope="all").using_db(ctx.conn).first()
    if existing is None:
        source = f"message {ctx.msg.message_id[:150]}"
        if ctx.ticket is not None and ctx.ticket.reference:
            source = f"ticket {ctx.ticket.reference}"
        await Suppression.create(using_db=ctx.conn, address_hash=digest, address=addr,
                                 scope="all", source=source)
    ctx.suppressed = True
