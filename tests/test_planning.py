"""Planning: which steps a trajectory gets, when they are due, and how events, outcomes and ending
change that. Runs on SQLite and PostgreSQL (``db_url``) with the real rules (``regels``).

Expected dates are worked out by hand from the YAML in flows/instrumenten/ and the Dutch calendar;
every step is due at 08:00 Amsterdam time on its day (a weekend/holiday rolls to the next working day).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.helpers import ACTOR, FEITEN, E, K, S, T, at, client, count, events, planned, steps, task_for
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer, OngeldigeToestand

IB, WW, PW, JN = "intensief_begeleiden", "ww_preventie", "premie_op_werk", "jobcoaching_nazorg"


def _start(engine, instrument, feiten=None, **client_kw):
    cid = client(engine, **client_kw)
    return engine.start(instrument, cid, FEITEN[instrument] if feiten is None else feiten, actor=ACTOR)


# --------------------------------------------------------------------------- planned steps at start


def test_intensief_begeleiden_planned_steps(engine):
    res = _start(engine, IB)  # Mon 2026-01-05
    assert res.status == "actief" and res.start_datum == date(2026, 1, 5) and res.besluit.uitkomst is True
    assert planned(engine, res.traject_id) == {
        ("intake", 0): at(2026, 1, 7),  # +2wd: Tue 6, Wed 7
        ("herinnering_intake", 0): at(2026, 1, 12),  # +5wd: 6,7,8,9,12
        ("coachingscontact", 0): at(2026, 1, 12),  # +1w
        ("tussenevaluatie", 0): at(2026, 2, 2),  # +4w
        ("besluit_week9", 0): at(2026, 3, 9),  # +9w
        ("nacontrole", 0): at(2026, 7, 6),  # +6mo = Sun 5 Jul -> Mon 6 Jul (CEST)
    }
    assert at(2026, 7, 6).utcoffset().total_seconds() == 7200  # summer time kept in the due moment
    assert res.stappen == 6
    (gestart,) = events(engine, res.traject_id)  # one event: the start, with the decision that allowed it
    assert gestart.type == "traject_gestart" and gestart.payload["besluit"]["uitkomst"] is True
    assert gestart.regel == gestart.payload["besluit"]["regel"] and gestart.regel_versie


def test_ww_preventie_far_end_date_is_planned_to_start_six_months_before(engine):
    res = _start(engine, WW, {"ww_einddatum": "2026-12-31", "risico_langdurig": True})
    assert res.status == "gepland"
    assert res.start_datum == date(2026, 6, 30)  # 31 Dec - 6 months
    tr = engine.timeline(res.traject_id)["traject"]
    assert tr.status == "gepland" and tr.start_datum == date(2026, 6, 30)
    assert planned(engine, res.traject_id) == {
        ("eerste_contact", 0): at(2026, 7, 3),  # start Tue 30 Jun +3wd: 1, 2, 3 Jul
        ("herinnering_eerste_contact", 0): at(2026, 7, 8),  # +6wd: 1,2,3,6,7,8
        ("tussenevaluatie", 0): at(2026, 9, 30),  # einddatum -3mo
        ("voorbereiden_einde_ww", 0): at(2026, 12, 3),  # einddatum -4w
        ("uitkomst_einde_ww", 0): at(2026, 12, 31),  # einddatum
    }
    # nothing fires before the start; the first step activates the trajectory
    assert engine.sweep().verwerkt == 0
    engine.sweep(now=at(2026, 7, 3, 9))
    assert engine.timeline(res.traject_id)["traject"].status == "actief"


def test_ww_preventie_end_date_within_six_months_starts_today(engine, clock):
    res = _start(engine, WW, {"ww_einddatum": "2026-03-05", "risico_langdurig": True})
    assert res.status == "actief"
    assert res.start_datum == date(2026, 1, 5)
    assert planned(engine, res.traject_id) == {
        ("eerste_contact", 0): at(2026, 1, 8),  # Mon 5 Jan +3wd
        ("herinnering_eerste_contact", 0): at(2026, 1, 13),  # +6wd: 6,7,8,9,12,13
        # einddatum -3mo = 5 Dec 2025 lies before the start: due at once, never in the past
        ("tussenevaluatie", 0): clock.now(),
        ("voorbereiden_einde_ww", 0): at(2026, 2, 5),  # 5 Mar -4w
        ("uitkomst_einde_ww", 0): at(2026, 3, 5),
    }


def test_ww_preventie_end_date_in_the_past_is_refused_with_the_reason(engine):
    cid = client(engine)
    with pytest.raises(NietToegelaten) as err:
        engine.start(WW, cid, {"ww_einddatum": "2026-01-02", "risico_langdurig": True}, actor=ACTOR)
    failed = [r for r in err.value.besluit.redenen if not r.voldaan]
    assert [r.voorwaarde for r in failed] == ["WW-einddatum ligt na de peildatum"]
    assert count(engine, T) == 0


def test_premie_op_werk_planned_steps(engine):
    res = _start(engine, PW)  # werk_start Mon 2026-01-12
    assert res.status == "actief"
    assert planned(engine, res.traject_id) == {
        ("premie_deel_1", 0): at(2026, 1, 12),  # werk_start +0d
        ("herinnering_controle", 0): at(2026, 6, 29),  # +6mo = Sun 12 Jul, -10wd = Mon 29 Jun
        ("controle_werk", 0): at(2026, 7, 13),  # +6mo = Sun 12 Jul -> Mon 13 Jul
    }


def test_jobcoaching_nazorg_planned_steps(engine):
    res = _start(engine, JN)  # werk_start Mon 2026-01-12
    assert planned(engine, res.traject_id) == {
        ("kennismaking", 0): at(2026, 1, 12),
        ("checkin_wekelijks", 0): at(2026, 1, 19),  # +1w
        ("nazorg_inkomen", 0): at(2026, 2, 9),  # +4w
        ("checkin_tweewekelijks", 0): at(2026, 2, 23),  # +6w
        ("nazorg_tweede_check", 0): at(2026, 4, 13),  # +3mo = Sun 12 Apr -> Mon 13 Apr
        ("checkin_maandelijks", 0): at(2026, 5, 12),  # +4mo
        ("evaluatie", 0): at(2026, 7, 13),  # +6mo = Sun 12 Jul -> Mon 13 Jul
    }
    # signaal_werk_beeindigd waits for its event: not planned
    assert not any(k[0] == "signaal_werk_beeindigd" for k in steps(engine, res.traject_id))


def test_repeats_follow_their_rule(engine):
    """coachingscontact repeats weekly until besluit_week9 (9 Mar); checkin_wekelijks at most 4 times."""
    ib = _start(engine, IB)
    cid2 = client(engine, "123456782")
    jn = engine.start(JN, cid2, FEITEN[JN], actor=ACTOR)
    engine.sweep(now=at(2026, 3, 20, 9))
    got_ib = {k[1]: r.due_at for k, r in steps(engine, ib.traject_id).items() if k[0] == "coachingscontact"}
    assert sorted(got_ib) == list(range(8))
    assert [got_ib[i] for i in range(8)] == [at(2026, 1, 12) + i * (at(2026, 1, 19) - at(2026, 1, 12))
                                            for i in range(8)]  # 12 Jan .. 2 Mar; 9 Mar is the limit
    got_jn = {k[1]: r.due_at for k, r in steps(engine, jn.traject_id).items() if k[0] == "checkin_wekelijks"}
    assert sorted(got_jn) == [0, 1, 2, 3]
    assert got_jn[3] == at(2026, 2, 9)
    got_jn2 = {k[1]: r.due_at for k, r in steps(engine, jn.traject_id).items() if k[0] == "checkin_tweewekelijks"}
    assert sorted(got_jn2) == [0, 1, 2]  # 23 Feb, 9 Mar fired; 23 Mar planned (each planned when the last fires)
    assert got_jn2[2] == at(2026, 3, 23)


# --------------------------------------------------------------------------- re-planning on events


def test_jobcoaching_werk_beeindigd_cancels_checkins_and_plans_the_signal(engine, clock):
    res = _start(engine, JN)
    tid = res.traject_id
    engine.sweep(now=at(2026, 1, 20, 9))  # kennismaking and checkin_wekelijks #0 fired; #1 planned
    assert steps(engine, tid)[("checkin_wekelijks", 0)].status == "uitgevoerd"
    assert steps(engine, tid)[("checkin_wekelijks", 1)].status == "gepland"

    clock.set(at(2026, 2, 20, 10))  # Friday
    engine.record_event(tid, "werk_beeindigd", actor=ACTOR, datum=date(2026, 2, 20))
    rows = steps(engine, tid)
    for key in [("checkin_wekelijks", 1), ("checkin_tweewekelijks", 0), ("checkin_maandelijks", 0)]:
        assert rows[key].status == "geannuleerd", key
        assert rows[key].reden == "vervallen door werk_beeindigd"
    assert rows[("checkin_wekelijks", 0)].status == "uitgevoerd"  # history stays
    # the rest of the trajectory is untouched
    p = planned(engine, tid)
    assert p[("nazorg_tweede_check", 0)] == at(2026, 4, 13)
    assert p[("evaluatie", 0)] == at(2026, 7, 13)
    assert p[("signaal_werk_beeindigd", 0)] == at(2026, 2, 23)  # Fri 20 Feb +1wd = Mon 23 Feb
    tr = engine.timeline(tid)["traject"]
    assert tr.feiten["werk_eind"] == "2026-02-20"
    assert tr.status == "actief"
    cancelled = {e.payload["stap"] for e in events(engine, tid, "stap_geannuleerd")}
    assert cancelled == {"checkin_wekelijks", "checkin_tweewekelijks", "checkin_maandelijks"}

    # recording it again with another date moves the still-planned signal (no second row)
    engine.record_event(tid, "werk_beeindigd", actor=ACTOR, datum=date(2026, 2, 27))
    signal = [k for k in steps(engine, tid) if k[0] == "signaal_werk_beeindigd"]
    assert signal == [("signaal_werk_beeindigd", 0)]
    assert planned(engine, tid)[("signaal_werk_beeindigd", 0)] == at(2026, 3, 2)  # Fri 27 Feb +1wd
    assert engine.timeline(tid)["traject"].feiten["werk_eind"] == "2026-02-27"
    assert len(events(engine, tid, "werk_beeindigd")) == 2

    # once fired it is history: a third recording does not re-plan it
    engine.sweep(now=at(2026, 3, 2, 9))
    engine.record_event(tid, "werk_beeindigd", actor=ACTOR, datum=date(2026, 3, 4))
    assert steps(engine, tid)[("signaal_werk_beeindigd", 0)].status == "uitgevoerd"
    assert steps(engine, tid)[("signaal_werk_beeindigd", 0)].due_at == at(2026, 3, 2)


def test_premie_op_werk_werk_beeindigd_ends_with_only_part_one(engine, clock):
    res = _start(engine, PW)
    tid = res.traject_id
    engine.sweep(now=at(2026, 1, 12, 9))  # part 1 proposed
    assert steps(engine, tid)[("premie_deel_1", 0)].uitkomst == "voorgesteld"
    clock.set(at(2026, 3, 2, 10))
    engine.record_event(tid, "werk_beeindigd", actor=ACTOR, datum=date(2026, 2, 27))
    tr = engine.timeline(tid)["traject"]
    assert (tr.status, tr.uitkomst, tr.eind_datum) == ("beeindigd", "alleen_deel_1", date(2026, 2, 27))
    assert tr.feiten["werk_eind"] == "2026-02-27"
    rows = steps(engine, tid)
    assert rows[("herinnering_controle", 0)].status == "geannuleerd"
    assert rows[("controle_werk", 0)].status == "geannuleerd"
    assert planned(engine, tid) == {}
    with pytest.raises(OngeldigeToestand):
        engine.record_event(tid, "werk_beeindigd", actor=ACTOR, datum=date(2026, 3, 1))


# --------------------------------------------------------------------------- outcome transitions


def _to_week9(engine, clock):
    res = _start(engine, IB)
    engine.sweep(now=at(2026, 3, 9, 9))
    clock.set(at(2026, 3, 9, 10))
    return res.traject_id, task_for(engine, res.traject_id, "besluit_week9")


def test_week9_verlengen_plans_three_extra_contacts_and_the_week12_evaluation(engine, clock):
    tid, task = _to_week9(engine, clock)
    assert task.status == "open"
    assert task.due_at == at(2026, 3, 12)  # termijn +3wd from Mon 9 Mar
    engine.complete_task(task.id, actor=ACTOR, uitkomst="verlengen")
    p = planned(engine, tid)
    assert p[("verlengd_contact", 0)] == at(2026, 3, 16)  # completed Mon 9 Mar, +1w
    assert p[("eindevaluatie_week12", 0)] == at(2026, 3, 30)  # +3w
    assert ("eindevaluatie", 0) not in steps(engine, tid)

    engine.sweep(now=at(2026, 4, 15, 9))
    rows = steps(engine, tid)
    contacts = sorted(k[1] for k in rows if k[0] == "verlengd_contact")
    assert contacts == [0, 1, 2]  # herhaal max 3
    assert all(rows[("verlengd_contact", i)].status == "uitgevoerd" for i in range(3))
    assert [rows[("verlengd_contact", i)].due_at for i in range(3)] == [at(2026, 3, 16), at(2026, 3, 23),
                                                                        at(2026, 3, 30)]
    assert rows[("eindevaluatie_week12", 0)].status == "uitgevoerd"
    assert task_for(engine, tid, "eindevaluatie_week12").status == "open"
    assert ("eindevaluatie", 0) not in rows


def test_week9_afronden_plans_only_the_final_evaluation(engine, clock):
    tid, task = _to_week9(engine, clock)
    engine.complete_task(task.id, actor=ACTOR, uitkomst="afronden")
    rows = steps(engine, tid)
    assert planned(engine, tid)[("eindevaluatie", 0)] == at(2026, 3, 11)  # Mon 9 Mar +2wd
    assert not any(k[0] in ("verlengd_contact", "eindevaluatie_week12") for k in rows)
    # its outcome becomes the trajectory outcome
    engine.sweep(now=at(2026, 3, 11, 9))
    engine.complete_task(task_for(engine, tid, "eindevaluatie").id, actor=ACTOR, uitkomst="werk")
    assert engine.timeline(tid)["traject"].uitkomst == "werk"


def test_task_outcome_must_be_one_of_the_steps_outcomes(engine, clock):
    tid, task = _to_week9(engine, clock)
    with pytest.raises(OngeldigeInvoer) as err:
        engine.complete_task(task.id, actor=ACTOR, uitkomst="misschien")
    assert err.value.veld == "uitkomst" and "afronden" in err.value.reden and "verlengen" in err.value.reden
    with pytest.raises(OngeldigeInvoer):
        engine.complete_task(task.id, actor=ACTOR)
    engine.complete_task(task.id, actor=ACTOR, uitkomst="afronden")
    with pytest.raises(OngeldigeToestand):
        engine.complete_task(task.id, actor=ACTOR, uitkomst="verlengen")
    intake = task_for(engine, tid, "intake")
    with pytest.raises(OngeldigeInvoer, match="geen uitkomsten"):
        engine.complete_task(intake.id, actor=ACTOR, uitkomst="werk")


# --------------------------------------------------------------------------- ending by hand


def test_ending_by_hand_cancels_what_is_left_and_lapses_open_tasks(engine, clock):
    res = _start(engine, IB)
    tid = res.traject_id
    engine.sweep(now=at(2026, 1, 7, 9))  # the intake task appears
    assert [t.stap for t in engine.open_tasks(tid)] == ["intake"]
    clock.set(at(2026, 1, 8, 11))

    with pytest.raises(OngeldigeInvoer, match="uitkomst"):
        engine.end(tid, actor=ACTOR, uitkomst="verdwenen", reden="x")
    with pytest.raises(OngeldigeInvoer, match="reden"):
        engine.end(tid, actor=ACTOR, uitkomst="uitgevallen", reden="  ")
    engine.end(tid, actor=ACTOR, uitkomst="uitgevallen", reden="verhuisd naar andere gemeente")

    tr = engine.timeline(tid)["traject"]
    assert (tr.status, tr.uitkomst, tr.eind_datum) == ("beeindigd", "uitgevallen", date(2026, 1, 8))
    rows = steps(engine, tid)
    assert rows[("intake", 0)].status == "uitgevoerd"
    left = {k: r for k, r in rows.items() if k != ("intake", 0)}
    assert len(left) == 5
    assert all(r.status == "geannuleerd" and r.reden == "traject beëindigd" for r in left.values())
    assert engine.open_tasks(tid) == []
    assert task_for(engine, tid, "intake").status == "vervallen"
    (ended,) = events(engine, tid, "traject_beeindigd")
    assert ended.payload == {"uitkomst": "uitgevallen", "reden": "verhuisd naar andere gemeente", "geannuleerd": 5}
    # nothing fires any more, nothing more can happen
    assert engine.sweep(now=at(2027, 1, 1, 9)).verwerkt == 0
    with pytest.raises(OngeldigeToestand):
        engine.end(tid, actor=ACTOR, uitkomst="uitgevallen", reden="nogmaals")
    with pytest.raises(OngeldigeToestand):
        engine.record_event(tid, "uitgevallen", actor=ACTOR)


def test_ending_event_ends_the_trajectory(engine, clock):
    res = _start(engine, IB)
    clock.set(at(2026, 1, 20, 10))
    engine.record_event(res.traject_id, "uitgevallen", actor=ACTOR)
    tr = engine.timeline(res.traject_id)["traject"]
    assert (tr.status, tr.uitkomst, tr.eind_datum) == ("beeindigd", "uitgevallen", date(2026, 1, 20))
    assert planned(engine, res.traject_id) == {}


# --------------------------------------------------------------------------- eligibility and input


def test_ineligible_start_is_refused_with_the_decisions_reasons(engine):
    cid = client(engine, bijstand_sinds=date(2026, 3, 1))  # not (yet) in bijstand
    with pytest.raises(NietToegelaten) as err:
        engine.start(IB, cid, {"variant": "richting_werk"}, actor=ACTOR)
    besluit = err.value.besluit
    assert besluit.uitkomst is False
    failed = [r.voorwaarde for r in besluit.redenen if not r.voldaan]
    assert failed == ["ontvangt bijstand op de peildatum"]
    assert count(engine, T) == 0 and count(engine, S) == 0 and count(engine, E) == 0

    with pytest.raises(NietToegelaten) as err:
        engine.start(IB, client(engine, "123456782"), {"variant": "op_vakantie"}, actor=ACTOR)
    assert [r.voorwaarde for r in err.value.besluit.redenen if not r.voldaan] == ["geldige variant"]


def test_premie_op_werk_refused_for_too_few_hours(engine):
    cid = client(engine)
    with pytest.raises(NietToegelaten) as err:
        engine.start(PW, cid, {"werk_start": "2026-01-12", "uren_per_week": 12, "contract_maanden": 12},
                     actor=ACTOR)
    failed = [r.voorwaarde for r in err.value.besluit.redenen if not r.voldaan]
    assert len(failed) == 1 and "uur per week" in failed[0]


def test_overrule_needs_permission_and_a_reason_which_is_recorded(engine):
    cid = client(engine, bijstand_sinds=date(2026, 3, 1))
    feiten = {"variant": "richting_werk"}
    with pytest.raises(NietToegelaten, match="teamleider"):
        engine.start(IB, cid, feiten, actor=ACTOR, overrule_reden="maatwerk", mag_overrulen=False)
    with pytest.raises(OngeldigeInvoer) as err:
        engine.start(IB, cid, feiten, actor="teamleider.bea", overrule_reden="   ", mag_overrulen=True)
    assert err.value.veld == "overrule_reden"
    assert count(engine, T) == 0

    res = engine.start(IB, cid, feiten, actor="teamleider.bea", overrule_reden="bijstand al toegekend per 1-1",
                       mag_overrulen=True)
    assert res.overruled is True and res.besluit.uitkomst is False and res.status == "actief"
    evs = events(engine, res.traject_id)
    assert [e.type for e in evs] == ["toegang_overruled", "traject_gestart"]
    assert evs[1].payload["besluit"]["uitkomst"] is False  # the refusal that was overruled
    assert evs[1].regel == "intensief_begeleiden.toegang" and evs[1].regel_versie
    assert evs[0].payload == {"reden": "bijstand al toegekend per 1-1"}
    assert evs[1].actor == "teamleider.bea"
    assert res.stappen == 6


def test_eligible_start_records_the_decision_not_an_overrule(engine):
    res = engine.start(IB, client(engine), FEITEN[IB], actor=ACTOR, overrule_reden="onnodig", mag_overrulen=True)
    assert res.overruled is False
    assert [e.type for e in events(engine, res.traject_id)] == ["traject_gestart"]


@pytest.mark.parametrize(
    ("instrument", "feiten", "veld"),
    [
        (IB, {}, "feit variant"),  # missing required fact
        (WW, {"ww_einddatum": "31-12-2026", "risico_langdurig": True}, "feit ww_einddatum"),  # not a date
        (WW, {"ww_einddatum": "2026-12-31", "risico_langdurig": "misschien"}, "feit risico_langdurig"),
        (PW, {"werk_start": "2026-01-12", "uren_per_week": "veel", "contract_maanden": 12}, "feit uren_per_week"),
        (PW, {"werk_start": "2026-01-12", "uren_per_week": 32, "contract_maanden": 6.5}, "feit contract_maanden"),
        (IB, {"variant": "richting_werk", "nationaliteit": "NL"}, "feit nationaliteit"),  # not a fact of it
        # a rule-level fact error: start after end of WW
        (WW, {"ww_einddatum": "2026-12-31", "ww_startdatum": "2027-01-31", "risico_langdurig": True},
         "feit ww_startdatum"),
    ],
)
def test_bad_facts_name_the_fact(engine, instrument, feiten, veld):
    cid = client(engine)
    with pytest.raises(OngeldigeInvoer) as err:
        engine.start(instrument, cid, feiten, actor=ACTOR)
    assert err.value.veld == veld, str(err.value)
    assert count(engine, T) == 0


def test_missing_client_fact_needed_by_the_rule_is_named(engine):
    cid = client(engine, bijstand_sinds=None)
    with pytest.raises(OngeldigeInvoer) as err:
        engine.start(IB, cid, FEITEN[IB], actor=ACTOR)
    assert err.value.veld == "feit bijstand_sinds"


def test_unknown_event_is_refused_naming_the_known_ones(engine):
    res = _start(engine, JN)
    with pytest.raises(OngeldigeInvoer) as err:
        engine.record_event(res.traject_id, "werk_gestopt", actor=ACTOR)
    assert err.value.veld == "event"
    assert "werk_gestopt" in str(err.value)
    assert "werk_beeindigd" in err.value.reden and "herinstroom" in err.value.reden
    assert [e.type for e in events(engine, res.traject_id)] == ["traject_gestart"]


def test_task_rows_do_not_exist_before_the_step_fires(engine):
    res = _start(engine, IB)
    assert count(engine, K, K.c.traject_id == res.traject_id) == 0
    engine.sweep(now=at(2026, 1, 7, 9))
    task = task_for(engine, res.traject_id, "intake")
    assert (task.status, task.rol, task.toegewezen_aan) == ("open", "coach", "coach.anna")
    assert task.due_at == at(2026, 1, 14)  # fired Wed 7 Jan, termijn +5wd
