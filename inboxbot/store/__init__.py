"""The store: tortoise-orm models and the queries the pipeline needs, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tortoise import Tortoise

MODELS_MODULE = "inboxbot.store.models"


def _tortoise_url(url: str) -> str:
    # tortoise names the asyncpg engine "asyncpg://"; accept the usual postgres:// too.
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        return "asyncpg://" + url.split("://", 1)[1]
    return url


async def open_store(url: str, *, create: bool = True) -> None:
    """Connect and (by default) create missing tables. Safe to call once per process."""
    if url.startswith("sqlite://"):
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(db_url=_tortoise_url(url), modules={"models": [MODELS_MODULE]})
    if create:
        await Tortoise.generate_schemas(safe=True)


async def close_store() -> None:
    await Tortoise.close_connections()
