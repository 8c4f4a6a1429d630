"""Schema migrations through aerich: committed files, applied on purpose, never guessed.

aerich writes each migration as the SQL of one dialect, so there is one folder per engine:
`migrations/sqlite/models/` and `migrations/postgres/models/`, with the same numbered steps.
A database records what it has applied in aerich's own `aerich` table, so the `aerich` tool
and `inboxbot db` agree.

Policy (see README, "Database"):
- a brand-new, empty database is created by applying every migration (and says so in the log);
- an existing database that is behind is never changed implicitly: `open_store` refuses with
  SchemaOutdated, naming `inboxbot db upgrade`, which an operator runs once per release (after a
  backup), while or before workers of the new release start;
- a database made before migrations existed (tables, no `aerich` table) is adopted by
  `db upgrade`: the first migration creates only what is missing.

On PostgreSQL an upgrade holds an advisory lock, so several workers starting at once on a new
database apply the migrations once between them.

Developers: after changing store/models.py, run `inboxbot db make NAME` (writes the next step
for both dialects, offline, no database needed) and commit both files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections

from inboxbot.errors import InboxbotError

log = logging.getLogger(__name__)

MODELS_MODULE = "inboxbot.store.models"
APP = "models"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DIALECTS = ("sqlite", "postgres")
_LOCK_KEY = 0x1B0C5_D8  # pg_advisory_lock key for "inboxbot schema upgrade"
_MARKER_TABLE = "processed_message"  # present in every inboxbot schema since the first


class SchemaOutdated(InboxbotError):
    """The database is behind this release: an operator must run `inboxbot db upgrade`."""


def tortoise_url(url: str) -> str:
    # tortoise names the asyncpg engine "asyncpg://"; accept the usual postgres:// too.
    if url.startswith(("postgres://", "postgresql://")):
        return "asyncpg://" + url.split("://", 1)[1]
    return url


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def tortoise_config(url: str) -> dict[str, Any]:
    """The config for Tortoise.init and aerich: our models plus aerich's bookkeeping model.

    The connection is named after the dialect because tortoise caches each model's INSERT SQL
    per connection name: one name for both engines would reuse SQLite's `?` placeholders on
    PostgreSQL in a process that opens both (tests do)."""
    name = dialect_of(url)
    return {
        "connections": {name: tortoise_url(url)},
        "apps": {APP: {"models": [MODELS_MODULE, "aerich.models"], "default_connection": name}},
    }


def location(dialect: str, root: Path = MIGRATIONS) -> Path:
    """aerich's `location` for a dialect; the files themselves are in location/models/."""
    return root / dialect


def available(dialect: str, root: Path = MIGRATIONS) -> list[str]:
    """Migration file names for `dialect`, in the order they apply."""
    files = [p.name for p in (location(dialect, root) / APP).glob("*.py") if p.name.split("_")[0].isdigit()]
    return sorted(files, key=lambda name: int(name.split("_")[0]))


@dataclass(frozen=True)
class SchemaState:
    dialect: str
    applied: tuple[str, ...]
    available: tuple[str, ...]
    has_tables: bool  # inboxbot's tables exist (perhaps from before migrations)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(m for m in self.available if m not in self.applied)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Applied steps this release does not have: the database is newer than the code."""
        return tuple(m for m in self.applied if m not in self.available)


