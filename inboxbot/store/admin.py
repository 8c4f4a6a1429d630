"""`inboxbot db status | upgrade | make NAME`: the schema and the workers' leases, for operators."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from inboxbot.config import Settings
from inboxbot.store import close_store, open_store
from inboxbot.store.migrate import make, schema_state, upgrade


def redact_url(url: str) -> str:
    """The database URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


async def _leases() -> list[tuple[str, str, str, datetime]]:
    from inboxbot.store.models import MailboxLease

    rows = await MailboxLease.all().order_by("account", "folder")
    return [(r.account, r.folder, r.holder, r.expires_at) for r in rows]


async def status(settings: Settings) -> int:
    """Print the schema's state and who holds which mailbox. Exit 1 when migrations are pending."""
    url = settings.db_url
    await open_store(url, create=False)
    try:
        state = await schema_state(url)
        print(f"database: {redact_url(url)} ({state.dialect})")
        for name in state.available:
            print(f"  {'applied' if name in state.applied else 'PENDING'}  {name}")
        for name in state.unknown:
            print(f"  UNKNOWN  {name} (applied by a newer release)")
        if state.has_tables and not state.applied:
            print("  (tables made before migrations existed: `inboxbot db upgrade` adopts them)")
        if not state.pending:  # with migrations pending, the lease table may not exist yet
            now = datetime.now(timezone.utc)
            for account, folder, holder, expires in await _leases():
                live = bool(holder) and expires > now
                who = f"{holder}, until {expires:%Y-%m-%d %H:%M:%S}Z" if live else "free"
                print(f"lease {account}/{folder}: {who}")
        if state.pending:
            print(f"{len(state.pending)} migration(s) pending: run `inboxbot db upgrade`")
            return 1
        print("schema is current")
        return 0
    finally:
        await close_store()


async def run_upgrade(settings: Settings) -> int:
    """Apply what is pending; print each step."""
    url = settings.db_url
    await open_store(url, create=False)
    try:
        done = await upgrade(url)
        for name in done:
            print(f"applied {name}")
        print("schema is current" if done else "nothing to do: schema is current")
        return 0
    finally:
        await close_store()


async def run_make(name: str) -> int:
    """Developer tool: write the next migration for both dialects from the models' changes."""
    if not re.fullmatch(r"[a-z0-9_]{1,60}", name):
        print("db make: NAME is lower-case letters, digits and _ (it becomes part of a file name)")
        return 2
    files = await make(name)
    for path in files:
        print(f"wrote {path}")
    if not files:
        print("no model changes: nothing written")
    return 0

