"""When the weekly digest is due. Pure time arithmetic: no store, no clock of its own.

The schedule is a weekday and a wall-clock time in a time zone (the digest's own, else the
organisation's). A *slot* is one such moment; the digest for a slot covers the seven calendar
days before it: from the same weekday and wall-clock time one week earlier (inclusive) to the
slot (exclusive). Across a daylight-saving change that week is 167 or 169 hours long, and it is
still "Monday 08:00 to Monday 08:00" for the reader.

A slot is named by its ISO week ("2026-W47"). That name is what the store records, so the digest
for a week goes out once: a restart does not repeat it, and a worker that was down at the slot
sends it when it comes back, any time before the next slot.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from inboxbot.config import Settings

WEEK = timedelta(days=7)


def digest_tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.digest.timezone or settings.organisation.timezone)


def last_slot(settings: Settings, now: datetime) -> datetime:
    """The latest scheduled time at or before `now`, aware, in the digest's time zone."""
    tz = digest_tz(settings)
    local = now.astimezone(tz)
    hour, minute = settings.digest.hour_minute
    day = local.date() - timedelta(days=(local.weekday() - settings.digest.weekday_index) % 7)
    slot = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if slot > now:  # today is the day, but the time has not come yet
        slot = datetime.combine(day - WEEK, time(hour, minute), tzinfo=tz)
    return slot


def weeks_before(end: datetime, count: int) -> datetime:
    """`end` moved back `count` weeks of wall-clock time (ZoneInfo recomputes the offset, so a
    daylight-saving change in between keeps the local time of day)."""
    return end - count * WEEK


def week_key(moment: datetime) -> str:
    """ISO week of a moment's local date: '2026-W47'. Keys sort in time order as strings."""
    year, week, _ = moment.date().isocalendar()
    return f"{year}-W{week:02d}"


def is_due(settings: Settings, now: datetime, last_run: str | None) -> bool:
    """Is a scheduled digest owed? `last_run` is the week key of the latest scheduled (or
    baseline) digest in the store, None when there is none.

    A worker that was down for more than a whole week sends only the latest week's digest: one
    current summary is worth more than a stack of stale ones.
    """
    if not settings.digest.enabled:
        return False
    return last_run is None or last_run < week_key(last_slot(settings, now))
