"""A tiny builder for Inbound objects in tests; the real parser lives elsewhere and is not used."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

from inboxbot.domain import Address, Inbound

_WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def make_inbound(
    body: str = "",
    subject: str = "",
    *,
    language: str = "und",
    sender: str = "anna.svensson@example.se",
    headers: tuple[tuple[str, str], ...] = (),
    content_type: str = "text/plain",
    full_text: str | None = None,
    message_id: str = "<test@example.se>",
) -> Inbound:
    """An Inbound with just the fields the classifier reads; header names are lower-cased."""
    return Inbound(
        message_id=message_id,
        sender=Address(sender.lower()) if sender else None,
        reply_to=None,
        recipients=("privacy@example.com",),
        subject=subject,
        in_reply_to=None,
        references=(),
        date=_WHEN,
        received_at=_WHEN,
        body=body,
        full_text=body if full_text is None else full_text,
        language=language,
        headers=tuple((name.lower(), value) for name, value in headers),
        content_type=content_type,
    )


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        for sub in msg.walk():
            if sub.get_content_type() == "text/plain":
                part = sub
                break
    return str(part.get_content()) if part is not None else ""


def inbound_from_eml(path: Path, language: str = "und") -> Inbound:
    """Parse an .eml fixture crudely: all headers kept, first text/plain part as body."""
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    sender = None
    pairs = getaddresses([str(msg.get("from", ""))])
    if pairs and pairs[0][1]:
        sender = Address(pairs[0][1].lower(), pairs[0][0])
    text = _text_of(msg)
    return Inbound(
        message_id=str(msg.get("message-id", "<none@example.com>")),
        sender=sender,
        reply_to=None,
        recipients=("privacy@example.com",),
        subject=str(msg.get("subject", "")),
        in_reply_to=msg.get("in-reply-to"),
        references=(),
        date=_WHEN,
        received_at=_WHEN,
        body=text,
        full_text=text,
        language=language,
        headers=tuple((k.lower(), str(v)) for k, v in msg.items()),
        content_type=msg.get_content_type(),
    )
