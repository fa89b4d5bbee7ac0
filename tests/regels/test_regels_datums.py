"""Month arithmetic and working days, checked against dateutil and the holidays package."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from regels import beslis, parameter
from regels._datums import leeftijd, maanden_en_dagen, maanden_tussen, plus_maanden
from regels._werkdagen import feestdagen, werkdagen_tussen

datums = st.dates(min_value=date(1950, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=300, deadline=None, database=None)
@given(datums, st.integers(min_value=-400, max_value=400))
def test_plus_maanden_is_relativedelta(d, n):
    assert plus_maanden(d, n) == d + relativedelta(months=n)


@settings(max_examples=300, deadline=None, database=None)
@given(datums, datums)
def test_maanden_tussen_is_relativedelta(a, b):
    rd = relativedelta(b, a)
    assert maanden_tussen(a, b) == rd.years * 12 + rd.months
    if b >= a:
        m, d = maanden_en_dagen(a, b)
        assert plus_maanden(a, m) + timedelta(days=d) == b
        assert leeftijd(a, b) == rd.years


@settings(max_examples=200, deadline=None, database=None)
@given(datums, datums)
def test_meer_dan_36_maanden_is_werkstart_na_bijstand_plus_36(bijstand_sinds, werk_start):
    """The rule's duration check equals the explicit definition werk_start > bijstand_sinds + 36 months."""
    if not date(2020, 11, 1) <= werk_start < date(2023, 4, 1):
        werk_start = date(2021, 6, 15)
    feiten = {
        "bijstand_sinds": bijstand_sinds,
        "werk_start": werk_start,
        "uren_per_week": 20,
        "contract_maanden": 12,
        "geboortedatum": date(1970, 1, 1),
    }
    d = beslis("premie_op_werk.toegang", feiten, werk_start)
    assert d.uitkomst == (werk_start > bijstand_sinds + relativedelta(months=36))


def test_31_augustus_plus_6_maanden():
    assert plus_maanden(date(2021, 8, 31), 6) == date(2022, 2, 28)
    assert plus_maanden(date(2023, 8, 31), 6) == date(2024, 2, 29)


def test_leeftijd_29_februari():
    assert leeftijd(date(2000, 2, 29), date(2023, 2, 28)) == 23
    assert leeftijd(date(2000, 2, 29), date(2023, 2, 27)) == 22
    assert leeftijd(date(2000, 2, 29), date(2024, 2, 28)) == 23


def test_standaard_feestdagen_2026():
    namen = parameter("werkdagen.feestdagen", date(2026, 1, 1))
    dagen = feestdagen(2026, namen)
    assert date(2026, 4, 3) in dagen  # Goede vrijdag
    assert date(2026, 4, 27) in dagen  # Koningsdag
    assert date(2026, 5, 14) in dagen  # Hemelvaartsdag
    assert len(dagen) == 10


def test_werkdagen_tussen():
    namen = parameter("werkdagen.feestdagen", date(2026, 1, 1))
    assert werkdagen_tussen(date(2024, 1, 8), date(2024, 1, 8), namen) == 0
    assert werkdagen_tussen(date(2024, 1, 8), date(2024, 1, 15), namen) == 5
    assert werkdagen_tussen(date(2024, 1, 5), date(2024, 1, 7), namen) == 0  # weekend
    # Goede vrijdag 3 april 2026 and Tweede paasdag 6 april 2026 do not count
    assert werkdagen_tussen(date(2026, 4, 2), date(2026, 4, 7), namen) == 1
    zonder_goede_vrijdag = tuple(n for n in namen if n != "Goede vrijdag")
    assert werkdagen_tussen(date(2026, 4, 2), date(2026, 4, 7), zonder_goede_vrijdag) == 2


@settings(max_examples=100, deadline=None, database=None)
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), st.integers(min_value=0, max_value=60))
def test_werkdagen_tussen_is_dag_voor_dag_tellen(van, n):
    namen = parameter("werkdagen.feestdagen", date(2026, 1, 1))
    tot = van + timedelta(days=n)
    verwacht = 0
    d = van
    while d < tot:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in feestdagen(d.year, namen):
            verwacht += 1
    assert werkdagen_tussen(van, tot, namen) == verwacht
