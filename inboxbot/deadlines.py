"""Legal due dates, computed from when a message reached our mailbox. Pure: no I/O, no clock.

Rights requests run on GDPR Art. 12(3): one month from receipt, extendable by two further months.
The Regulation does not say how to count a month, so we use the EU's own rules, Regulation
(EEC, Euratom) No 1182/71:

- Art. 3(1): the day of the event (receipt) is not counted, so the period starts the day after.
- Art. 3(2)(c): a period in months ends at the end of the day in the last month with the same date
  as the day of receipt; if that month has no such date, at the end of its last day
  (31 January -> 28/29 February).
- Art. 3(4): if that last day is a Saturday, Sunday or public holiday, the period ends at the end of
  the following working day.

The receipt date is the calendar date in the organisation's time zone: a message that reached the
server at 23:30 UTC on 31 January arrived on 1 February in Stockholm.

Complaints and general questions get an internal target of N business days; a reported breach gets
the Art. 33 72-hour clock (a moment, not a date).
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from inboxbot.domain import RIGHTS_INTENTS, Deadline, Intent
from inboxbot.errors import ConfigError

BREACH_NOTIFICATION_WINDOW = timedelta(hours=72)  # GDPR Art. 33(1)

# Days Swedish practice treats as holidays although no statute names them. They are opt-in (see
# DeadlineSettings.extra_non_working_days) rather than read from the `holidays` package, whose
# categories for them have moved between releases.
NAMED_EXTRA_DAYS: frozenset[str] = frozenset({"midsummer_eve", "christmas_eve", "new_years_eve"})

_MONTH_WORDS = {1: "one month", 2: "two months", 3: "three months", 4: "four months"}


def _named_day(name: str, year: int) -> date:
    if name == "christmas_eve":
        return date(year, 12, 24)
    if name == "new_years_eve":
        return date(year, 12, 31)
    # Midsommarafton: the Friday between 19 and 25 June (the eve of Midsommardagen, a Saturday).
    june19 = date(year, 6, 19)
    return june19 + timedelta(days=(4 - june19.weekday()) % 7)


def _parse_extras(extra_non_working: Iterable[str]) -> tuple[tuple[str, ...], frozenset[date]]:
    names: set[str] = set()
    dates: set[date] = set()
    for item in extra_non_working:
        key = item.strip().lower()
        if key in NAMED_EXTRA_DAYS:
            names.add(key)
            continue
        try:
            dates.add(date.fromisoformat(key))
        except ValueError:
            raise ConfigError(
                f"deadlines.extra_non_working_days: {item!r} is neither one of "
                f"{sorted(NAMED_EXTRA_DAYS)} nor an ISO date (YYYY-MM-DD)"
            ) from None
    return tuple(sorted(names)), frozenset(dates)


class Calendar:
    """Working days for one country: weekends, public holidays and configured extra days off.

    Holiday sets are built once per year and kept, since every message asks. Only the package's
    PUBLIC category is used, so what counts as a holiday does not depend on the package's defaults
    for optional or de facto days; Sundays are weekend days either way.
    """

    def __init__(self, country: str = "SE", extra_non_working: Iterable[str] = ()) -> None:
        self.country = country.upper()
        self._names, self._dates = _parse_extras(extra_non_working)
        self._by_year: dict[int, frozenset[date]] = {}
        self._public_holidays(2000)  # fail now, at configuration time, on an unknown country

    def _public_holidays(self, year: int) -> set[date]:
        try:
            found = holidays.country_holidays(
                self.country, years=year, categories=(holidays.PUBLIC,)
            )
        except NotImplementedError:
            raise ConfigError(
                f"organisation.country: {self.country!r} is not a country known to `holidays`"
            ) from None
        return set(found.keys())

    def _off_days(self, year: int) -> frozenset[date]:
        cached = self._by_year.get(year)
        if cached is not None:
            return cached
        days = self._public_holidays(year)
        days.update(_named_day(name, year) for name in self._names)
        days.update(d for d in self._dates if d.year == year)
        result = frozenset(days)
        self._by_year[year] = result
        return result

    def is_working_day(self, d: date) -> bool:
        """False on Saturdays, Sundays, public holidays and the configured extra days."""
        return d.weekday() < 5 and d not in self._off_days(d.year)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def roll_forward(self, d: date) -> date:
        """`d` itself if it is a working day, else the next one (Reg. 1182/71 Art. 3(4))."""
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_business_days(self, d: date, days: int) -> date:
        """The `days`-th working day after `d` (`d` itself not counted); `d` when `days` is 0."""
        if days < 0:
            raise ValueError(f"days must be zero or more, got {days}")
        for _ in range(days):
            d = self.next_working_day(d)
        return d


@lru_cache(maxsize=32)
def _calendar(country: str, extras: tuple[str, ...]) -> Calendar:
    return Calendar(country, extras)


def get_calendar(country: str = "SE", extra_non_working: Iterable[str] = ()) -> Calendar:
    """A shared Calendar for these settings, so that its holiday cache outlives one call."""
    return _calendar(country.upper(), tuple(sorted({e.strip().lower() for e in extra_non_working})))


def receipt_date(received_at: datetime, tz: str = "Europe/Stockholm") -> date:
    """The calendar date of receipt in the organisation's time zone. Naive datetimes are refused:
    a bare 23:30 could be either side of midnight in Stockholm, and a day lost is a breach."""
    _require_aware(received_at)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"organisation.timezone: {tz!r} is not a known IANA time zone") from None
    return received_at.astimezone(zone).date()


def _require_aware(received_at: datetime) -> None:
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(
            f"receipt time must be timezone-aware (got naive {received_at.isoformat()}); "
            "pass the IMAP INTERNALDATE with its offset"
        )


def add_months(start: date, months: int) -> date:
    """The same date `months` later, or that month's last day if it has no such date.

    Reg. 1182/71 Art. 3(2)(c). Moving off weekends and holidays is the caller's business."""
    if months < 0:
        raise ValueError(f"months must be zero or more, got {months}")
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def _months_period(
    received_at: datetime, months: int, country: str, tz: str, extras: Iterable[str]
) -> tuple[date, date, bool, bool]:
    """(receipt day, due date, clipped to month end, moved past a day off)."""
    received = receipt_date(received_at, tz)
    nominal = add_months(received, months)
    due = get_calendar(country, extras).roll_forward(nominal)
    return received, due, nominal.day != received.day, due != nominal


