"""Time: working days, offsets and the clock (trajecten.basis.tijd)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.basis.tijd import DEFAULT_KALENDER, TZ, FixedClock, Offset, OffsetError, WerkdagKalender, at_local

_NL = holidays.country_holidays("NL", years=range(2019, 2038), language="nl")

dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
counts = st.integers(min_value=1, max_value=60)


def _is_free(day: date) -> bool:
    """Independent of the code under test: weekend or any NL public holiday the package lists."""
    return day.weekday() >= 5 or day in _NL


# --------------------------------------------------------------------------- working days (properties)


@settings(max_examples=400, deadline=None)
@given(start=dates, n=counts)
def test_plus_n_working_days_never_lands_on_weekend_or_holiday(start, n):
    got = Offset.parse(f"+{n}wd").apply(start)
    assert not _is_free(got), f"{start} +{n}wd = {got} ({got:%A}, {_NL.get(got)})"
    # and it moved exactly n working days: n working days in (start, got]
    between = [start + timedelta(days=i) for i in range(1, (got - start).days + 1)]
    assert sum(1 for d in between if not _is_free(d)) == n
    assert got > start


@settings(max_examples=400, deadline=None)
@given(start=dates, n=counts)
def test_minus_n_working_days_never_lands_on_weekend_or_holiday(start, n):
    got = Offset.parse(f"-{n}wd").apply(start)
    assert not _is_free(got)
    assert got < start


@settings(max_examples=400, deadline=None)
@given(start=dates, n=counts)
def test_plus_then_minus_n_working_days_returns_to_a_working_day(start, n):
    day = DEFAULT_KALENDER.plus_werkdagen(start, 0)  # roll to a working day first
    assert not _is_free(day)
    there = DEFAULT_KALENDER.plus_werkdagen(day, n)
    assert DEFAULT_KALENDER.plus_werkdagen(there, -n) == day
    assert Offset.parse(f"+{n}wd-{n}wd").apply(day) == day


def test_known_working_day_examples():
    # Thu 2 Apr 2026 +1wd skips Goede vrijdag (3 Apr), the weekend and Tweede paasdag (6 Apr)
    assert Offset.parse("+1wd").apply(date(2026, 4, 2)) == date(2026, 4, 7)
    # Fri 24 Apr 2026 +1wd: Mon 27 Apr is Koningsdag
    assert Offset.parse("+1wd").apply(date(2026, 4, 24)) == date(2026, 4, 28)
    # Mon 5 Jan 2026 +10wd = Mon 19 Jan
    assert Offset.parse("+10wd").apply(date(2026, 1, 5)) == date(2026, 1, 19)
    # a weekend start counts from the weekend: Sat +1wd = Mon
    assert Offset.parse("+1wd").apply(date(2026, 1, 10)) == date(2026, 1, 12)
    # 5 May counts as a holiday only in lustrum years (per the package): 2025 yes, 2026 no
    assert not DEFAULT_KALENDER.is_werkdag(date(2025, 5, 5))
    assert DEFAULT_KALENDER.is_werkdag(date(2026, 5, 5))


# --------------------------------------------------------------------------- calendar months and years


@pytest.mark.parametrize(
    ("start", "offset", "expected"),
    [
        (date(2026, 1, 31), "+1mo", date(2026, 2, 28)),
        (date(2024, 1, 31), "+1mo", date(2024, 2, 29)),  # leap year
        (date(2025, 8, 31), "+6mo", date(2026, 2, 28)),
        (date(2023, 8, 31), "+6mo", date(2024, 2, 29)),
        (date(2024, 2, 29), "+1y", date(2025, 2, 28)),
        (date(2024, 2, 29), "+4y", date(2028, 2, 29)),
        (date(2026, 3, 31), "-1mo", date(2026, 2, 28)),
        (date(2026, 12, 31), "-6mo", date(2026, 6, 30)),
        (date(2026, 1, 5), "+9w", date(2026, 3, 9)),
        (date(2026, 1, 5), "+3d", date(2026, 1, 8)),
        (date(2026, 1, 5), "-3d", date(2026, 1, 2)),
        (date(2026, 1, 5), "+0d", date(2026, 1, 5)),
    ],
)
def test_calendar_offsets(start, offset, expected):
    assert Offset.parse(offset).apply(start) == expected


def test_combined_offsets_apply_left_to_right():
    off = Offset.parse("-6mo+3wd")
    assert off.terms == ((-6, "mo"), (3, "wd"))
    # 31 Aug 2026 -6mo = Sat 28 Feb 2026; +3wd = Mon 2, Tue 3, Wed 4 Mar
    assert off.apply(date(2026, 8, 31)) == date(2026, 3, 4)
    # the order matters: +3wd first (Thu 3 Sep 2026), then -6mo = 3 Mar 2026
    assert Offset.parse("+3wd-6mo").apply(date(2026, 8, 31)) == date(2026, 3, 3)
    # premie_op_werk's reminder: werk_start + 6 months - 10 working days
    assert Offset.parse("+6mo-10wd").apply(date(2026, 1, 12)) == date(2026, 6, 29)
    # spaces are allowed between terms
    assert Offset.parse("+1y -2w").apply(date(2026, 1, 5)) == date(2026, 12, 22)


@pytest.mark.parametrize("bad", ["4w", "+4x", "", "+-3d", "   ", "+4", "+4w+", "4", "+12345d", "+1.5w", "w+4"])
def test_offset_grammar_rejects_bad_strings(bad):
    with pytest.raises(OffsetError):
        Offset.parse(bad)


def test_offset_error_is_a_value_error_naming_the_text():
    with pytest.raises(ValueError, match=r"\+4x"):
        Offset.parse("+4x")


def test_offset_describe():
    assert Offset.parse("-6mo+3wd").describe() == "-6 maanden +3 werkdagen"
    assert Offset.parse(None).describe() == "direct"


# --------------------------------------------------------------------------- configurable calendar

GOEDE_VRIJDAG = date(2026, 4, 3)


def test_good_friday_is_not_a_working_day_by_default():
    assert not WerkdagKalender().is_werkdag(GOEDE_VRIJDAG)
    assert not DEFAULT_KALENDER.is_werkdag(GOEDE_VRIJDAG)


@pytest.mark.parametrize("name", ["Goede Vrijdag", "Goede vrijdag", "goede vrijdag"])
def test_good_friday_can_count_as_a_working_day(name):
    kal = WerkdagKalender(tellen_mee=frozenset({name}))
    assert kal.is_werkdag(GOEDE_VRIJDAG)
    # other holidays still do not count
    assert not kal.is_werkdag(date(2026, 4, 6))  # Tweede paasdag
    assert kal.plus_werkdagen(date(2026, 4, 2), 1) == GOEDE_VRIJDAG
    assert DEFAULT_KALENDER.plus_werkdagen(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert Offset.parse("+1wd").apply(date(2026, 4, 2), kal) == GOEDE_VRIJDAG


def test_unknown_holiday_name_is_a_configuration_error_not_a_no_op():
    with pytest.raises(ValueError, match="Goede Vrydag"):
        WerkdagKalender(tellen_mee=frozenset({"Goede Vrydag"}))


def test_day_with_two_holidays_counts_only_when_both_do():
    both = date(2005, 5, 5)  # Bevrijdingsdag and Hemelvaartsdag
    assert not WerkdagKalender(tellen_mee=frozenset({"Bevrijdingsdag"})).is_werkdag(both)
    assert WerkdagKalender(tellen_mee=frozenset({"Bevrijdingsdag", "Hemelvaartsdag"})).is_werkdag(both)


def test_extra_closing_days():
    kal = WerkdagKalender(extra_vrije_dagen=frozenset({date(2026, 1, 6)}))
    assert not kal.is_werkdag(date(2026, 1, 6))
    assert kal.plus_werkdagen(date(2026, 1, 5), 1) == date(2026, 1, 7)


def test_engine_takes_the_calendar_from_settings(sqlite_url, clock):
    settings_ = load_settings(database_url=sqlite_url, feestdagen_tellen_mee="Goede Vrijdag",
                              extra_vrije_dagen="2026-01-06")
    eng = Engine.open(sqlite_url, clock=clock, settings=settings_)
    try:
        kal = eng.plan_context.kalender
        assert kal.is_werkdag(GOEDE_VRIJDAG)
        assert not kal.is_werkdag(date(2026, 1, 6))
    finally:
        eng.db.dispose()


# --------------------------------------------------------------------------- clock


def test_fixed_clock_rejects_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2026, 1, 5, 9, 0))
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=TZ))
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 6, 9, 0))
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=TZ)  # unchanged by the refused set


def test_fixed_clock_stands_still_until_moved():
    clock = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(days=1)) == datetime(2026, 1, 6, 8, 0, tzinfo=timezone.utc)
    clock.set(datetime(2026, 3, 1, tzinfo=TZ))
    assert clock.now() == datetime(2026, 3, 1, tzinfo=TZ)


def test_at_local_is_dst_safe():
    assert at_local(date(2026, 1, 5)).utcoffset() == timedelta(hours=1)
    assert at_local(date(2026, 7, 6)).utcoffset() == timedelta(hours=2)
    assert at_local(date(2026, 7, 6)).hour == 8
