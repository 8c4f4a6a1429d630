"""Mail of ours that did not arrive: tell the DPO once, and tie bounces to their ticket.

Two ways an acknowledgement fails:

* at once: our SMTP server refuses the recipient with a 5xx (or we run out of attempts). The
  outbox marks the item `failed` and calls `notify_undelivered` in that same transaction;
* later: a mail server further on sends a bounce (a DSN, RFC 3464) back to the privacy mailbox.
  The pipeline has already recognised it as automated mail (never answered); `record_bounce`
  finds which of our outbox items it reports on, records a `bounce` event on the ticket and,
  for a final failure, marks the item `bounced` and notifies the DPO.

Either way the DPO gets one notice per undelivered item: the outbox key `undelivered:<id>` can
be written only once, so a sync refusal followed by a bounce, a repeated bounce, or a crash and a
replay never notify twice.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

from inboxbot.classify.automated import automated_reasons
from inboxbot.config import Settings
from inboxbot.domain import Inbound, Outgoing, Verdict
from inboxbot.outgoing import build_message, new_message_id
from inboxbot.render import ReplyRenderer
from inboxbot.store.history import reference_pattern
from inboxbot.store.models import OutboxItem, Ticket, TicketEvent

log = logging.getLogger(__name__)

# Mail to these purposes goes to the DPO: a notice about a notice the DPO did not get would go
# to the same dead address, and could loop.
_INTERNAL_PURPOSES = frozenset({"escalation", "reminder", "digest", "undelivered"})
_MSG_ID = re.compile(r"<[^<>\s@]{1,400}@[^<>\s]{1,200}>")
_MAX_SCAN = 256 * 1024  # bytes of a bounce read for references: the headers are near the top


def _internal(settings: Settings, item: OutboxItem) -> bool:
    org = settings.organisation
    ours = {org.dpo_email.lower(), org.reply_from.lower(), *(a.lower() for a in org.escalation_emails)}
    return item.purpose in _INTERNAL_PURPOSES or item.recipient.lower() in ours


async def notify_undelivered(settings: Settings, renderer: ReplyRenderer, item: OutboxItem,
                             reason: str, conn: Any, now: datetime, *, via: str = "smtp") -> bool:
    """Queue one notice to the DPO that `item` was not delivered, and record it on the ticket.
    Returns False when there is nothing to do (internal mail, or already notified)."""
    if _internal(settings, item):
        return False
    key = f"undelivered:{item.id}"
    if await OutboxItem.filter(dedupe_key=key).using_db(conn).exists():
        return False
    org = settings.organisation
    ticket = None
    if item.ticket_id is not None:  # type: ignore[attr-defined]
        ticket = await Ticket.get_or_none(id=item.ticket_id, using_db=conn)  # type: ignore[attr-defined]
    reference = ticket.reference if ticket is not None and ticket.reference else ""
    rendered = renderer.render_named(
        "undelivered.txt.j2", renderer.languages[0], reference=reference, purpose=item.purpose,
        recipient=item.recipient, reason=reason[:300], via=via,
    )
    out = Outgoing(to=org.dpo_email, subject=rendered.subject, text=rendered.body,
                   message_id=new_message_id(org.domain), auto_submitted="auto-generated",
                   extra_headers=(("X-Inboxbot-Ref", reference),) if reference else ())
    message = build_message(out, sender=org.reply_from, sender_name=org.name, now=now)
    await OutboxItem.create(
        using_db=conn, dedupe_key=key, purpose="undelivered", recipient=org.dpo_email.lower(),
        message_id=out.message_id, payload=message.as_string(), next_attempt_at=now,
        created_at=now, ticket=ticket,
    )
    if ticket is not None:
        await TicketEvent.create(using_db=conn, at=now, ticket=ticket, kind="delivery_failed",
                                 detail=f"{item.purpose} not delivered ({via}): {reason[:300]}")
    return True


# -- bounces -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BounceReport:
    """What a DSN says, as far as it matters to us."""

    message_ids: tuple[str, ...]  # Message-IDs it may be about, most specific first
    references: tuple[str, ...]  # our ticket references mentioned in it
    recipients: tuple[str, ...]  # Final-Recipient addresses, lower-cased
    failed: bool  # Action: failed (or no per-recipient report at all, as subject-only bounces)
    status: str  # the first Status: code, e.g. "5.1.1"


def read_bounce(raw: bytes, prefix: str) -> BounceReport:
    """Pull what identifies the bounced message out of a DSN: the returned headers
    (message/rfc822 or text/rfc822-headers), the bounce's own In-Reply-To/References, the
    message/delivery-status fields, and ticket references anywhere in the text. Never raises."""
    try:
        msg = email.message_from_bytes(raw[:_MAX_SCAN], policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - a bounce we cannot read is recorded, not tied
        return BounceReport((), (), (), True, "")
    ids: list[str] = []
    texts: list[str] = []
    recipients: list[str] = []
    actions: list[str] = []
    status = ""
    for name in ("in-reply-to", "references"):
        ids += _MSG_ID.findall(str(msg.get(name, "")))
    texts.append(str(msg.get("subject", "")))
    for part in _walk(msg):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            head = _returned_headers(part)
            ids = _MSG_ID.findall(head.get("message-id", "")) + ids
            texts.append(head.get("x-inboxbot-ref", "") + " " + head.get("subject", ""))
        elif ctype in ("message/delivery-status", "message/global-delivery-status"):
            for name, value in _fields(part):
                if name == "final-recipient" and ";" in value:
                    recipients.append(value.split(";", 1)[1].strip().strip("<>").lower())
                elif name == "action":
                    actions.append(value.strip().lower())
                elif name == "status" and not status:
                    status = value.strip().split()[0] if value.strip() else ""
        elif ctype == "text/plain":
            texts.append(_text(part)[:20_000])
    refs = tuple(dict.fromkeys(m.group(0) for t in texts for m in reference_pattern(prefix).finditer(t)))
    failed = not actions or "failed" in actions
    return BounceReport(tuple(dict.fromkeys(ids)), refs, tuple(dict.fromkeys(recipients)), failed, status)


def _walk(msg: Message, limit: int = 50) -> list[Message]:
    parts: list[Message] = []
    stack = [msg]
    while stack and len(parts) < limit:
        part = stack.pop(0)
        parts.append(part)
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(p for p in payload if isinstance(p, Message))
    return parts


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def _returned_headers(part: Message) -> dict[str, str]:
    """The headers of the returned message, whichever way the reporting MTA attached them."""
    payload = part.get_payload()
    inner: Message | None = None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
    else:
        text = _text(part)
        inner = email.message_from_string(text.split("\n\n", 1)[0] + "\n\n", policy=email.policy.compat32)
    return {k.lower(): str(v) for k, v in inner.items()}


def _fields(part: Message) -> list[tuple[str, str]]:
    """The name: value lines of a delivery-status part (per-message and per-recipient blocks)."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    out: list[tuple[str, str]] = []
    for block in blocks:
        if isinstance(block, Message):
            out += [(k.lower(), str(v)) for k, v in block.items()]
    if not out:
        for line in _text(part).splitlines():
            name, sep, value = line.partition(":")
            if sep and name and not name[0].isspace():
                out.append((name.strip().lower(), value.strip()))
    return out


