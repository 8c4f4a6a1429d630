"""Build small, valid test messages, so tests say what matters and not how RFC 5322 works."""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Iterable
from email.message import EmailMessage


def make_message(
    subject: str = "Test message",
    body: str = "Hello.\n",
    *,
    sender: str = "Anna Exempel <anna@example.org>",
    to: str = "privacy@example.com",
    message_id: str | None = None,
    date: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """A text/plain message as wire bytes (CRLF line ends). Non-ASCII is encoded properly."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date or email.utils.formatdate(localtime=True)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="example.org")
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()
