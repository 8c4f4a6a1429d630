"""May we send an automatic reply to this message? One pure, documented function.

An automatic reply to automated mail starts a mail loop; an automatic reply to a forged sender is
backscatter. So we answer only a person, once per thread, and only a few times a day per sender.
"""

from __future__ import annotations

from dataclasses import dataclass

from inboxbot.authres import AuthStatus, SenderAuth, authenticate
from inboxbot.domain import History, Inbound, Verdict

# Local parts that belong to machines, not people (RFC 3834 section 2 suggests not replying).
_MACHINE_LOCALPARTS = (
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "do-not-reply",
    "donotreply",
    "bounce",
    "bounces",
    "listserv",
    "majordomo",
)


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    enabled: bool
    own_addresses: frozenset[str]  # our reply-from, DPO and mailbox addresses, lower-cased
    max_per_sender_per_day: int
    max_per_domain_per_hour: int
    max_per_hour: int
    trusted_authserv_ids: tuple[str, ...] = ()  # [security]: whose Authentication-Results count
    ack_unauthenticated: bool = False  # answer even when the sender's domain was not verified


def sender_auth(msg: Inbound, policy: ReplyPolicy) -> SenderAuth:
    """The trusted verdict on the From: domain (UNCHECKED when no trusted server is named)."""
    domain = msg.sender.domain if msg.sender is not None else ""
    return authenticate(msg.header_all("authentication-results"), policy.trusted_authserv_ids, domain)


def may_autoreply(
    msg: Inbound, verdict: Verdict, history: History, policy: ReplyPolicy
) -> tuple[bool, str]:
    """Return (allowed, reason). The reason is recorded either way.

    No reply when: replies are off; the mail is automated (auto-replies, bounces, lists, bulk:
    see classify.automated); it is our own mail coming back; there is no usable sender; the
    sender is one of our own addresses or a machine address; a trusted server did not
    authenticate the sender's domain (unless `ack_unauthenticated`); the thread was already
    acknowledged; or a rate cap (per sender per day, per domain per hour, in total per hour)
    is reached.
    """
    if not policy.enabled:
        return False, "replies disabled in config"
    if verdict.automated:
        return False, "automated mail: " + (verdict.reasons[0] if verdict.reasons else "rules")
    if history.own_message:
        return False, "our own mail coming back"
    if msg.sender is None or "@" not in msg.sender.addr:
        return False, "no usable sender address"
    addr = msg.sender.addr.lower()
    if addr in policy.own_addresses:
        return False, "sender is one of our own addresses"
    local = addr.partition("@")[0]
    if local in _MACHINE_LOCALPARTS or local.startswith(("noreply", "no-reply", "bounce")):
        return False, f"machine sender address ({local}@...)"
    auth = sender_auth(msg, policy)
    if auth.status in (AuthStatus.FAIL, AuthStatus.NONE) and not policy.ack_unauthenticated:
        return False, f"sender domain not authenticated: {auth.detail}"
    if history.thread_acknowledged:
        return False, "thread already acknowledged"
    if history.acks_to_sender_today >= policy.max_per_sender_per_day:
        return False, f"daily cap of {policy.max_per_sender_per_day} replies to this sender reached"
    if history.acks_to_domain_last_hour >= policy.max_per_domain_per_hour:
        return False, f"hourly cap of {policy.max_per_domain_per_hour} replies to this domain reached"
    if history.acks_last_hour >= policy.max_per_hour:
        return False, f"hourly cap of {policy.max_per_hour} replies in total reached"
    return True, "person writing for the first time in this thread"
