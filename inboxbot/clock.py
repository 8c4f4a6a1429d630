"""The one place that asks what time it is.

INBOXBOT_NOW (an ISO 8601 time with offset) freezes the clock for the command-line tools: tests
drive the ticket lifecycle through the CLI on fixed dates, and a DPO can ask "what would be
overdue on 1 March?" (`INBOXBOT_NOW=2027-03-01T09:00+01:00 inboxbot tickets list`).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from inboxbot.errors import ConfigError


def now() -> datetime:
    frozen = os.environ.get("INBOXBOT_NOW")
    if not frozen:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(frozen)
    except ValueError:
        raise ConfigError(f"INBOXBOT_NOW: expected an ISO 8601 time, got {frozen!r}") from None
    if value.tzinfo is None:
        raise ConfigError("INBOXBOT_NOW: give a time zone offset, e.g. 2027-03-01T09:00+01:00")
    # Always UTC: SQLite compares stored datetimes as text, so an offset would shift every bound.
    return value.astimezone(timezone.utc)
