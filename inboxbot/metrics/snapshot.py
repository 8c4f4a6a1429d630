"""What the store says right now, read on the event loop and published for the scrape thread.

Prometheus scrapes from its own HTTP thread, and tortoise's connections belong to the event
loop: so the worker reads these figures from the loop every few seconds (`read_snapshot`) and
the scrape only ever looks at the last frozen `StoreSnapshot`. `health` is pure, over a
snapshot and a time, so /healthz is testable without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inboxbot.config import Settings
from inboxbot.lifecycle import OPEN_STATES
from inboxbot.store.models import DeadLetter, MailboxCursor, OutboxItem, Ticket


@dataclass(frozen=True)
class FolderState:
    account: str
    folder: str
    last_success_at: datetime | None  # last fetch that reached the server (any worker)
    last_error: str


@dataclass(frozen=True)
class StoreSnapshot:
    taken_at: datetime
    outbox_depth: int  # pending or being sent
    outbox_failed: int  # refused for good: a person must look
    dead_letters: int  # not yet replayed
    tickets_open: int
    tickets_overdue: int
    folders: tuple[FolderState, ...]


def watched_folders(settings: Settings) -> list[tuple[str, str]]:
    """(account, folder) for every IMAP folder the configuration watches."""
    return [(mb.name, f) for mb in settings.mailboxes if mb.kind == "imap" for f in mb.folders]


async def read_snapshot(settings: Settings, now: datetime) -> StoreSnapshot:
    """Count what the gauges show. A handful of indexed COUNTs: cheap enough every few seconds."""
    today = now.astimezone(settings.organisation.tz).date()
    open_q = Ticket.filter(status__in=tuple(OPEN_STATES))
    cursors = {(c.account, c.folder): c for c in await MailboxCursor.all()}
    folders = []
    for account, folder in watched_folders(settings):
        c = cursors.get((account, folder))
        folders.append(FolderState(account, folder, c.last_success_at if c else None,
                                   c.last_error if c else ""))
    return StoreSnapshot(
        taken_at=now,
        outbox_depth=await OutboxItem.filter(status__in=("pending", "sending")).count(),
        outbox_failed=await OutboxItem.filter(status="failed").count(),
        dead_letters=await DeadLetter.filter(status="new").count(),
        tickets_open=await open_q.count(),
        tickets_overdue=await open_q.filter(due_date__lt=today).count(),
        folders=tuple(folders),
    )


@dataclass(frozen=True)
class Health:
    ok: bool
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return ("ok" if self.ok else "unhealthy") + "\n" + "".join(f"{line}\n" for line in self.lines)


def health(snapshot: StoreSnapshot | None, now: datetime, *, stale_after: timedelta,
           started_at: datetime) -> Health:
    """Healthy when every watched folder was reached within `stale_after` and the figures
    themselves are fresh. A folder never reached counts from `started_at`: a worker gets
    `stale_after` to connect before it is called unhealthy."""
    if snapshot is None:
        if now - started_at > stale_after:
            return Health(False, ("no figures from the store since start",))
        return Health(True, ("starting",))
    lines: list[str] = []
    ok = True
    if now - snapshot.taken_at > stale_after:
        ok = False
        lines.append(f"store figures are {_age(now - snapshot.taken_at)} old (database unreachable?)")
    for f in snapshot.folders:
        age = now - (f.last_success_at or started_at)
        fresh = age <= stale_after
        ok = ok and fresh
        state = "ok" if fresh else "STALE"
        detail = f"last reached {_age(age)} ago" if f.last_success_at else "not reached yet"
        error = f"; last error: {f.last_error[:200]}" if f.last_error and not fresh else ""
        lines.append(f"{state} {f.account}/{f.folder}: {detail}{error}")
    return Health(ok, tuple(lines))


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min"
