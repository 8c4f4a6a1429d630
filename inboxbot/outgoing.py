"""Build the RFC 5322 messages we send. Every header value we write passes through here.

Header injection defence: values taken from inbound mail (names, subjects, addresses) have CR,
LF and other control characters removed before they reach a header.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage
from email.utils import format_datetime

from inboxbot.domain import Outgoing

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def clean_header(value: str, limit: int = 300) -> str:
    """One line, no control characters, bounded length."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{clean_header(domain, 200)}>"


def build_message(out: Outgoing, *, sender: str, sender_name: str = "",
                  now: datetime | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = EmailAddress(display_name=clean_header(sender_name, 100),
                               addr_spec=clean_header(sender))
    msg["To"] = clean_header(out.to)
    msg["Subject"] = clean_header(out.subject, 250)
    msg["Date"] = format_datetime(now or datetime.now(timezone.utc))
    msg["Message-ID"] = clean_header(out.message_id)
    if out.in_reply_to:
        msg["In-Reply-To"] = clean_header(out.in_reply_to, 998)
    refs = [clean_header(r, 998) for r in out.references if r]
    if refs:
        # Keep the chain bounded: the first and the last few, as RFC 5322 3.6.4 allows.
        if len(refs) > 10:
            refs = refs[:1] + refs[-9:]
        msg["References"] = " ".join(refs)
    # RFC 3834: mark the reply as automatic so that well-behaved responders stay silent.
    msg["Auto-Submitted"] = clean_header(out.auto_submitted)
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    msg.set_content(out.text, charset="utf-8", cte="quoted-printable")
    if out.html is not None:
        msg.add_alternative(out.html, subtype="html", charset="utf-8")
    # After set_content: it drops Content-* headers such as Content-Language.
    for name, value in out.extra_headers:
        msg[clean_header(name, 60)] = clean_header(value)
    return msg
