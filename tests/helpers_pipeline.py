"""Run raw messages through the real pipeline (Processor over a real SQLite store) in tests.

    async with pipeline(tmp_path) as run:
        outcomes = await run.process([raw1, raw2])
        payloads = await run.deliver()      # the outbox, delivered by the folder transport

The clock is fixed (WHEN) so rate caps, due dates and outbox times are the same on every run.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.domain import RawMessage
from inboxbot.outbox import deliver_due
from inboxbot.pipeline import Outcome, Processor
from inboxbot.store import close_store, open_store
from inboxbot.transport import Transport, make_transport

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def base_settings(tmp: Path, **overrides: Any) -> Settings:
    settings = Settings(
        organisation=Organisation(name="Example AB", domain="example.com",
                                  reply_from="privacy@example.com", dpo_email="dpo@example.com"),
        transport=TransportSettings(kind="folder", path=tmp / "sent"),
        state_dir=tmp,
    )
    return replace(settings, **overrides)


@dataclass
class PipelineRun:
    settings: Settings
    processor: Processor
    transport: Transport
    clock: list[datetime]
    uids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def raw(self, data: bytes) -> RawMessage:
        return RawMessage(account="privacy", folder="INBOX", uidvalidity=1, uid=next(self.uids),
                          raw=data, internaldate=self.clock[0])

    async def process(self, raws: list[bytes]) -> list[Outcome]:
        return await self.processor.process([self.raw(r) for r in raws], track_cursor=True)

    async def deliver(self, transport: Transport | None = None) -> int:
        """Deliver every due outbox item; returns how many went out."""
        total = 0
        while True:
            sent, failed = await deliver_due(transport or self.transport, lambda: self.clock[0], limit=500)
            total += sent
            if sent == 0 or failed:
                return total

    def sent_files(self) -> list[EmailMessage]:
        """What the folder transport wrote, parsed (modern policy: decoded header values)."""
        folder = self.settings.transport.path
        assert folder is not None
        if not folder.exists():
            return []
        out = []
        for f in sorted(folder.glob("*.eml")):
            msg = message_from_bytes(f.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out


@asynccontextmanager
async def pipeline(tmp: Path, settings: Settings | None = None) -> AsyncIterator[PipelineRun]:
    settings = settings or base_settings(tmp)
    clock = [WHEN]
    await open_store(f"sqlite://{tmp / 'inboxbot.sqlite3'}")
    try:
        processor = Processor(settings, make_classifier(settings), clock=lambda: clock[0])
        yield PipelineRun(settings, processor, make_transport(settings.transport), clock)
    finally:
        await close_store()


def poison_acknowledgements(processor: Processor) -> None:
    """Make `processor`'s acknowledgement template raise for a letter whose subject holds
    "POISON": a stage after classify failing on one message, the others untouched."""
    original = processor.renderer.acknowledgement

    def broken(**kw: Any) -> Any:
        if "POISON" in kw["original_subject"]:
            raise RuntimeError("template error")
        return original(**kw)

    processor.renderer.acknowledgement = broken  # type: ignore[method-assign]