async def find_bounced_item(report: BounceReport, conn: Any) -> OutboxItem | None:
    """Our outbox item this bounce reports on: by Message-ID first (exact), else by a ticket
    reference together with a failed recipient that item was sent to (a reference alone can be
    typed by anyone)."""
    if report.message_ids:
        item = await OutboxItem.filter(message_id__in=list(report.message_ids)).using_db(conn).first()
        if item is not None:
            return item
    if report.references and report.recipients:
        tickets = await Ticket.filter(reference__in=list(report.references)).using_db(conn)
        if tickets:
            return await OutboxItem.filter(
                ticket_id__in=[t.id for t in tickets], recipient__in=list(report.recipients),
            ).using_db(conn).order_by("-id").first()
    return None


async def record_bounce(settings: Settings, renderer: ReplyRenderer, raw: bytes, conn: Any,
                        now: datetime, bounce_message_id: str) -> Ticket | None:
    """Tie a bounce to the outbox item and ticket it reports on. Returns the ticket, if any."""
    report = read_bounce(raw, settings.organisation.reference_prefix)
    item = await find_bounced_item(report, conn)
    if item is None:
        return None
    ticket = None
    if item.ticket_id is not None:  # type: ignore[attr-defined]
        ticket = await Ticket.get_or_none(id=item.ticket_id, using_db=conn)  # type: ignore[attr-defined]
    what = "failed" if report.failed else "delayed"
    if ticket is not None:
        await TicketEvent.create(
            using_db=conn, at=now, ticket=ticket, kind="bounce",
            detail=f"{item.purpose} {what}{' ' + report.status if report.status else ''}: "
                   f"bounce {bounce_message_id[:200]}",
        )
    if report.failed:
        if item.status != "failed":
            item.status = "bounced"
            item.last_error = f"bounced {report.status}".strip()[:500]
            await item.save(using_db=conn, update_fields=["status", "last_error"])
        await notify_undelivered(settings, renderer, item, f"bounce {report.status}".strip(), conn,
                                 now, via="bounce")
    log.info("bounce for outbox item %s (%s, %s)", item.id, item.purpose, what)
    return ticket


_BOUNCE_SIGNALS = frozenset({"x-failed-recipients", "delivery-failure subject", "mailer-daemon sender",
                             "postmaster sender", "mail-daemon sender", "noreply-dsn sender"})


def is_bounce(msg: Inbound, verdict: Verdict) -> bool:
    """Whether automated mail is a delivery report, not an auto-reply, a read receipt or list
    mail: only a delivery report may mark our mail undelivered (an out-of-office reply to our
    acknowledgement carries its Message-ID too)."""
    # The verdict's own reasons first: they often settle it, and reading the message again for
    # every automated-mail signal is the costly part.
    return _says_bounce(verdict.reasons) or _says_bounce(automated_reasons(msg))


def _says_bounce(reasons: Iterable[str]) -> bool:
    return any(s.startswith("dsn:") or s in _BOUNCE_SIGNALS for s in reasons)
