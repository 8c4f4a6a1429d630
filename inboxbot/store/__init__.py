"""The store: tortoise-orm models and the queries the pipeline needs, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tortoise import Tortoise

from inboxbot.store.migrate import (
    MODELS_MODULE,
    SchemaOutdated,
    ensure_schema,
    tortoise_config,
)

__all__ = ["MODELS_MODULE", "SchemaOutdated", "close_store", "open_store"]


async def open_store(url: str, *, create: bool = True) -> None:
    """Connect. Safe to call once per process.

    With `create` (the default) a brand-new database gets its schema from the committed
    migrations, and one that is behind this release raises SchemaOutdated (run `inboxbot db
    upgrade`): an existing schema is never changed implicitly. `create=False` only connects
    (for `inboxbot db`, which inspects and upgrades)."""
    if url.startswith("sqlite://"):
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=tortoise_config(url))
    if create:
        try:
            await ensure_schema(url)
        except BaseException:
            await Tortoise.close_connections()
            raise


async def close_store() -> None:
    await Tortoise.close_connections()
