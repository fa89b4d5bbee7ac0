"""Kansen in Kaart: the yearly contact across the caseload. The instrument's timeline over simulated
years, the daily job that starts it for every eligible bijstand client and ends it when another
trajectory starts or the client leaves bijstand, its registration as a scheduled job, a Prefect
deployment and a CLI command. Runs on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from tests.helpers import FEITEN, T, at, bsns, events, planned, steps, task_for
from trajecten.taken import kansen, scheduler
from trajecten.cli import app
from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.taken.kansen import ACTOR, INSTRUMENT, volgend_jaarcontact
from trajecten.clienten.uitstroom import bijstand_start_vastleggen

IB = "intensief_begeleiden"


def _kik(engine, client_id: int, status: tuple = ("gepland", "actief")):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(T).where(T.c.client_id == client_id, T.c.instrument == INSTRUMENT,
                                               T.c.status.in_(status)).order_by(T.c.id)).all()


def _client(engine, bsn: str, bijstand_sinds: date | None) -> int:
    return engine.add_client(bsn, geboortedatum=date(1980, 5, 17), bijstand_sinds=bijstand_sinds, coach="coach.kik")


@pytest.mark.parametrize("vandaag,verwacht", [
    (date(2026, 3, 10), date(2026, 3, 10)),  # the anniversary is today: today
    (date(2026, 3, 11), date(2027, 3, 10)),  # a day late: next year
    (date(2026, 3, 9), date(2026, 3, 10)),
    (date(2026, 1, 5), date(2026, 3, 10)),
])
def test_next_yearly_contact_is_the_next_anniversary_within_a_year(vandaag, verwacht):
    assert volgend_jaarcontact(date(2020, 3, 10), vandaag) == verwacht
    assert 0 <= (verwacht - vandaag).days < 366


def test_next_yearly_contact_of_a_leap_day_start():
    assert volgend_jaarcontact(date(2020, 2, 29), date(2026, 1, 5)) == date(2026, 2, 28)
    assert volgend_jaarcontact(date(2020, 2, 29), date(2028, 2, 29)) == date(2028, 2, 29)
    assert volgend_jaarcontact(date(2026, 3, 1), date(2026, 1, 5)) == date(2026, 3, 1)  # starts later: rule refuses


def test_next_yearly_contact_agrees_with_calendar_years_for_every_day():
    """Against dateutil: the smallest ``start + n years`` (n >= 0) on or after today, for every start day
    of 2019-2021 (leap days included) and a few todays."""
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    for vandaag in (date(2026, 1, 5), date(2027, 2, 28), date(2028, 2, 29), date(2028, 3, 1)):
        start = date(2019, 1, 1)
        while start < date(2022, 1, 1):
            n = 0
            while start + relativedelta(years=n) < vandaag:
                n += 1
            assert volgend_jaarcontact(start, vandaag) == start + relativedelta(years=n), (start, vandaag)
            start += timedelta(days=1)


def test_yearly_contact_timeline_over_simulated_years(engine, clock):
    """Started on 5 Jan 2026 for a client in bijstand since 10 Mar 2020: the contact task appears on the
    anniversary, exactly once a year, each next one planned a year after the previous one."""
    (b1,) = bsns(1, seed=71)
    cid = _client(engine, b1, date(2020, 3, 10))
    res = kansen.bijwerken(engine)
    assert res["gestart"] == 1 and res["kandidaten"] == 1
    (tr,) = _kik(engine, cid)
    assert tr.feiten == {"contact_vanaf": "2026-03-10", "andere_lopende_trajecten": 0, "uitgestroomd_op": None}
    (gestart,) = events(engine, tr.id, "traject_gestart")
    assert gestart.regel == "kansen_in_kaart.toegang" and gestart.payload["besluit"]["uitkomst"] is True
    assert planned(engine, tr.id) == {("jaarcontact", 0): at(2026, 3, 10)}

    assert engine.sweep(at(2026, 3, 9, 23, 0)).uitgevoerd == 0  # the day before: nothing
    assert engine.sweep(at(2026, 3, 10, 8, 0)).uitgevoerd == 1
    taak = task_for(engine, tr.id, "jaarcontact")
    assert taak.toegewezen_aan == "coach.kik"
    assert planned(engine, tr.id) == {("jaarcontact", 1): at(2027, 3, 10)}
    clock.set(at(2026, 3, 12, 10, 0))
    engine.complete_task(taak.id, actor="coach.kik", uitkomst="gesproken")
    for month in range(4, 13):  # the rest of the year: no second contact
        assert engine.sweep(at(2026, month, 28, 8, 0)).uitgevoerd == 0
    assert engine.sweep(at(2027, 3, 10, 8, 0)).uitgevoerd == 1
    fired = {k: r for k, r in steps(engine, tr.id).items() if r.status == "uitgevoerd"}
    assert sorted(fired) == [("jaarcontact", 0), ("jaarcontact", 1)]
    assert planned(engine, tr.id) == {("jaarcontact", 2): at(2028, 3, 10)}
    assert kansen.bijwerken(engine)["gestart"] == 0  # still running: nothing new


def test_anniversary_on_a_weekend_moves_to_monday_and_the_next_follows_a_year_later(engine):
    (b1,) = bsns(1, seed=72)
    cid = _client(engine, b1, date(2019, 3, 14))  # 14 March 2026 is a Saturday
    kansen.bijwerken(engine)
    (tr,) = _kik(engine, cid)
    assert planned(engine, tr.id) == {("jaarcontact", 0): at(2026, 3, 16)}
    engine.sweep(at(2026, 3, 16, 8, 0))
    assert planned(engine, tr.id) == {("jaarcontact", 1): at(2027, 3, 16)}  # a Tuesday, a year later


def test_who_gets_kansen_in_kaart(engine):
    """Bijstand without a trajectory: yes. WW (no bijstand), bijstand from tomorrow, or a running
    trajectory: no; the rule refuses the future start and the job counts it."""
    b = bsns(4, seed=73)
    ja = _client(engine, b[0], date(2024, 6, 1))
    ww = _client(engine, b[1], None)
    morgen = _client(engine, b[2], date(2026, 1, 6))
    bezig = _client(engine, b[3], date(2020, 1, 1))
    engine.start(IB, bezig, FEITEN[IB], actor="coach.kik")
    res = kansen.bijwerken(engine)
    assert res == {"actief": True, "kandidaten": 2, "gestart": 1, "niet_toegelaten": 1, "al_lopend": 0, "fouten": 0,
                   "beeindigd_ander_traject": 0, "beeindigd_uit_bijstand": 0}
    assert len(_kik(engine, ja)) == 1
    assert not _kik(engine, ww) and not _kik(engine, morgen) and not _kik(engine, bezig)
    again = kansen.bijwerken(engine)  # idempotent
    assert again["gestart"] == 0 and again["niet_toegelaten"] == 1


def test_ends_when_another_trajectory_starts_and_starts_again_after_it(engine, clock):
    (b1,) = bsns(1, seed=74)
    cid = _client(engine, b1, date(2020, 1, 20))
    kansen.bijwerken(engine)
    engine.sweep(at(2026, 1, 20, 8, 0))  # the first yearly contact is on the worklist
    (kik,) = _kik(engine, cid)
    clock.set(at(2026, 2, 2, 9, 0))
    ib = engine.start(IB, cid, FEITEN[IB], actor="coach.kik").traject_id
    res = kansen.bijwerken(engine)
    assert res["beeindigd_ander_traject"] == 1 and res["gestart"] == 0
    (ended,) = _kik(engine, cid, ("beeindigd",))
    assert ended.id == kik.id and ended.uitkomst == "ander_traject" and ended.eind_datum == date(2026, 2, 2)
    assert [e.actor for e in events(engine, kik.id, "ander_traject")] == [ACTOR]
    assert task_for(engine, kik.id, "jaarcontact").status == "vervallen"
    assert planned(engine, kik.id) == {}  # next year's contact is cancelled
    # the other trajectory ends: Kansen in Kaart starts again, next contact on the anniversary
    clock.set(at(2026, 4, 1, 9, 0))
    engine.end(ib, actor="coach.kik", uitkomst="geen_doorbraak", reden="gestopt")
    res = kansen.bijwerken(engine)
    assert res["gestart"] == 1
    (nieuw,) = _kik(engine, cid)
    assert nieuw.id != kik.id and nieuw.feiten["contact_vanaf"] == "2027-01-20"


def test_uitstroom_door_werk_stops_it_until_the_client_is_back_in_bijstand(engine, clock):
    (b1,) = bsns(1, seed=75)
    cid = _client(engine, b1, date(2021, 5, 1))
    ib = engine.start(IB, cid, FEITEN[IB], actor="coach.kik").traject_id
    clock.set(at(2026, 3, 2, 9, 0))
    engine.end(ib, actor="coach.kik", uitkomst="werk", reden="aan het werk")  # uitstroom door werk
    res = kansen.bijwerken(engine)
    assert res["kandidaten"] == 1 and res["niet_toegelaten"] == 1 and not _kik(engine, cid)
    with pytest.raises(OngeldigeInvoer, match="datum"):
        bijstand_start_vastleggen(engine, cid, date(2020, 1, 1), actor="coach.kik")  # before the current start
    bijstand_start_vastleggen(engine, cid, date(2026, 3, 2), actor="coach.kik")  # the same day as uitstroom
    assert kansen.bijwerken(engine)["niet_toegelaten"] == 1  # not after it: still counts as left
    clock.set(at(2026, 9, 1, 9, 0))
    bijstand_start_vastleggen(engine, cid, date(2026, 9, 1), actor="coach.kik")
    res = kansen.bijwerken(engine)
    assert res["gestart"] == 1
    (tr,) = _kik(engine, cid)
    assert tr.feiten["contact_vanaf"] == "2026-09-01"
    (ev,) = [e for e in events(engine) if e.type == "bijstand_gestart" and e.datum == date(2026, 9, 1)]
    assert ev.client_id == cid and ev.traject_id is None and ev.actor == "coach.kik"


def test_ends_when_the_client_is_no_longer_on_bijstand(engine, clock):
    b = bsns(2, seed=76)
    weg = _client(engine, b[0], date(2022, 8, 1))
    blijft = _client(engine, b[1], date(2022, 8, 1))
    kansen.bijwerken(engine)
    # the benefits administration ends the bijstand (it owns bijstand_sinds; the engine only reads it)
    with engine.db.begin() as conn:
        conn.execute(sa.text("UPDATE client SET bijstand_sinds = NULL WHERE id = :id"), {"id": weg})
    clock.set(at(2026, 1, 6, 9, 0))
    res = kansen.bijwerken(engine)
    assert res["beeindigd_uit_bijstand"] == 1 and res["beeindigd_ander_traject"] == 0
    (ended,) = _kik(engine, weg, ("beeindigd",))
    assert ended.uitkomst == "uit_bijstand"
    assert len(_kik(engine, blijft)) == 1


def test_bulk_start_over_a_caseload_in_chunks(engine):
    ids = [_client(engine, b, date(2015 + i % 10, 1 + i % 12, 1 + i % 28)) for i, b in enumerate(bsns(120, seed=77))]
    seen = []
    res = kansen.bijwerken(engine, chunk=50, progress=lambda done, total: seen.append((done, total)))
    assert res["gestart"] == 120
    assert seen == [(50, 120), (100, 120), (120, 120)]
    with engine.db.connect() as conn:
        per_client = dict(conn.execute(sa.select(T.c.client_id, sa.func.count()).where(T.c.instrument == INSTRUMENT)
                                       .group_by(T.c.client_id)).all())
    assert per_client == {cid: 1 for cid in ids}
    # a year of monthly sweeps: every client gets exactly one contact task
    for month in range(1, 13):
        engine.sweep(at(2026, month, 28, 8, 0))
    engine.sweep(at(2027, 1, 4, 8, 0))  # 5 Jan 2027 anniversaries are not due yet
    with engine.db.connect() as conn:
        taken = conn.execute(sa.text(
            "SELECT t.client_id, count(*) FROM taak k JOIN traject t ON t.id = k.traject_id "
            "WHERE k.stap = 'jaarcontact' GROUP BY t.client_id")).all()
    assert dict(taken) == {cid: 1 for cid in ids}


def test_registered_as_scheduled_job_prefect_deployment_and_cli(engine, db_url):
    spec = scheduler.JOBS["kansen_in_kaart"]
    assert spec.enabled(engine) and "hour='6'" in str(spec.trigger(engine))
    (b1,) = bsns(1, seed=78)
    cid = _client(engine, b1, date(2023, 2, 1))
    assert spec.fn(engine)["gestart"] == 1
    deployments = yaml.safe_load((Path(__file__).resolve().parents[1] / "prefect.yaml").read_text())["deployments"]
    (d,) = [d for d in deployments if d["name"] == "kansen_in_kaart"]
    assert d["entrypoint"] == "flows/kansen_in_kaart.py:kansen_in_kaart" and d["concurrency_limit"] == 1
    assert d["schedules"] == [{"cron": "15 6 * * *", "timezone": "Europe/Amsterdam"}]
    # the CLI: a client started today elsewhere ends the Kansen in Kaart trajectory
    engine.start(IB, cid, FEITEN[IB], actor="coach.kik")
    r = CliRunner().invoke(app, ["--database-url", db_url, "kansen-in-kaart", "bijwerken", "--now",
                                 "2026-01-05T10:00", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["beeindigd_ander_traject"] == 1
    assert _kik(engine, cid, ("beeindigd",))[0].uitkomst == "ander_traject"
