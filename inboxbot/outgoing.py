"""Build the RFC 5322 messages we send. Every header value we write passes through here.

Header injection defence: values taken from inbound mail (names, subjects, addresses) have CR,
LF and other control characters removed before they reach a header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from email import quoprimime
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage
from email.utils import format_datetime

from inboxbot.domain import Outgoing
from inboxbot.mailpolicy import POLICY

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def clean_header(value: str, limit: int = 300) -> str:
    """One line, no control characters, bounded length."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{clean_header(domain, 200)}>"


def _headers(out: Outgoing, sender: str, sender_name: str,
             now: datetime | None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The headers we write, in order, before the body's and after it (name, cleaned value).
    From is left out: it is made from an address object, see build_message."""
    before = [
        ("To", clean_header(out.to)),
        ("Subject", clean_header(out.subject, 250)),
        ("Date", format_datetime(now or datetime.now(timezone.utc))),
        ("Message-ID", clean_header(out.message_id)),
    ]
    if out.in_reply_to:
        before.append(("In-Reply-To", clean_header(out.in_reply_to, 998)))
    refs = [clean_header(r, 998) for r in out.references if r]
    if refs:
        # Keep the chain bounded: the first and the last few, as RFC 5322 3.6.4 allows.
        if len(refs) > 10:
            refs = refs[:1] + refs[-9:]
        before.append(("References", " ".join(refs)))
    # RFC 3834: mark the reply as automatic so that well-behaved responders stay silent.
    before += [("Auto-Submitted", clean_header(out.auto_submitted)),
               ("X-Auto-Response-Suppress", "All"), ("Precedence", "auto_reply")]
    after = [(clean_header(name, 60), clean_header(value)) for name, value in out.extra_headers]
    return before, after


def _sender(sender: str, sender_name: str) -> EmailAddress:
    return EmailAddress(display_name=clean_header(sender_name, 100), addr_spec=clean_header(sender))


def build_message(out: Outgoing, *, sender: str, sender_name: str = "",
                  now: datetime | None = None) -> EmailMessage:
    before, after = _headers(out, sender, sender_name, now)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _sender(sender, sender_name)
    for name, value in before:
        msg[name] = value
    msg.set_content(out.text, charset="utf-8", cte="quoted-printable")
    if out.html is not None:
        msg.add_alternative(out.html, subtype="html", charset="utf-8")
    # After set_content: it drops Content-* headers such as Content-Language.
    for name, value in after:
        msg[name] = value
    return msg


# -- the same text, made faster ----------------------------------------------------------------
#
# build_message(...).as_string() parses every header value into a token tree and folds it back,
# which made it the costliest step of queueing an acknowledgement. message_text() writes the same
# characters (tests/test_outgoing_text.py compares the two on many messages) from the same parts:
# a header whose value is short, plain ASCII text (or a plain address or Message-ID where the
# header holds one) is folded by the stdlib as "Name: value" unchanged, so it is written so;
# every other header is folded by the stdlib itself, each at most once for a given value where
# values repeat (From, Date, the constant headers); the body is encoded by the same function
# set_content uses. Anything else (an HTML part, a repeated header name) is left to
# build_message.

_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, single spaces between
_ATOMS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_PLAIN_ADDR = re.compile(rf"{_ATOMS}@{_ATOMS}")
_PLAIN_MSGID = re.compile(rf"<{_ATOMS}@{_ATOMS}>")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
# Headers whose value the stdlib parses as an address list or a msg-id, not as plain text.
_STRUCTURED = {"to": _PLAIN_ADDR, "message-id": _PLAIN_MSGID}
_NOT_PLAIN_TEXT = frozenset({"from", "sender", "reply-to", "cc", "bcc", "resent-from",
                             "resent-sender", "resent-to", "resent-cc", "resent-bcc", "date",
                             "resent-date", "mime-version", "content-type",
                             "content-disposition", "content-transfer-encoding", "orig-date"})
_BODY_HEADERS = (("Content-Type", 'text/plain; charset="utf-8"'),
                 ("Content-Transfer-Encoding", "quoted-printable"), ("MIME-Version", "1.0"))
_FOLDED: dict[tuple[str, str], str] = {}  # (name, value) -> folded line, for repeating values
_FOLDED_MAX = 512


def _fold(name: str, value: str | EmailAddress) -> str:
    """`name: value` as the stdlib writes it (header_store_parse, then fold)."""
    return POLICY.fold(*POLICY.header_store_parse(name, value))


def _kept(key: tuple[str, str], make: Callable[[], str]) -> str:
    """The folded line under `key`, made once while the (bounded) memo keeps it."""
    line = _FOLDED.get(key)
    if line is None:
        if len(_FOLDED) >= _FOLDED_MAX:
            _FOLDED.clear()
        line = _FOLDED[key] = make()
    return line


def _fold_kept(name: str, value: str) -> str:
    return _kept((name, value), lambda: _fold(name, value))


def _line(name: str, value: str) -> str:
    key = name.lower()
    plain = _STRUCTURED.get(key)
    if (len(name) + 2 + len(value) <= POLICY.max_line_length and "=?" not in value
            and (plain.fullmatch(value) if plain is not None
                 else key not in _NOT_PLAIN_TEXT and _PLAIN.fullmatch(value))):
        return f"{name}: {value}\n"
    return _fold(name, value)


def _from_line(sender: str, sender_name: str) -> str:
    # "\0From" is not a header name: no clash with _fold_kept's keys.
    return _kept(("\0From", f"{sender_name}\0{sender}"),
                 lambda: _fold("From", _sender(sender, sender_name)))


def message_text(out: Outgoing, *, sender: str, sender_name: str = "",
                 now: datetime | None = None) -> str:
    """`build_message(out, ...).as_string()`, the same characters at a fraction of the cost."""
    before, after = _headers(out, sender, sender_name, now)
    names = ["from", *(n.lower() for n, _ in before), "content-type", "content-transfer-encoding",
             "mime-version", *(n.lower() for n, _ in after)]
    if (out.html is not None or len(set(names)) != len(names)
            or not all(_HEADER_NAME.fullmatch(n) for n, _ in after)):
        return build_message(out, sender=sender, sender_name=sender_name, now=now).as_string()
    lines = [_from_line(sender, sender_name)]
    lines += [_fold_kept(n, v) if n == "Date" or n not in ("To", "Subject", "Message-ID",
                                                           "In-Reply-To", "References")
              else _line(n, v) for n, v in before]
    lines += [_fold_kept(n, v) for n, v in _BODY_HEADERS]
    lines += [_fold_kept(n, v) if n == "Content-Language" else _line(n, v) for n, v in after]
    lines.append("\n")
    # As set_content(text, charset="utf-8", cte="quoted-printable") encodes the body, and the
    # generator writes it: line by line with "\n".
    body = b"\n".join(out.text.encode("utf-8").splitlines()) + b"\n"
    encoded = quoprimime.body_encode(body.decode("latin-1"), POLICY.max_line_length)
    parts = re.split(r"\r\n|\r|\n", encoded)
    lines += [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return "".join(lines)