def statutory_deadline(
    received_at: datetime,
    months: int = 1,
    country: str = "SE",
    *,
    tz: str = "Europe/Stockholm",
    extra_non_working: Iterable[str] = (),
) -> date:
    """Last day to answer a rights request: `months` after receipt, by Reg. 1182/71 Art. 3."""
    return _months_period(received_at, months, country, tz, extra_non_working)[1]


def extended_deadline(
    received_at: datetime,
    country: str = "SE",
    *,
    tz: str = "Europe/Stockholm",
    extra_non_working: Iterable[str] = (),
    extension_months: int = 2,
    months: int = 1,
) -> date:
    """Last day after an Art. 12(3) extension: `months + extension_months` counted from the original
    receipt (not from the first due date, which may already have been moved past a weekend)."""
    total = months + extension_months
    return _months_period(received_at, total, country, tz, extra_non_working)[1]


def business_days_after(
    received_at: datetime,
    days: int,
    country: str = "SE",
    *,
    tz: str = "Europe/Stockholm",
    extra_non_working: Iterable[str] = (),
) -> date:
    """The `days`-th working day after the day of receipt (the receipt day is not counted)."""
    received = receipt_date(received_at, tz)
    return get_calendar(country, extra_non_working).add_business_days(received, days)


def breach_deadline(received_at: datetime) -> datetime:
    """When the Art. 33 72-hour window closes, in the time zone it was given in.

    Counted in real elapsed hours (via UTC), so a DST change inside the window does not add or
    remove an hour. Reg. 1182/71 Art. 3(1) would let the period start at the next full hour; we
    keep the earlier, exact moment because a breach notice can only be too late, never too early.
    """
    _require_aware(received_at)
    tzinfo = received_at.tzinfo
    return (received_at.astimezone(UTC) + BREACH_NOTIFICATION_WINDOW).astimezone(tzinfo)


def shift_for_pause(
    due: date,
    paused_days: int,
    *,
    clock_pauses: bool = False,
    calendar: Calendar | None = None,
) -> date:
    """Move a due date by the calendar days the clock stood still awaiting proof of identity.

    The default is that the clock does not pause (the safe reading of Art. 12(3)): `due` comes back
    unchanged. When the organisation's policy says it pauses, the date moves by `paused_days`, then
    (given a calendar) on to a working day, as Art. 3(4) requires of any period's last day.
    """
    if not clock_pauses or paused_days <= 0:
        return due
    shifted = due + timedelta(days=paused_days)
    return calendar.roll_forward(shifted) if calendar is not None else shifted


def deadline_for(
    intents: Iterable[Intent],
    received_at: datetime,
    *,
    country: str = "SE",
    tz: str = "Europe/Stockholm",
    extra_non_working: Iterable[str] = (),
    rights_months: int = 1,
    internal_business_days: int = 10,
) -> Deadline:
    """The due date of a ticket: the statutory one if any intent is a GDPR right, else the internal
    business-day target. `rule` says in words which rule gave the date, for the DPO and the log."""
    extras = tuple(extra_non_working)
    if any(intent in RIGHTS_INTENTS for intent in intents):
        received, due, clipped, rolled = _months_period(
            received_at, rights_months, country, tz, extras
        )
        words = _MONTH_WORDS.get(rights_months, f"{rights_months} months")
        notes = []
        if clipped:
            notes.append("Art. 3(2)(c): month end")
        if rolled:
            notes.append("Art. 3(4): moved past weekend/holiday")
        rule = f"GDPR Art. 12(3): {words} from receipt {received.isoformat()}"
        if notes:
            rule += " (Reg. 1182/71 " + "; ".join(notes) + ")"
        return Deadline(due=due, rule=rule)
    received = receipt_date(received_at, tz)
    due = get_calendar(country, extras).add_business_days(received, internal_business_days)
    return Deadline(
        due=due,
        rule=f"Internal target: {internal_business_days} business days after receipt "
        f"{received.isoformat()}",
    )
