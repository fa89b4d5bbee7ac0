"""The sweep: due steps fire exactly once, with their lateness; catch-up after downtime; skipped
reminders; retry with backoff and incidents; batch boundaries. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa

from tests.conftest import open_engine
from tests.helpers import (
    ACTOR,
    FEITEN,
    E,
    I,
    K,
    S,
    FailingHook,
    StubHook,
    at,
    bsns,
    client,
    count,
    events,
    fired_keys,
    steps,
    task_for,
)
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.geld import uitbetalingen as betalingen
from trajecten.opslag.models import Uitbetaling
from trajecten.kern.regelhaak import RegelsHook
from trajecten.kern.sweep import STAP_EVENT_TYPES
from trajecten.basis.tijd import TZ, FixedClock

IB, WW, PW, JN = "intensief_begeleiden", "ww_preventie", "premie_op_werk", "jobcoaching_nazorg"


def _stap_event_counts(engine) -> Counter:
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(E.c.stap_id).where(E.c.type.in_(STAP_EVENT_TYPES))).all()
    return Counter(r.stap_id for r in rows)


def _assert_each_fired_step_has_one_event(engine):
    with engine.db.connect() as conn:
        fired_ids = set(conn.execute(sa.select(S.c.id).where(S.c.status.in_(["uitgevoerd", "overgeslagen"])))
                        .scalars())
    counts = _stap_event_counts(engine)
    assert set(counts) >= fired_ids
    assert all(counts[i] == 1 for i in fired_ids), {i: n for i, n in counts.items() if n != 1}


# --------------------------------------------------------------------------- once, with lateness


def test_a_step_fires_once_and_records_its_lateness(engine, clock):
    tid = engine.start(IB, client(engine), FEITEN[IB], actor=ACTOR).traject_id
    clock.set(at(2026, 1, 7, 8, 30))  # intake was due at 08:00
    res = engine.sweep()
    assert (res.uitgevoerd, res.overgeslagen, res.mislukt, res.te_laat) == (1, 0, 0, 1)
    assert res.max_te_laat_s == 1800
    assert res.per_soort == Counter({"task": 1})

    row = steps(engine, tid)[("intake", 0)]
    assert (row.status, row.te_laat_s, row.pogingen) == ("uitgevoerd", 1800, 1)
    assert row.uitgevoerd_op == at(2026, 1, 7, 8, 30)
    (ev,) = events(engine, tid, "stap_uitgevoerd")
    assert ev.stap_id == row.id and ev.actor == "systeem:sweep"
    assert ev.payload["stap"] == "intake" and ev.payload["te_laat_s"] == 1800 and ev.payload["volgnr"] == 0
    assert [t.stap for t in engine.open_tasks(tid)] == ["intake"]

    n_events, n_tasks = count(engine, E), count(engine, K)
    again = engine.sweep()
    assert (again.verwerkt, again.uitgevoerd, again.overgeslagen, again.mislukt, again.batches) == (0, 0, 0, 0, 0)
    assert count(engine, E) == n_events and count(engine, K) == n_tasks
    assert steps(engine, tid)[("intake", 0)].pogingen == 1


def test_a_step_due_later_does_not_fire(engine, clock):
    tid = engine.start(IB, client(engine), FEITEN[IB], actor=ACTOR).traject_id
    assert engine.sweep(now=at(2026, 1, 7, 7, 59)).verwerkt == 0
    assert steps(engine, tid)[("intake", 0)].status == "gepland"
    assert engine.sweep(now=at(2026, 1, 7, 8, 0)).uitgevoerd == 1
    assert steps(engine, tid)[("intake", 0)].te_laat_s == 0


# --------------------------------------------------------------------------- catch-up after downtime


def _population(engine) -> list[int]:
    """Five trajectories of the four instruments, started Mon 2026-01-05 09:00."""
    ids = []
    b = iter(bsns(5, seed=7))
    ids.append(engine.start(IB, client(engine, next(b)), {"variant": "richting_werk"}, actor=ACTOR).traject_id)
    ids.append(engine.start(IB, client(engine, next(b)), {"variant": "ter_ontwikkeling"}, actor=ACTOR).traject_id)
    ids.append(engine.start(WW, client(engine, next(b)), {"ww_einddatum": "2026-03-05", "risico_langdurig": True},
                            actor=ACTOR).traject_id)
    ids.append(engine.start(PW, client(engine, next(b)), FEITEN[PW], actor=ACTOR).traject_id)
    ids.append(engine.start(JN, client(engine, next(b)), FEITEN[JN], actor=ACTOR).traject_id)
    return ids


def test_catch_up_after_downtime_fires_each_due_step_once_in_due_order(db_url, tmp_path):
    start = at(2026, 1, 5, 9)
    end = start + timedelta(days=60)  # 2026-03-06 09:00

    # reference: a second database swept every day at 09:00
    ref_clock = FixedClock(start)
    ref = open_engine(f"sqlite:///{tmp_path / 'reference.db'}", ref_clock)
    try:
        _population(ref)
        for day in range(1, 61):
            ref_clock.set(start + timedelta(days=day))
            ref.sweep()
        expected = fired_keys(ref)
    finally:
        ref.db.dispose()

    clock = FixedClock(start)
    eng = open_engine(db_url, clock)
    try:
        ids = _population(eng)
        clock.set(end)  # 60 days of downtime
        with eng.db.connect() as conn:
            before = {r.id: r for r in conn.execute(sa.select(S).where(S.c.status == "gepland"))}
        res = eng.sweep()
        assert res.mislukt == 0 and res.incidenten == 0

        got = fired_keys(eng)
        assert got == expected
        assert len(got) > 30 and {k[0] for k in got} == set(ids)
        assert res.uitgevoerd + res.overgeslagen == len(got)
        # nothing due is left behind, and nothing fires twice
        assert count(eng, S, S.c.status == "gepland", S.c.due_at <= end) == 0
        _assert_each_fired_step_has_one_event(eng)
        assert eng.sweep().verwerkt == 0

        # lateness: now - due, on the row and in the event
        with eng.db.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(S).where(S.c.status.in_(["uitgevoerd", "overgeslagen"])))}
        for r in rows.values():
            assert r.te_laat_s == int((end - r.due_at).total_seconds()), (r.stap, r.volgnr)
        assert res.max_te_laat_s == max(r.te_laat_s for r in rows.values())
        assert res.max_te_laat_s == 60 * 86400  # WW tussenevaluatie: due at the start itself

        # due order per trajectory: the steps that were waiting fire in due order, and each repeat
        # occurrence after the one before it (it is planned only when that one fires)
        for tid in ids:
            fired = [rows[e.stap_id] for e in events(eng, tid) if e.type in STAP_EVENT_TYPES]
            waiting = [r for r in fired if r.id in before]
            assert [r.due_at for r in waiting] == sorted(r.due_at for r in waiting), tid
            seen: dict[str, int] = {}
            for r in fired:
                assert r.volgnr == seen.get(r.stap, -1) + 1, (tid, r.stap, r.volgnr)
                seen[r.stap] = r.volgnr
    finally:
        eng.db.dispose()


# --------------------------------------------------------------------------- reminders


def test_reminder_is_skipped_when_its_task_was_completed_meanwhile(engine, clock):
    done = engine.start(IB, client(engine, "111222333"), FEITEN[IB], actor=ACTOR).traject_id
    open_ = engine.start(IB, client(engine, "123456782"), FEITEN[IB], actor=ACTOR).traject_id
    engine.sweep(now=at(2026, 1, 7, 9))  # both intake tasks appear
    clock.set(at(2026, 1, 8, 14))
    engine.complete_task(task_for(engine, done, "intake").id, actor=ACTOR)

    res = engine.sweep(now=at(2026, 1, 12, 9))
    assert res.overgeslagen == 1

    skipped = steps(engine, done)[("herinnering_intake", 0)]
    assert skipped.status == "overgeslagen"
    assert skipped.reden == "taak intake is al afgerond"
    (ev,) = events(engine, done, "stap_overgeslagen")
    assert ev.stap_id == skipped.id and ev.payload["reden"] == "taak intake is al afgerond"
    assert not [e for e in events(engine, done, "herinnering") if e.payload["stap"] == "herinnering_intake"]

    fired = steps(engine, open_)[("herinnering_intake", 0)]
    assert fired.status == "uitgevoerd" and fired.reden is None
    reminders = [e for e in events(engine, open_, "herinnering") if e.payload["stap"] == "herinnering_intake"]
    assert len(reminders) == 1 and reminders[0].payload["titel"] == "Intake is nog niet gedaan"


# --------------------------------------------------------------------------- retries and incidents


def _engine_with(db_url, clock, hook, **settings):
    return Engine.open(db_url, clock=clock, rules=hook,
                       settings=load_settings(database_url=db_url, **settings))


def test_failing_rule_retries_with_backoff_then_becomes_an_incident(db_url, clock):
    hook = FailingHook(RegelsHook(), "premie_op_werk")  # the payout rule is down; eligibility works
    eng = _engine_with(db_url, clock, hook, max_pogingen=3, retry_start_s=60, retry_max_s=3600)
    try:
        tid = eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR).traject_id
        now = at(2026, 1, 12, 9)
        res = eng.sweep(now=now)
        assert (res.mislukt, res.uitgevoerd, res.incidenten) == (1, 0, 0)  # the payout failed; nothing else due
        row = steps(eng, tid)[("premie_deel_1", 0)]
        assert (row.status, row.pogingen) == ("gepland", 1)
        planned = row.due_at  # the planned time stays: lateness is measured from it
        assert row.volgende_poging_op == now + timedelta(seconds=60)
        assert "regeldienst tijdelijk onbereikbaar" in row.laatste_fout

        # not due again until the delay has passed
        assert eng.sweep(now=now + timedelta(seconds=59)).mislukt == 0
        assert steps(eng, tid)[("premie_deel_1", 0)].pogingen == 1

        now += timedelta(seconds=60)
        assert eng.sweep(now=now).mislukt == 1
        row = steps(eng, tid)[("premie_deel_1", 0)]
        assert (row.status, row.pogingen, row.volgende_poging_op) == ("gepland", 2, now + timedelta(seconds=120))
        assert row.due_at == planned

        now += timedelta(seconds=120)
        res = eng.sweep(now=now)
        assert (res.mislukt, res.incidenten) == (0, 1)
        row = steps(eng, tid)[("premie_deel_1", 0)]
        assert (row.status, row.pogingen) == ("incident", 3)
        with eng.db.connect() as conn:
            (inc,) = conn.execute(sa.select(I)).all()
        assert (inc.stap_id, inc.traject_id, inc.pogingen) == (row.id, tid, 3)
        assert "RuntimeError" in inc.fout and inc.opgelost_op is None
        (ev,) = events(eng, tid, "incident")
        assert ev.stap_id == row.id and ev.payload["pogingen"] == 3
        assert hook.failed == 3

        # an incident waits for a person: later sweeps leave it alone
        assert eng.sweep(now=now + timedelta(days=1)).verwerkt == 0
        assert steps(eng, tid)[("premie_deel_1", 0)].status == "incident"
        assert hook.failed == 3
        assert count(eng, Uitbetaling.__table__) == 0
        assert _stap_event_counts(eng)[row.id] == 0
    finally:
        eng.db.dispose()


def test_retry_delay_is_capped():
    from trajecten import RetryPolicy

    p = RetryPolicy(pogingen=10, start_s=60, max_s=3600)
    assert [p.wacht(n).total_seconds() for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_step_that_recovers_fires_once_with_its_payout(db_url, clock):
    hook = FailingHook(RegelsHook(), "premie_op_werk", failures_left=1)
    eng = _engine_with(db_url, clock, hook)
    try:
        tid = eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR).traject_id
        now = at(2026, 1, 12, 9)
        assert eng.sweep(now=now).mislukt == 1
        res = eng.sweep(now=now + timedelta(seconds=60))
        assert (res.mislukt, res.uitgevoerd, res.betalingen_voorgesteld) == (0, 1, 1)
        row = steps(eng, tid)[("premie_deel_1", 0)]
        assert (row.status, row.uitkomst, row.pogingen) == ("uitgevoerd", "voorgesteld", 2)
        with eng.db.connect() as conn:
            (pay,) = conn.execute(sa.select(Uitbetaling.__table__)).all()
        assert (pay.traject_id, pay.deel, str(pay.bedrag), pay.opeisbaar_op) == (tid, 1, "300.00", date(2026, 1, 12))
        assert _stap_event_counts(eng)[row.id] == 1
        assert len(events(eng, tid, "uitbetaling_voorgesteld")) == 1
    finally:
        eng.db.dispose()


# --------------------------------------------------------------------------- batches


def test_batch_boundaries_fire_everything_once(db_url, clock):
    eng = _engine_with(db_url, clock, StubHook())  # eligibility is not the point here
    try:
        tids = [eng.start(IB, client(eng, b), FEITEN[IB], actor=ACTOR).traject_id for b in bsns(25, seed=3)]
        # by Mon 19 Jan 09:00 each trajectory has 4 due occurrences: intake (7 Jan), herinnering_intake and
        # coachingscontact #0 (12 Jan), and coachingscontact #1 (19 Jan) that is planned only when #0 fires
        res = eng.sweep(now=at(2026, 1, 19, 9), batch_size=7)
        assert res.uitgevoerd + res.overgeslagen == 100
        assert res.batches == 15  # 14 full batches of 7 and one of 2
        assert res.mislukt == 0
        per = Counter(k[0] for k in fired_keys(eng))
        assert per == Counter({t: 4 for t in tids})
        assert count(eng, S, S.c.status == "gepland", S.c.due_at <= at(2026, 1, 19, 9)) == 0
        _assert_each_fired_step_has_one_event(eng)
        assert len(_stap_event_counts(eng)) == 100
        assert count(eng, K) == 25  # one intake task each
    finally:
        eng.db.dispose()


def test_max_batches_stops_early_and_the_next_sweep_continues(db_url, clock):
    eng = _engine_with(db_url, clock, StubHook())
    try:
        for b in bsns(10, seed=4):
            eng.start(IB, client(eng, b), FEITEN[IB], actor=ACTOR)
        first = eng.sweep(now=at(2026, 1, 12, 9), batch_size=4, max_batches=2)
        assert (first.batches, first.uitgevoerd) == (2, 8)
        rest = eng.sweep(now=at(2026, 1, 12, 9), batch_size=4)
        assert first.uitgevoerd + rest.uitgevoerd == 30  # intake, herinnering, coachingscontact #0 each
        _assert_each_fired_step_has_one_event(eng)
    finally:
        eng.db.dispose()


def test_lateness_is_measured_in_real_time_across_dst(engine):
    """A step due at 08:00 CET fired at 08:00 CEST one day after the switch is 23 hours late, not 24."""
    tid = engine.start(IB, client(engine), FEITEN[IB], actor=ACTOR).traject_id
    with engine.db.begin() as conn:
        conn.execute(S.update().where(S.c.traject_id == tid, S.c.stap == "intake")
                     .values(due_at=at(2026, 3, 28, 8)))  # Saturday before the switch to summer time
    engine.sweep(now=at(2026, 3, 29, 8))
    row = steps(engine, tid)[("intake", 0)]
    assert row.te_laat_s == 23 * 3600
    assert row.uitgevoerd_op.astimezone(TZ) == at(2026, 3, 29, 8)


# --------------------------------------------------------------------------- a payout path end to end


def test_premie_op_werk_pays_both_parts_once_and_ends_with_the_full_premium_when_part_2_is_approved(engine, clock):
    cid = client(engine)
    tid = engine.start(PW, cid, FEITEN[PW], actor=ACTOR).traject_id  # werk_start Mon 12 Jan
    assert engine.sweep(now=at(2026, 1, 12, 9)).betalingen_voorgesteld == 1
    res = engine.sweep(now=at(2026, 7, 13, 9))  # the 6-month reminder (29 Jun) and the check (13 Jul)
    assert res.uitgevoerd == 2 and res.betalingen_voorgesteld == 0
    clock.set(at(2026, 7, 13, 10))
    engine.complete_task(task_for(engine, tid, "controle_werk").id, actor=ACTOR, uitkomst="werk_behouden")
    tr = engine.timeline(tid)["traject"]
    assert tr.feiten["werk_nog_op"] == "2026-07-13"  # zet_feit: the completion date
    assert ("premie_deel_2", 0) in steps(engine, tid) and ("afsluiten_deel_1", 0) not in steps(engine, tid)

    res = engine.sweep(now=at(2026, 7, 13, 11))  # part 2 proposed: the trajectory waits for its approval
    assert res.betalingen_voorgesteld == 1
    with engine.db.connect() as conn:
        pays = conn.execute(sa.select(Uitbetaling.__table__).order_by(Uitbetaling.__table__.c.deel)).all()
    assert [(p.deel, str(p.bedrag), p.opeisbaar_op) for p in pays] == [
        (1, "300.00", date(2026, 1, 12)), (2, "900.00", date(2026, 7, 12))]
    # the key is what is paid for: client, rule, part and the job (its work start), not the trajectory
    assert {p.sleutel for p in pays} == {f"c{cid}/premie_op_werk/1/werk_start=2026-01-12",
                                         f"c{cid}/premie_op_werk/2/werk_start=2026-01-12"}
    assert all(p.regel == "premie_op_werk" and p.regel_versie for p in pays)
    assert engine.timeline(tid)["traject"].status == "actief"  # proposed is not granted
    betalingen.keur_goed(engine, pays[1].id, door="teamleider.oost")  # four-eyes: a second person
    tr = engine.timeline(tid)["traject"]
    assert (tr.status, tr.uitkomst) == ("beeindigd", "volledige_premie")
    assert [e.actor for e in events(engine, tid, "deel_2_goedgekeurd")] == ["teamleider.oost"]
    # nothing more: no second proposal, whatever sweeps follow
    assert engine.sweep(now=at(2027, 1, 1, 9)).verwerkt == 0
    assert count(engine, Uitbetaling.__table__) == 2
    assert len(events(engine, tid, "uitbetaling_voorgesteld")) == 2


def test_retried_step_keeps_its_planned_time_for_lateness(db_url, clock):
    hook = FailingHook(RegelsHook(), "premie_op_werk", failures_left=1)
    eng = _engine_with(db_url, clock, hook, retry_start_s=60)
    try:
        tid = eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR).traject_id
        now = at(2026, 1, 12, 9)
        assert eng.sweep(now=now).mislukt == 1
        planned = steps(eng, tid)[("premie_deel_1", 0)].due_at
        res = eng.sweep(now=now + timedelta(seconds=60))
        assert res.uitgevoerd == 1
        row = steps(eng, tid)[("premie_deel_1", 0)]
        assert (row.status, row.due_at) == ("uitgevoerd", planned)
        assert row.te_laat_s == int((now + timedelta(seconds=60) - planned).total_seconds())
    finally:
        eng.db.dispose()
