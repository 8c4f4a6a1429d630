"""A Maildir as a message source: the bundled sample mailbox, exported mailboxes, or a server
that delivers to Maildir.

Messages waiting in `new/` are fetched; once the store has committed a message it is moved to
`cur/` with the Seen flag (the Maildir way of saying "done"). A crash between the commit and the
move is harmless: the store recognises the Message-ID and records nothing new.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

from inboxbot.domain import RawMessage


class MaildirFolder:
    def __init__(self, account: str, path: Path) -> None:
        self.account = account
        self.path = path
        self.folder = str(path)

    def _list(self, limit: int) -> list[RawMessage]:
        new = self.path / "new"
        if not new.is_dir():
            raise FileNotFoundError(f"{self.path} is not a Maildir (no new/ folder)")
        names = sorted(n for n in os.listdir(new) if not n.startswith("."))[:limit]
        out: list[RawMessage] = []
        for seq, name in enumerate(names, start=1):
            file = new / name
            try:
                raw = file.read_bytes()
                stamp = datetime.fromtimestamp(file.stat().st_mtime, tz=timezone.utc)
            except FileNotFoundError:
                continue  # taken by another reader meanwhile
            out.append(RawMessage(self.account, self.folder, 0, seq, raw, stamp, source_key=name))
        return out

    async def fetch_new(self, limit: int = 500) -> list[RawMessage]:
        return await asyncio.to_thread(self._list, limit)

    def _mark(self, name: str) -> None:
        base = name.split(":2,", 1)[0]
        src = self.path / "new" / name
        dst = self.path / "cur" / f"{base}:2,S"
        (self.path / "cur").mkdir(exist_ok=True)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            pass  # already moved

    async def mark_done(self, names: list[str]) -> None:
        await asyncio.to_thread(lambda: [self._mark(n) for n in names])
