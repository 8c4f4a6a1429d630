"""`inboxbot deadletters list | show ID | retry ID... | retry --all`: the messages a stage could
not handle, kept whole, and their replay after a fix.

A dead letter holds the raw bytes exactly as fetched. `retry` runs them through every stage
again (Processor.replay):

* it works: the message is recorded, its ticket, suppression and acknowledgement are queued as
  for any message, and the dead letter becomes `resolved`;
* it fails again: the dead letter becomes `retried` with the new error; no new dead letter is
  made, so retrying never multiplies them;
* the store is busy for a moment: nothing changes; run it again.

Replaying never creates duplicates: the message's effects commit with its record under its
unique Message-ID, so a second replay (or a crash between the replay and the status update)
finds it recorded and does nothing more.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from inboxbot.config import Settings
from inboxbot.domain import RawMessage
from inboxbot.logs import redact_text
from inboxbot.pipeline import TRANSIENT_DB_ERRORS, Outcome, Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.models import DeadLetter

log = logging.getLogger(__name__)

RETRYABLE = ("new", "retried")


@dataclass(frozen=True)
class RetryResult:
    id: int
    status: str  # resolved, retried, busy
    outcome: Outcome | None
    error: str = ""


def as_raw(letter: DeadLetter) -> RawMessage:
    return RawMessage(account=letter.account, folder=letter.folder, uidvalidity=int(letter.uidvalidity),
                      uid=int(letter.uid), raw=bytes(letter.raw_bytes), internaldate=letter.internaldate)


async def retry(processor: Processor, letter: DeadLetter) -> RetryResult:
    """Replay one dead letter and record how it went (see the module docstring)."""
    try:
        outcome = await processor.replay(as_raw(letter))
    except TRANSIENT_DB_ERRORS as exc:
        return RetryResult(letter.id, "busy", None, f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:  # noqa: BLE001 - still broken: keep it, with the new reason
        letter.status, letter.error = "retried", f"{type(exc).__name__}: {str(exc)[:500]}"
        await letter.save(update_fields=["status", "error"])
        log.warning("dead letter %s still fails: %s", letter.id, type(exc).__name__)
        return RetryResult(letter.id, "retried", None, letter.error)
    letter.status = "resolved"
    await letter.save(update_fields=["status"])
    return RetryResult(letter.id, "resolved", outcome)


async def retry_many(processor: Processor, ids: Sequence[int], *, all_open: bool = False) -> list[RetryResult]:
    """Replay the named dead letters (any status), or with `all_open` every new or retried one,
    oldest first."""
    query = DeadLetter.filter(status__in=RETRYABLE) if all_open else DeadLetter.filter(id__in=list(ids))
    letters = await query.order_by("id")
    missing = set(ids) - {d.id for d in letters}
    if missing and not all_open:
        raise LookupError(f"no dead letter {', '.join(map(str, sorted(missing)))}")
    return [await retry(processor, letter) for letter in letters]


def _summary(raw: bytes) -> dict[str, str]:
    """From, Subject, Message-ID and Date, read leniently: a dead letter may be malformed."""
    try:
        msg = email.message_from_bytes(raw[:256 * 1024], policy=email.policy.compat32)
        return {k: str(msg.get(k, "")).replace("\n", " ")[:200] for k in ("From", "Subject", "Message-ID", "Date")}
    except Exception:  # noqa: BLE001
        return {}


# -- command line -----------------------------------------------------------------------------------


async def list_command(settings: Settings, *, status: str = "open", as_json: bool = False) -> int:
    await open_store(settings.db_url)
    try:
        query = DeadLetter.all()
        if status == "open":
            query = query.filter(status__in=RETRYABLE)
        elif status != "all":
            query = query.filter(status=status)
        letters = await query.order_by("id")
    finally:
        await close_store()
    for d in letters:
        head = _summary(bytes(d.raw_bytes))
        sender = redact_text(head.get("From", "")) or "-"
        if as_json:
            print(json.dumps({"id": d.id, "status": d.status, "stage": d.stage, "account": d.account,
                              "folder": d.folder, "uid": d.uid, "created_at": d.created_at.isoformat(),
                              "error": d.error, "size": len(d.raw_bytes)}, ensure_ascii=False))
        else:
            print(f"{d.id:>5}  {d.status:<8} {d.stage:<8} {d.account}/{d.folder} uid {d.uid}  "
                  f"{d.created_at:%Y-%m-%d %H:%M}  from {sender}  {d.error[:80]}")
    if not letters and not as_json:
        print("no dead letters")
    return 0


async def show_command(settings: Settings, letter_id: int, *, raw: bool = False) -> int:
    await open_store(settings.db_url)
    try:
        letter = await DeadLetter.get_or_none(id=letter_id)
    finally:
        await close_store()
    if letter is None:
        print(f"inboxbot: no dead letter {letter_id}", file=sys.stderr)
        return 1
    data = bytes(letter.raw_bytes)
    if raw:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    print(f"dead letter {letter.id}: {letter.status}")
    print(f"  mailbox:  {letter.account}/{letter.folder} uidvalidity {letter.uidvalidity} uid {letter.uid}")
    print(f"  failed:   stage {letter.stage}, {letter.created_at:%Y-%m-%d %H:%M:%S %Z}")
    print(f"  error:    {letter.error}")
    print(f"  size:     {len(data)} bytes (inboxbot deadletters show {letter.id} --raw > message.eml)")
    for key, value in _summary(data).items():
        print(f"  {key + ':':<10}{value}")
    return 0


async def retry_command(settings: Settings, ids: Sequence[int], *, all_open: bool) -> int:
    from inboxbot.classify import make_classifier

    await open_store(settings.db_url)
    try:
        results = await retry_many(Processor(settings, make_classifier(settings)), ids, all_open=all_open)
    except LookupError as exc:
        print(f"inboxbot: {exc}", file=sys.stderr)
        return 1
    finally:
        await close_store()
    for r in results:
        if r.outcome is not None:
            print(f"{r.id:>5}  resolved: {r.outcome.outcome}"
                  + (f" {r.outcome.ticket}" if r.outcome.ticket else "")
                  + (" (acknowledgement queued)" if r.outcome.acknowledged else ""))
        else:
            print(f"{r.id:>5}  {r.status}: {r.error}")
    if not results:
        print("nothing to retry")
    return 0 if all(r.status == "resolved" for r in results) else 1
