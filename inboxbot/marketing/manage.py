"""Changing the suppression list: add, remove, forget (after an erasure), sync.

Each change writes the Suppression rows, an audit row (SuppressionLog: hash, never the address)
and one push per configured marketing target in one transaction. Pass `conn` to join a
transaction that is already open (the pipeline's per-message one); without it each function
opens its own.

Addresses are normalised (`inboxbot.suppression`) with the organisation's plus-folding domains.
Lookups try the folded and the unfolded hash, so changing `fold_plus_domains` later does not
hide entries written before.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from inboxbot.config import Settings
from inboxbot.errors import InboxbotError
from inboxbot.marketing.pushes import enqueue, enqueue_new, new_event
from inboxbot.store.models import Suppression, SuppressionLog, SuppressionPush
from inboxbot.suppression import address_hash, normalise_address


def normalised(settings: Settings, address: str) -> tuple[str, str]:
    """(normalised address, its SHA-256) under this organisation's folding rules."""
    norm = normalise_address(address, fold_plus_domains=settings.suppression.fold_plus_domains)
    return norm, address_hash(norm)


def hash_candidates(settings: Settings, address: str) -> list[str]:
    """Hashes an entry for `address` may be stored under: folded first, then unfolded."""
    folded = normalised(settings, address)[1]
    plain = address_hash(address)
    return [folded] if plain == folded else [folded, plain]


def _tx(conn: Any) -> AbstractAsyncContextManager[Any]:
    return nullcontext(conn) if conn is not None else in_transaction()


def _target_names(settings: Settings, only: str | None = None) -> list[str]:
    return [t.name for t in settings.marketing if only is None or t.name == only]


async def add(settings: Settings, address: str, *, now: datetime, scope: str = "all",
              source: str = "", actor: str = "inboxbot", conn: Any = None) -> bool:
    """Suppress `address` for `scope` and queue the push. False if it was already suppressed."""
    norm, digest = normalised(settings, address)
    async with _tx(conn) as tx:
        existing = await Suppression.filter(
            address_hash__in=hash_candidates(settings, address), scope=scope
        ).using_db(tx).first()
        if existing is not None:
            # Already there, possibly hash-only after an erasure: keep it that way.
            return False
        await Suppression.create(using_db=tx, address_hash=digest, address=norm, scope=scope,
                                 source=source[:200])
        await SuppressionLog.create(using_db=tx, at=now, actor=actor[:100], kind="add",
                                    address_hash=digest, scope=scope, detail=source)
        await enqueue_new(new_event("suppress", digest, norm, scope, now), _target_names(settings),
                          conn=tx)
    return True


async def remove(settings: Settings, address: str, *, now: datetime, reason: str,
                 scope: str = "all", actor: str = "inboxbot") -> int:
    """Take `address` off the list for `scope`, recording why. Returns the rows removed."""
    if not reason.strip():
        raise InboxbotError("removing a suppression needs a reason (--reason)")
    async with in_transaction() as tx:
        rows = await Suppression.filter(
            address_hash__in=hash_candidates(settings, address), scope=scope
        ).using_db(tx)
        for row in rows:
            await row.delete(using_db=tx)
            await SuppressionLog.create(using_db=tx, at=now, actor=actor[:100], kind="remove",
                                        address_hash=row.address_hash, scope=scope, detail=reason)
            await enqueue(new_event("unsuppress", row.address_hash, row.address, scope, now),
                          _target_names(settings), conn=tx)
    return len(rows)


@dataclass(frozen=True)
class ForgetResult:
    rows: int  # suppression rows now hash-only (a new hash-only row counts)
    created: bool  # there was no entry: a hash-only "all" entry was made
    unsent: int  # pushes still waiting that lost their address: those systems never got it


async def forget(settings: Settings, address: str, *, now: datetime, reason: str,
                 actor: str = "inboxbot") -> ForgetResult:
    """After an erasure: drop the address everywhere we keep it for suppression; keep the hash.

    Someone whose data was erased must not be re-imported into marketing by mistake, so an
    address that was not on the list is added as a hash-only "all" entry.
    """
    if not reason.strip():
        raise InboxbotError("forgetting an address needs a reason (--reason), e.g. the erasure ticket")
    candidates = hash_candidates(settings, address)
    async with in_transaction() as tx:
        rows = await Suppression.filter(address_hash__in=candidates).using_db(tx)
        created = not rows
        if created:
            rows = [await Suppression.create(using_db=tx, address_hash=candidates[0], address=None,
                                             scope="all", source=f"erasure: {reason}"[:200])]
        for row in rows:
            if row.address is not None:
                row.address = None
                await row.save(using_db=tx, update_fields=["address"])
        unsent = await SuppressionPush.filter(
            address_hash__in=candidates, status="pending", address__isnull=False
        ).exclude(action="forget").using_db(tx).count()
        await SuppressionPush.filter(address_hash__in=candidates).using_db(tx).update(address=None)
        for digest in sorted({r.address_hash for r in rows}):
            await SuppressionLog.create(using_db=tx, at=now, actor=actor[:100], kind="forget",
                                        address_hash=digest, scope="", detail=reason)
            await enqueue(new_event("forget", digest, None, "all", now), _target_names(settings),
                          conn=tx)
    return ForgetResult(len(rows), created, unsent)


async def sync(settings: Settings, *, now: datetime, target: str | None = None,
               actor: str = "inboxbot") -> int:
    """Queue every entry again for all targets (or one), e.g. for a newly added marketing system.

    Hash-only entries go out as `forget` events, which mirrors record and APIs ignore.
    """
    names = _target_names(settings, target)
    if target is not None and not names:
        known = ", ".join(t.name for t in settings.marketing) or "none configured"
        raise InboxbotError(f"no marketing target named {target!r} (known: {known})")
    async with in_transaction() as tx:
        rows = await Suppression.all().using_db(tx).order_by("id")
        for row in rows:
            event = (new_event("suppress", row.address_hash, row.address, row.scope, now) if row.address
                     else new_event("forget", row.address_hash, None, row.scope, now))
            await enqueue(event, names, conn=tx)
        await SuppressionLog.create(using_db=tx, at=now, actor=actor[:100], kind="sync",
                                    detail=f"{len(rows)} entries to {', '.join(names) or 'no targets'}")
    return len(rows)
