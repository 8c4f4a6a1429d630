"""Schema migrations (store/migrate.py) on SQLite and on a real PostgreSQL.

A database made by the first release's schema (only the first migration applied, a row in it)
must refuse to run, be brought current by `inboxbot db upgrade` with its data kept, and then
run. The committed migrations must match the models, for both engines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from tortoise import Tortoise, connections

from inboxbot.store import SchemaOutdated, close_store, open_store
from inboxbot.store.lease import Lease
from inboxbot.store.migrate import (
    APP,
    DIALECTS,
    MIGRATIONS,
    available,
    dialect_of,
    make,
    schema_state,
    tortoise_config,
    upgrade,
)
from inboxbot.store.models import Ticket

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_url")
    else:
        yield f"sqlite://{tmp_path / 'inboxbot.sqlite3'}"


def first_release(tmp_path: Path) -> Path:
    """A migrations root holding only each dialect's first migration: the first schema."""
    root = tmp_path / "first"
    for dialect in DIALECTS:
        folder = root / dialect / APP
        folder.mkdir(parents=True)
        first = available(dialect)[0]
        shutil.copy(MIGRATIONS / dialect / APP / first, folder / first)
    return root


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


def test_both_dialects_ship_the_same_steps() -> None:
    names = [available(d) for d in DIALECTS]
    assert names[0] and all(n == names[0] for n in names), names
    assert [int(n.split("_")[0]) for n in names[0]] == list(range(len(names[0])))


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    # `make` writes a step only when the models differ from the last migration's recorded state:
    # a model changed without `inboxbot db make NAME` fails here, for either engine.
    root = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, root)
    written = await make("probe", root=root)
    assert written == [], f"models changed without a migration: run `inboxbot db make NAME` ({written})"


async def test_new_database_is_created_from_the_migrations(db_url: str) -> None:
    await open_store(db_url)
    try:
        state = await schema_state(db_url)
        assert state.applied == state.available and not state.pending
        assert await Lease("privacy", "INBOX", "w1").acquire()  # the newest table is there
    finally:
        await close_store()


async def test_first_schema_is_upgraded_by_db_upgrade_with_data_kept(db_url: str, tmp_path: Path) -> None:
    # The first release: its migrations only, and a ticket in it.
    await Tortoise.init(config=tortoise_config(db_url))
    try:
        assert len(await upgrade(db_url, root=first_release(tmp_path))) == 1
        await Ticket.create(reference="PRIV-2026-000001", sender="anna@example.org",
                            received_at=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc),
                            due_date=date(2026, 12, 2), intents=["access"])
        state = await schema_state(db_url)
        assert len(state.pending) == len(state.available) - 1 >= 1
    finally:
        await close_store()

    # This release refuses to run on it, naming the command.
    with pytest.raises(SchemaOutdated, match="inboxbot db upgrade"):
        await open_store(db_url)

    config = tmp_path / "inboxbot.toml"
    config.write_text(f'[store]\nurl = "{db_url}"\n')
    assert cli(config, "db", "status").returncode == 1
    done = cli(config, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("applied ") == len(available("sqlite")) - 1
    again = cli(config, "db", "upgrade")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    status = cli(config, "db", "status")
    assert status.returncode == 0 and "schema is current" in status.stdout

    await open_store(db_url)
    try:
        ticket = await Ticket.get(reference="PRIV-2026-000001")
        assert ticket.sender == "anna@example.org" and ticket.intents == ["access"]
        assert ticket.received_at == datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
        assert await Lease("privacy", "INBOX", "w1").acquire()
    finally:
        await close_store()


async def test_tables_from_before_migrations_are_adopted(db_url: str, tmp_path: Path) -> None:
    # A database made by generate_schemas (before migrations existed): tables, no aerich rows.
    await Tortoise.init(config=tortoise_config(db_url))
    try:
        dialect = dialect_of(db_url)
        first = MIGRATIONS / dialect / APP / available(dialect)[0]
        namespace: dict[str, object] = {}
        exec(compile(first.read_text(), str(first), "exec"), namespace)
        conn = connections.get(dialect)
        sql = await namespace["upgrade"](conn)  # type: ignore[operator]
        await conn.execute_script(sql.split('CREATE TABLE IF NOT EXISTS "aerich"')[0])
        state = await schema_state(db_url)
        assert state.has_tables and not state.applied
    finally:
        await close_store()
    with pytest.raises(SchemaOutdated):
        await open_store(db_url)
    config = tmp_path / "inboxbot.toml"
    config.write_text(f'[store]\nurl = "{db_url}"\n')
    done = cli(config, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    await open_store(db_url)
    await close_store()
