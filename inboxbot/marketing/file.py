"""`file`: keep a CSV or JSON suppression file current, for tools that import one.

Each event is applied to the file's current contents and the whole file is rewritten through a
temporary file and a rename, so a reader never sees half a file. Rows are keyed by
(sha256, scope), which makes every event idempotent:

- suppress: add the row (or refresh its address);
- unsuppress: remove the row;
- forget: blank the address on every row with that hash, keeping the hash; if there was no row,
  add a hash-only "all" row so an importer that checks hashes keeps the person out.

Columns: `sha256, address, scope, at` (`address` is always empty for a `hashed_only` target).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from pathlib import Path

from inboxbot.config import MarketingTarget
from inboxbot.errors import PermanentError, TransientError
from inboxbot.marketing import SuppressionEvent

COLUMNS = ("sha256", "address", "scope", "at")
Row = dict[str, str]


def read_rows(path: Path, fmt: str) -> list[Row]:
    """The rows in the file now; an absent file is an empty list."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    if not text.strip():
        return []
    if fmt == "json":
        data = json.loads(text)
        return [{c: str(item.get(c, "")) for c in COLUMNS} for item in data]
    return [{c: row.get(c) or "" for c in COLUMNS} for row in csv.DictReader(io.StringIO(text))]


def render(rows: list[Row], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def apply(rows: list[Row], event: SuppressionEvent, *, hashed_only: bool) -> list[Row]:
    """The rows after `event`. Pure, and applying the same event twice changes nothing."""
    address = "" if hashed_only or not event.address else event.address
    if event.action == "suppress":
        kept = [r for r in rows if (r["sha256"], r["scope"]) != (event.sha256, event.scope)]
        old = [r for r in rows if (r["sha256"], r["scope"]) == (event.sha256, event.scope)]
        at = old[0]["at"] if old else event.at.isoformat()  # first suppression time stays
        return kept + [{"sha256": event.sha256, "address": address, "scope": event.scope, "at": at}]
    if event.action == "unsuppress":
        return [r for r in rows if (r["sha256"], r["scope"]) != (event.sha256, event.scope)]
    # forget
    if not any(r["sha256"] == event.sha256 for r in rows):
        return rows + [{"sha256": event.sha256, "address": "", "scope": "all",
                        "at": event.at.isoformat()}]
    return [dict(r, address="") if r["sha256"] == event.sha256 else r for r in rows]


class FileTarget:
    def __init__(self, config: MarketingTarget) -> None:
        assert config.path is not None  # config.py insists
        self.name = config.name
        self.config = config
        self.path: Path = config.path
        self._lock = asyncio.Lock()

    def _apply_sync(self, event: SuppressionEvent) -> None:
        try:
            rows = read_rows(self.path, self.config.format)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PermanentError(f"file {self.name}: {self.path} is not a suppression file we wrote: "
                                 f"{exc}") from exc
        rows = apply(rows, event, hashed_only=self.config.hashed_only)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(render(rows, self.config.format), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            # A full disk or a missing mount is fixable by someone; keep the event queued.
            raise TransientError(f"file {self.name}: cannot write {self.path}: {exc.strerror}") from exc

    async def push(self, event: SuppressionEvent) -> None:
        async with self._lock:
            await asyncio.to_thread(self._apply_sync, event)
