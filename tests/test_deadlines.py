"""Deadlines against dates worked out by hand from the rules, on the real 2024-2028 calendars.

Every expectation comes with its working: receipt day -> nominal last day (Reg. 1182/71
Art. 3(2)(c)) -> the day it moves to (Art. 3(4)). Weekdays were checked with
datetime.date.weekday() when the cases were written.
Swedish public holidays used below:
  2026: Jan 1 Thu, Jan 6 Tue, Apr 3 Fri, Apr 5 Sun, Apr 6 Mon, May 1 Fri, May 14 Thu, May 24 Sun,
        Jun 6 Sat, Jun 20 Sat, Oct 31 Sat, Dec 25 Fri, Dec 26 Sat
        (eves, opt-in: Midsommarafton Jun 19 Fri, Julafton Dec 24 Thu, Nyårsafton Dec 31 Thu)
  2027: Jan 1 Fri, Jan 6 Wed, Mar 26 Fri, Mar 28 Sun, Mar 29 Mon, May 1 Sat, May 6 Thu, May 16 Sun,
        Jun 6 Sun, Jun 26 Sat, Nov 6 Sat, Dec 25 Sat, Dec 26 Sun
        (eves: Jun 25 Fri, Dec 24 Fri, Dec 31 Fri)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from inboxbot.deadlines import (
    Calendar,
    breach_deadline,
    business_days_after,
    deadline_for,
    extended_deadline,
    get_calendar,
    receipt_date,
    shift_for_pause,
    statutory_deadline,
)
from inboxbot.domain import Deadline, Intent
from inboxbot.errors import ConfigError

STO = ZoneInfo("Europe/Stockholm")
EVES = ("midsummer_eve", "christmas_eve", "new_years_eve")  # DeadlineSettings' default


def noon(iso: str) -> datetime:
    """Midday in Stockholm on that date: far from midnight, so the receipt day is unambiguous."""
    return datetime.fromisoformat(iso).replace(hour=12, tzinfo=STO)


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def C(  # noqa: N802 - a short name keeps the tables one case per line
    received: str | datetime,
    expected: str,
    working: str,
    *,
    n: int = 1,
    extras: tuple[str, ...] = EVES,
) -> Any:
    """One case: receipt (a bare date means noon in Stockholm), expected due date, the working
    by hand (also the test id), `n` months or business days, and the extra days off."""
    at = noon(received) if isinstance(received, str) else received
    return pytest.param(at, n, extras, date.fromisoformat(expected), id=working)


STATUTORY_CASES = [
    # --- plain and month-end cases ---
    C("2026-02-10", "2026-03-10", "Feb 10 -> Mar 10 Tue, a working day"),
    C("2026-01-31", "2026-03-02", "Jan 31 -> no Feb 31 -> Feb 28 Sat -> Mon Mar 2"),
    C("2026-01-30", "2026-03-02", "Jan 30 -> Feb 28 Sat (month end) -> Mon Mar 2"),
    C("2028-01-31", "2028-02-29", "leap year: Jan 31 -> Feb 29 Tue"),
    C("2028-01-30", "2028-02-29", "leap year: Jan 30 -> Feb 29 Tue"),
    C("2024-01-31", "2024-02-29", "leap year: Jan 31 -> Feb 29 Thu"),
    C("2027-01-31", "2027-03-01", "Jan 31 -> Feb 28 Sun -> Mon Mar 1"),
    C("2026-03-31", "2026-04-30", "31-day month into 30: Mar 31 -> Apr 30 Thu"),
    C("2026-05-31", "2026-06-30", "May 31 -> Jun 30 Tue"),
    C("2026-08-31", "2026-09-30", "Aug 31 -> Sep 30 Wed"),
    C("2026-04-30", "2026-06-01", "30 into 31: Apr 30 -> May 30 Sat -> Mon Jun 1"),
    C("2026-02-28", "2026-03-30", "same date, not month end: Mar 28 Sat -> Mon Mar 30"),
    C("2026-12-31", "2027-02-01", "over the year: Jan 31 2027 Sun -> Mon Feb 1"),
    # --- every Swedish public holiday of 2026 as the nominal last day ---
    C("2025-12-01", "2026-01-02", "Nyårsdagen Thu Jan 1 -> Fri Jan 2"),
    C("2025-12-06", "2026-01-07", "Trettondedag jul Tue Jan 6 -> Wed Jan 7"),
    C("2026-03-03", "2026-04-07", "Långfredag Apr 3 -> Sat, Sun(Påsk), Mon(holiday) -> Tue 7"),
    C("2026-03-05", "2026-04-07", "Påskdagen Sun Apr 5 -> Mon 6 holiday -> Tue 7"),
    C("2026-03-06", "2026-04-07", "Annandag påsk Mon Apr 6 -> Tue Apr 7"),
    C("2026-04-01", "2026-05-04", "Första maj Fri May 1 -> Sat, Sun -> Mon May 4"),
    C("2026-04-14", "2026-05-15", "Kristi himmelsfärd Thu May 14 -> Fri 15"),
    C("2026-04-24", "2026-05-25", "Pingstdagen Sun May 24 -> Mon 25 (no holiday in SE)"),
    C("2026-05-06", "2026-06-08", "Nationaldagen Sat Jun 6 -> Sun -> Mon Jun 8"),
    C("2026-05-19", "2026-06-22", "Midsommarafton Fri Jun 19 (extra) -> Sat, Sun -> Mon 22"),
    C("2026-05-19", "2026-06-19", "no extras: Fri Jun 19 is a working day", extras=()),
    C("2026-05-20", "2026-06-22", "Midsommardagen Sat Jun 20 -> Sun -> Mon 22"),
    C("2026-08-31", "2026-11-02", "Alla helgons dag: Aug 31 +2 m = Sat Oct 31 -> Mon Nov 2", n=2),
    C("2026-11-24", "2026-12-28", "Julafton Thu Dec 24 (extra) -> 25, 26 holidays, Sun -> Mon 28"),
    C("2026-11-24", "2026-12-24", "no extras: Julafton Thu Dec 24 is a working day", extras=()),
    C("2026-11-25", "2026-12-28", "Juldagen Fri Dec 25 -> Sat 26 (holiday), Sun -> Mon 28"),
    C("2026-11-26", "2026-12-28", "Annandag jul Sat Dec 26 -> Sun -> Mon 28"),
    C("2026-10-31", "2027-01-04", "Nyårsafton Thu Dec 31 (extra) -> Jan 1-3 off -> Mon Jan 4", n=2),
    C("2026-10-31", "2026-12-31", "no extras: Thu Dec 31 is a working day", n=2, extras=()),
    # --- and of 2027 ---
    C("2026-12-01", "2027-01-04", "Nyårsdagen Fri Jan 1 -> Sat, Sun -> Mon Jan 4"),
    C("2026-12-06", "2027-01-07", "Trettondedag jul Wed Jan 6 -> Thu Jan 7"),
    C("2027-02-26", "2027-03-30", "Långfredag Fri Mar 26 -> Sat, Sun, Mon off -> Tue 30"),
    C("2027-02-28", "2027-03-30", "Påskdagen Sun Mar 28 -> Mon 29 holiday -> Tue 30"),
    C("2027-04-01", "2027-05-03", "Första maj Sat May 1 -> Sun -> Mon May 3"),
    C("2027-04-06", "2027-05-07", "Kristi himmelsfärd Thu May 6 -> Fri 7"),
    C("2027-04-16", "2027-05-17", "Pingstdagen Sun May 16 -> Mon 17"),
    C("2027-05-06", "2027-06-07", "Nationaldagen Sun Jun 6 -> Mon Jun 7"),
    C("2027-05-25", "2027-06-28", "Midsommarafton Fri Jun 25 (extra) -> Sat, Sun -> Mon 28"),
    C("2027-05-26", "2027-06-28", "Midsommardagen Sat Jun 26 -> Sun -> Mon 28"),
    C("2027-10-06", "2027-11-08", "Alla helgons dag Sat Nov 6 -> Sun -> Mon Nov 8"),
    C("2027-11-24", "2027-12-27", "Julafton Fri Dec 24 (extra) -> Sat 25, Sun 26 -> Mon 27"),
    C("2027-11-25", "2027-12-27", "Juldagen Sat Dec 25 -> Sun 26 -> Mon 27"),
    C("2027-11-26", "2027-12-27", "Annandag jul Sun Dec 26 -> Mon 27"),
    C("2027-10-31", "2028-01-03", "Nyårsafton Fri Dec 31 (extra) -> Sat, Sun -> Mon Jan 3", n=2),
    C("2026-02-10", "2026-03-11", "ISO extra day: Tue Mar 10 -> Wed 11", extras=("2026-03-10",)),
    # --- receipt near midnight in Stockholm, given in UTC ---
    C(utc("2026-02-09T22:59"), "2026-03-09", "23:59 CET Feb 9 -> Mar 9 Mon"),
    C(utc("2026-02-09T23:00"), "2026-03-10", "00:00 CET Feb 10 -> Mar 10 Tue"),
    C(utc("2026-01-31T23:30"), "2026-03-02", "00:30 CET Feb 1 -> Mar 1 Sun -> Mon Mar 2"),
    C(
        datetime(2026, 3, 15, 1, 30, tzinfo=ZoneInfo("Asia/Karachi")),
        "2026-04-14",
        "01:30 +05 Mar 15 = 21:30 CET Mar 14 -> Apr 14 Tue",
    ),
    # --- daylight saving changes (2026: Mar 29 and Oct 25, at 01:00 UTC) ---
    C(utc("2026-03-28T23:30"), "2026-04-29", "still CET: 00:30 Mar 29 -> Apr 29 Wed"),
    C(utc("2026-03-29T21:59"), "2026-04-29", "CEST: 23:59 Mar 29 -> Apr 29 Wed"),
    C(utc("2026-03-29T22:30"), "2026-04-30", "CEST: 00:30 Mar 30 (+01 would say 29) -> Apr 30 Thu"),
    C(utc("2026-10-24T22:30"), "2026-11-25", "still CEST: 00:30 Oct 25 -> Nov 25 Wed"),
    C(utc("2026-10-25T22:30"), "2026-11-25", "CET: 23:30 Oct 25 (+02 would say 26) -> Nov 25"),
    C(utc("2026-10-25T23:00"), "2026-11-26", "CET: 00:00 Oct 26 -> Nov 26 Thu"),
]


@pytest.mark.parametrize(("received", "n", "extras", "expected"), STATUTORY_CASES)
def test_statutory_deadline(
    received: datetime, n: int, extras: tuple[str, ...], expected: date
) -> None:
    assert statutory_deadline(received, n, "SE", extra_non_working=extras) == expected


EXTENDED_CASES = [
    # Three months from receipt, never from the first due date.
    C("2026-01-31", "2026-04-30", "Jan 31 -> Apr 30 Thu (not first due Mar 2 + 2 months: May 4)"),
    C("2025-11-30", "2026-03-02", "Nov 30 -> Feb 28 Sat (month end) -> Mon Mar 2"),
    C("2026-07-31", "2026-11-02", "Jul 31 -> Oct 31 Sat, Alla helgons dag -> Mon Nov 2"),
    C("2026-12-29", "2027-03-30", "Dec 29 -> Mar 29 2027 Annandag påsk -> Tue Mar 30"),
    C("2027-11-30", "2028-02-29", "Nov 30 -> Feb 29 2028 Tue (leap)"),
    C("2026-03-19", "2026-06-22", "Mar 19 -> Jun 19 Midsommarafton (extra) -> Mon Jun 22"),
    C("2026-03-19", "2026-06-19", "no extras: Jun 19 Fri stands", extras=()),
]


@pytest.mark.parametrize(("received", "n", "extras", "expected"), EXTENDED_CASES)
def test_extended_deadline(
    received: datetime, n: int, extras: tuple[str, ...], expected: date
) -> None:
    assert extended_deadline(received, "SE", extra_non_working=extras) == expected


BUSINESS_CASES = [
    C(
        "2026-04-01",
        "2026-04-17",
        "Easter: Thu 2 (1), [Fri 3 .. Mon 6 off], Tue 7..Fri 10 (2-5), Mon 13..Fri 17 (6-10)",
        n=10,
    ),
    C(
        "2026-12-21",
        "2027-01-11",
        "Christmas: 22, 23 (1-2), [24-27 off], 28, 29, 30 (3-5), [31, Jan 1-3 off], 4, 5 (6-7),"
        " [Jan 6 off], 7, 8 (8-9), Mon 11 (10)",
        n=10,
    ),
    C(
        "2026-12-21",
        "2027-01-07",
        "without eves: 22, 23, 24 (1-3), 28-31 (4-7), Jan 4, 5 (8-9), [6 off], Thu 7 (10)",
        n=10,
        extras=(),
    ),
    C("2026-01-03", "2026-01-05", "received Sat: Mon Jan 5 is day 1"),
    C("2026-01-03", "2026-01-12", "Mon 5 (1), [Tue 6 off], Wed-Fri (2-4), Mon 12 (5)", n=5),
    C("2027-03-25", "2027-04-01", "Easter 2027: [Fri 26 .. Mon 29 off], Tue 30 .. Thu Apr 1", n=3),
    C(utc("2026-01-13T22:30"), "2026-01-14", "23:30 CET Tue Jan 13 -> Wed 14"),
    C(utc("2026-01-13T23:30"), "2026-01-15", "00:30 CET Wed Jan 14 -> Thu 15"),
    C("2026-01-14", "2026-01-14", "zero days: the receipt day itself", n=0),
]


@pytest.mark.parametrize(("received", "n", "extras", "expected"), BUSINESS_CASES)
def test_business_days_after(
    received: datetime, n: int, extras: tuple[str, ...], expected: date
) -> None:
    assert business_days_after(received, n, "SE", extra_non_working=extras) == expected


@pytest.mark.parametrize(
    ("country", "received", "extras", "expected", "working"),
    [
        ("DE", noon("2026-04-25"), (), "2026-05-26", "Pfingstmontag Mon May 25 (DE) -> Tue 26"),
        ("SE", noon("2026-04-25"), (), "2026-05-25", "but not a Swedish one: Mon May 25 stands"),
        ("FI", noon("2026-05-19"), (), "2026-06-22", "Juhannusaatto Fri Jun 19 (FI) -> Mon 22"),
        ("FI", noon("2026-11-06"), (), "2026-12-07", "Itsenäisyyspäivä Sun Dec 6 -> Mon Dec 7"),
    ],
)
def test_other_countries(
    country: str, received: datetime, extras: tuple[str, ...], expected: str, working: str
) -> None:
    zone = {"DE": "Europe/Berlin", "FI": "Europe/Helsinki", "SE": "Europe/Stockholm"}[country]
    due = statutory_deadline(received, 1, country, tz=zone, extra_non_working=extras)
    assert due == date.fromisoformat(expected), working


def test_receipt_date_uses_the_organisation_time_zone() -> None:
    late = utc("2026-01-31T23:30")
    assert receipt_date(late) == date(2026, 2, 1)  # 00:30 CET
    assert receipt_date(late, "UTC") == date(2026, 1, 31)


# --- Art. 33: 72 hours in real time ---


@pytest.mark.parametrize(
    ("received", "expected_utc", "expected_wall_hour"),
    [
        (utc("2026-01-31T23:30"), "2026-02-03T23:30", 23),
        # 10:00 CET Mar 28 = 09:00 UTC; +72 h = 09:00 UTC Mar 31 = 11:00 CEST (clocks went forward).
        (datetime(2026, 3, 28, 10, 0, tzinfo=STO), "2026-03-31T09:00", 11),
        # 12:00 CEST Oct 24 = 10:00 UTC; +72 h = 10:00 UTC Oct 27 = 11:00 CET (clocks went back).
        (datetime(2026, 10, 24, 12, 0, tzinfo=STO), "2026-10-27T10:00", 11),
    ],
)
def test_breach_deadline_counts_real_hours(
    received: datetime, expected_utc: str, expected_wall_hour: int
) -> None:
    due = breach_deadline(received)
    assert due == utc(expected_utc)
    assert due.hour == expected_wall_hour  # given back in the caller's own zone
    # Same-zone subtraction in Python is wall-clock arithmetic, so compare in UTC.
    assert due.astimezone(UTC) - received.astimezone(UTC) == timedelta(hours=72)


# --- refusals ---

NAIVE = datetime(2026, 1, 31, 23, 30)
NAIVE_CALLS: list[Callable[[datetime], Any]] = [
    statutory_deadline,
    extended_deadline,
    lambda r: business_days_after(r, 10),
    breach_deadline,
    lambda r: deadline_for([Intent.ACCESS], r),
    lambda r: deadline_for([Intent.GENERAL], r),
]


@pytest.mark.parametrize("call", NAIVE_CALLS)
def test_naive_receipt_time_is_refused(call: Callable[[datetime], Any]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(NAIVE)


def test_bad_configuration_names_the_key() -> None:
    with pytest.raises(ConfigError, match="extra_non_working_days"):
        Calendar("SE", ["midsommar"])
    with pytest.raises(ConfigError, match=r"organisation\.country"):
        Calendar("XX")
    with pytest.raises(ConfigError, match=r"organisation\.timezone"):
        statutory_deadline(noon("2026-02-10"), tz="Europe/Nowhere")
    with pytest.raises(ValueError):
        business_days_after(noon("2026-02-10"), -1)


# --- the calendar itself ---


def test_package_holidays_are_public_ones_only() -> None:
    # Guards against a holidays release that folds the eves or Sundays into the public list:
    # without configured extras the eves must be ordinary working days.
    plain = Calendar("SE")
    for eve in ("2026-06-19", "2026-12-24", "2026-12-31", "2027-06-25", "2027-12-24"):
        assert plain.is_working_day(date.fromisoformat(eve)), eve
    assert plain.is_working_day(date(2026, 5, 15))  # klämdag after Ascension: optional only
    assert plain.is_working_day(date(2026, 4, 30))  # Valborgsmässoafton: bank half-day only
    assert not plain.is_working_day(date(2026, 3, 1))  # a Sunday, whatever the package says
    assert not plain.is_working_day(date(2026, 1, 6))


def test_named_eves_fall_where_expected() -> None:
    cal = Calendar("SE", EVES)
    # Midsommarafton is the Friday from 19 to 25 June.
    for eve in ("2026-06-19", "2027-06-25", "2028-06-23", "2029-06-22", "2030-06-21"):
        assert not cal.is_working_day(date.fromisoformat(eve)), eve
        assert date.fromisoformat(eve).weekday() == 4
    assert cal.is_working_day(date(2027, 6, 24))  # the Thursday before


def test_next_working_day_is_strictly_after_and_roll_forward_is_not() -> None:
    cal = Calendar("SE", EVES)
    assert cal.next_working_day(date(2026, 1, 5)) == date(2026, 1, 7)  # Mon -> (Tue 6 off) Wed
    assert cal.roll_forward(date(2026, 1, 5)) == date(2026, 1, 5)
    assert cal.roll_forward(date(2026, 12, 24)) == date(2026, 12, 28)


def test_holiday_sets_are_built_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    cal = Calendar("SE", EVES)
    calls.clear()
    for offset in range(400):  # 2026-01-01 .. 2027-02-04
        cal.is_working_day(date(2026, 1, 1) + timedelta(days=offset))
    assert calls == [2026, 2027]


def test_shared_calendar_ignores_order_and_case_of_extras() -> None:
    one = get_calendar("se", ["christmas_eve", "Midsummer_Eve"])
    assert get_calendar("SE", ("midsummer_eve", "christmas_eve")) is one


# --- the ticket's deadline ---


def test_deadline_for_rights_request_names_each_rule_used() -> None:
    got = deadline_for(
        [Intent.ACCESS],
        noon("2026-01-31"),
        country="SE",
        tz="Europe/Stockholm",
        extra_non_working=EVES,
    )
    assert got == Deadline(
        date(2026, 3, 2),
        "GDPR Art. 12(3): one month from receipt 2026-01-31 "
        "(Reg. 1182/71 Art. 3(2)(c): month end; Art. 3(4): moved past weekend/holiday)",
    )


def test_deadline_for_plain_rights_request_has_no_notes() -> None:
    got = deadline_for([Intent.ERASURE], noon("2026-02-10"), extra_non_working=EVES)
    assert got == Deadline(date(2026, 3, 10), "GDPR Art. 12(3): one month from receipt 2026-02-10")


def test_deadline_for_mixed_intents_takes_the_statutory_clock() -> None:
    got = deadline_for([Intent.COMPLAINT, Intent.PORTABILITY], noon("2026-02-10"))
    assert got.due == date(2026, 3, 10)
    assert got.rule.startswith("GDPR Art. 12(3)")


@pytest.mark.parametrize(
    ("intents", "days", "expected"),
    [
        ([Intent.COMPLAINT], 10, "2026-04-17"),  # the Easter count above
        ([Intent.GENERAL], 3, "2026-04-08"),  # Thu 2 (1), [3-6 off], Tue 7 (2), Wed 8 (3)
        ([], 10, "2026-04-17"),
    ],
)
def test_deadline_for_other_intents_uses_the_business_day_target(
    intents: list[Intent], days: int, expected: str
) -> None:
    got = deadline_for(
        intents, noon("2026-04-01"), extra_non_working=EVES, internal_business_days=days
    )
    assert got == Deadline(
        date.fromisoformat(expected),
        f"Internal target: {days} business days after receipt 2026-04-01",
    )


# --- pausing for identity checks ---


def test_the_clock_does_not_pause_by_default() -> None:
    assert shift_for_pause(date(2026, 3, 10), 5) == date(2026, 3, 10)


def test_a_pause_moves_the_date_and_lands_on_a_working_day() -> None:
    cal = Calendar("SE", EVES)
    # Tue Mar 10 + 5 days = Sun Mar 15 -> Mon Mar 16.
    assert shift_for_pause(date(2026, 3, 10), 5, clock_pauses=True, calendar=cal) == date(
        2026, 3, 16
    )
    assert shift_for_pause(date(2026, 3, 10), 5, clock_pauses=True) == date(2026, 3, 15)
    assert shift_for_pause(date(2026, 3, 10), 0, clock_pauses=True, calendar=cal) == date(
        2026, 3, 10
    )