async def _tables(dialect: str) -> set[str]:
    conn = connections.get(dialect)
    if dialect == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        _, rows = await conn.execute_query(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {str(r["name"]) for r in rows}


async def schema_state(url: str, root: Path = MIGRATIONS) -> SchemaState:
    """What the connected database has applied, against what this release ships."""
    dialect = dialect_of(url)
    tables = await _tables(dialect)
    applied: tuple[str, ...] = ()
    if "aerich" in tables:
        _, rows = await connections.get(dialect).execute_query(
            "SELECT version FROM aerich WHERE app = 'models' ORDER BY id"
        )
        applied = tuple(str(r["version"]) for r in rows)
    return SchemaState(dialect, applied, tuple(available(dialect, root)), _MARKER_TABLE in tables)


async def _apply_pending(url: str, root: Path) -> list[str]:
    from aerich import Command  # aerich's import is slow-ish; only upgrades need it

    state = await schema_state(url, root)
    if not state.pending:
        return []
    command = Command(tortoise_config(url), app=APP, location=str(location(state.dialect, root)))
    await command.init()
    done = await command.upgrade(run_in_transaction=True)
    for name in done:
        log.info("database: applied migration %s", name)
    return done


async def upgrade(url: str, root: Path = MIGRATIONS) -> list[str]:
    """Apply every pending migration to the connected database; returns the names applied.
    (`root` is for tests: another set of migration folders.)

    On PostgreSQL this holds an advisory lock on its own connection, so of several processes
    upgrading at once one applies and the others find nothing left to do."""
    if dialect_of(url) == "sqlite":
        return await _apply_pending(url, root)
    import asyncpg  # type: ignore[import-untyped]

    lock = await asyncpg.connect("postgresql://" + tortoise_url(url).split("://", 1)[1])
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        return await _apply_pending(url, root)
    finally:
        await lock.close()  # closing the session releases the lock


async def ensure_schema(url: str) -> None:
    """Create a brand-new database from the migrations; refuse one that is behind or ahead.

    On PostgreSQL the check runs under the upgrade lock: a worker that starts while another is
    still creating a new database waits for it, instead of finding half the migrations applied
    and taking the database for an old one."""
    if dialect_of(url) == "sqlite":
        return await _ensure_schema(url)
    import asyncpg  # type: ignore[import-untyped]

    lock = await asyncpg.connect("postgresql://" + tortoise_url(url).split("://", 1)[1])
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        return await _ensure_schema(url)
    finally:
        await lock.close()  # closing the session releases the lock


async def _ensure_schema(url: str) -> None:
    state = await schema_state(url)
    if state.unknown:
        raise SchemaOutdated(
            f"the database has migrations this inboxbot does not know ({', '.join(state.unknown)}): "
            "it was upgraded by a newer release; run that release"
        )
    if not state.pending:
        return
    if not state.has_tables and not state.applied:
        done = await _apply_pending(url, MIGRATIONS)  # the caller holds the lock already
        if done:
            log.info("new database: created the schema from %d migration(s)", len(done))
        return
    raise SchemaOutdated(
        f"the database schema is behind this inboxbot ({len(state.pending)} migration(s) pending: "
        f"{', '.join(state.pending)}); back it up, then run `inboxbot db upgrade`"
    )


# -- developer tool: write the next migration for both dialects ------------------------------


async def make(name: str, root: Path = MIGRATIONS) -> list[Path]:
    """Write the next migration step from the models' changes, for every dialect, offline
    (no database needed). Returns the files written; none when nothing changed.
    Both dialects' files of one step get the same name."""
    from aerich import Command

    from aerich.migrate import Migrate

    written: list[Path] = []
    for dialect in DIALECTS:
        # aerich keeps the operators it collects in class attributes and does not clear them
        # between runs in one process: without this the second dialect's step repeats the first's.
        for attr, value in list(vars(Migrate).items()):
            if not attr.startswith("__") and isinstance(value, (list, dict)):
                value.clear()
        url = "sqlite://:memory:" if dialect == "sqlite" else "postgres://inboxbot@127.0.0.1:9/inboxbot"
        command = Command(tortoise_config(url), app=APP, location=str(location(dialect, root)))
        await Tortoise.init(config=tortoise_config(url))  # lazy: connects to nothing
        try:
            await command.init(offline=True)
            result = await command.migrate(name, no_input=True, offline=True)
        finally:
            await Tortoise.close_connections()
            await Tortoise._reset_apps()
        if result:
            written.append(location(dialect, root) / APP / result)
    if len(written) == 2 and written[0].name != written[1].name:
        # The second dialect may have ticked into the next second: one name for one step.
        written[1] = written[1].rename(written[1].with_name(written[0].name))
    return written
