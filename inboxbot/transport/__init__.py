"""Transports deliver a finished message: SMTP for real mail, a folder for the demo and tests.

Every transport raises TransientError (try again later) or PermanentError (recipient refused,
do not retry) and nothing else.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from inboxbot.config import TransportSettings


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


def make_transport(settings: TransportSettings) -> Transport:
    if settings.kind == "folder":
        from inboxbot.transport.folder import FolderTransport

        assert settings.path is not None  # validated in config
        return FolderTransport(settings.path)
    from inboxbot.transport.smtp import SmtpTransport

    return SmtpTransport(settings)
