"""A small error hierarchy: whose fault it is decides how loudly we log and whether we retry."""

from __future__ import annotations


class InboxbotError(Exception):
    """Base of every error inboxbot raises on purpose."""


class ConfigError(InboxbotError):
    """The configuration is wrong. The message names the key and what was expected."""


class SenderError(InboxbotError):
    """The message itself is at fault (unparseable, hostile). Logged at info; kept as dead letter."""


class ParseError(SenderError):
    """The raw bytes could not be turned into an Inbound at all."""


class TransientError(InboxbotError):
    """Our side or a peer is down for a while: retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 30.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(InboxbotError):
    """Retrying will not help (a 5xx recipient refusal, say). Recorded and shown to the DPO."""
