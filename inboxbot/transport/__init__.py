"""Transports deliver a finished message: SMTP for real mail, a folder for the demo and tests.

Every transport raises TransientError (try again later) or PermanentError (recipient refused,
do not retry) and nothing else.
"""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage
from typing import Protocol

from inboxbot.config import TransportSettings


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def send_stored(self, payload: str) -> None:
        """Send a message as the outbox stores it (`EmailMessage.as_string()`)."""
        ...

    async def close(self) -> None: ...


def parse_stored(payload: str) -> EmailMessage:
    """A message stored by the outbox, parsed back into the EmailMessage it was written from."""
    return message_from_string(payload, policy=policy.default)


def make_transport(settings: TransportSettings) -> Transport:
    if settings.kind == "folder":
        from inboxbot.transport.folder import FolderTransport

        assert settings.path is not None  # validated in config
        return FolderTransport(settings.path)
    from inboxbot.transport.smtp import SmtpTransport

    return SmtpTransport(settings)
