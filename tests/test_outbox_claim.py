"""The outbox's claim UPDATE, written once per dialect, is the statement tortoise would write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inboxbot.outbox import claim_statement
from inboxbot.store import close_store, open_store
from inboxbot.store.models import OutboxItem

AT = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[None]:
    url = (f"sqlite://{tmp_path / 'db.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    await open_store(url)
    try:
        yield
    finally:
        await close_store()


async def test_cached_claim_is_the_statement_the_query_builder_writes(store: None) -> None:
    db = OutboxItem._meta.db
    for item_id, seen in ((1, 0), (42, 7), (123456, 11)):
        at = AT + timedelta(seconds=item_id)
        query = OutboxItem.filter(id=item_id, attempts=seen, status__in=("pending", "sending")
                                  ).using_db(db).update(status="sending", attempts=seen + 1,
                                                        next_attempt_at=at)
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        statement = claim_statement(db)
        assert (statement.sql, statement.bind(item_id, seen, at)) == (sql, params)


async def test_claim_takes_an_item_once(store: None) -> None:
    item = await OutboxItem.create(dedupe_key="k", purpose="ack", recipient="a@example.com",
                                   message_id="<m@x>", payload="p", next_attempt_at=AT,
                                   created_at=AT)
    db = OutboxItem._meta.db
    statement = claim_statement(db)
    first, _ = await db.execute_query(statement.sql, statement.bind(item.id, 0, AT))
    again, _ = await db.execute_query(statement.sql, statement.bind(item.id, 0, AT))
    assert (first, again) == (1, 0)
    stored = await OutboxItem.get(id=item.id)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("sending", 1, AT)
