"""`inboxbot digest`: write the digest to files without sending, or send it now."""

from __future__ import annotations

from pathlib import Path

from inboxbot import clock
from inboxbot.config import Settings
from inboxbot.digest.send import build_digest, queue_digest
from inboxbot.outbox import deliver_due
from inboxbot.store import close_store, open_store
from inboxbot.transport import make_transport


def text_path(html_path: Path) -> Path:
    """FILE.html -> FILE.txt, beside it."""
    candidate = html_path.with_suffix(".txt")
    return candidate if candidate != html_path else html_path.with_name(html_path.name + ".txt")


async def digest_command(settings: Settings, *, preview: Path | None, send: bool) -> int:
    """--preview: the seven days up to now, written as FILE.html and FILE.txt; nothing is
    recorded or sent. --send: queue it now (the schedule is left alone) and deliver the outbox
    through the configured transport, as `run --once` does."""
    now = clock.now()
    await open_store(settings.db_url)
    try:
        if preview is not None:
            rendered = await build_digest(settings, now, now)
            preview.parent.mkdir(parents=True, exist_ok=True)
            preview.write_text(rendered.html, encoding="utf-8")
            text_file = text_path(preview)
            text_file.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
            print(f"{preview}\n{text_file}")
        if send:
            await queue_digest(settings, now, force=True)
            transport = make_transport(settings.transport)
            try:
                sent = failed = 0
                while True:
                    batch_sent, failed = await deliver_due(transport, clock.now)
                    sent += batch_sent
                    if failed or not batch_sent:
                        break
            finally:
                await transport.close()
            print(f"digest queued; {sent} message(s) sent" + (", delivery failed (see the outbox)" if failed else ""))
            return 1 if failed else 0
    finally:
        await close_store()
    return 0
