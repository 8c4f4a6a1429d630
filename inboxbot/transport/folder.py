"""Write outgoing mail as .eml files into a folder instead of sending it.

The file name comes from the Message-ID, so delivering the same message twice leaves one file:
the folder transport is idempotent by construction.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

from inboxbot.transport import parse_stored


class FolderTransport:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _write(self, message: EmailMessage) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:24]
        final = self.path / f"{key}.eml"
        tmp = self.path / f".{key}.tmp"
        tmp.write_bytes(message.as_bytes())
        os.replace(tmp, final)  # atomic: a crash never leaves half a message

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    async def send_stored(self, payload: str) -> None:
        await self.send(parse_stored(payload))

    async def close(self) -> None:
        return None
