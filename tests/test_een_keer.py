"""Exactly once as the business means it (P9): one running trajectory per client and instrument, one
premium per job, the repeat term from the engine's own history, payout keys that name what is paid for.

Every way in is tried: the engine, two concurrent starts (threads on PostgreSQL and SQLite), the CLI as a
coach would type it, the UWV feed, a plan step and Kansen in Kaart."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.uwv import verwerk
from tests.conftest import open_engine, reset_pg
from tests.helpers import ACTOR, FEITEN, at, client, count, events
from trajecten.taken import kansen
from trajecten.clienten import ontwikkelplan
from trajecten.geld import uitbetalingen as betalingen
from trajecten.kern.definitie import INSTRUMENTEN_DIR
from trajecten import StartVerzoek
from trajecten.basis.fouten import AlLopend, NietToegelaten, OngeldigeInvoer
from trajecten.opslag.models import Incident, Traject, Uitbetaling
from trajecten.basis.tijd import FixedClock

T, U = Traject.__table__, Uitbetaling.__table__
IB, PW = "intensief_begeleiden", "premie_op_werk"


def _trajecten(engine, cid: int, instrument: str) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(T.c.id, T.c.status).where(T.c.client_id == cid, T.c.instrument == instrument)
                            .order_by(T.c.id)).all()


def _tegelijk(fn, n: int) -> list:
    """``fn(i)`` for i in 0..n-1, each in its own thread, all at once; their results (an exception is a result)."""
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - a refusal is the result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _payouts(engine) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(U).order_by(U.c.id)).all()


# --------------------------------------------------------------------------- one running trajectory


def test_a_second_start_is_refused_naming_the_running_trajectory(engine):
    cid = client(engine)
    first = engine.start(IB, cid, FEITEN[IB], actor=ACTOR)
    with pytest.raises(AlLopend) as exc:
        engine.start(IB, cid, FEITEN[IB], actor=ACTOR)
    assert exc.value.traject_id == first.traject_id and str(first.traject_id) in str(exc.value)
    with pytest.raises(AlLopend):  # the preview (Controleer) says so too
        engine.toegang(IB, cid, FEITEN[IB])
    assert len(_trajecten(engine, cid, IB)) == 1
    # once it has ended, a new one may start
    engine.end(first.traject_id, actor=ACTOR, uitkomst="uitgevallen", reden="verhuisd")
    second = engine.start(IB, cid, FEITEN[IB], actor=ACTOR)
    assert [r.id for r in _trajecten(engine, cid, IB)] == [first.traject_id, second.traject_id]


def test_a_batch_with_two_requests_for_one_client_starts_one(engine):
    cid, other = client(engine), client(engine, "123456782")
    res = engine.start_many(IB, [StartVerzoek(cid, FEITEN[IB]), StartVerzoek(other, FEITEN[IB]),
                                 StartVerzoek(cid, FEITEN[IB])], actor=ACTOR)
    assert isinstance(res[2], AlLopend) and res[2].traject_id == res[0].traject_id
    assert len(_trajecten(engine, cid, IB)) == 1 and len(_trajecten(engine, other, IB)) == 1


def test_an_instrument_that_allows_more_starts_parallel_trajectories(engine):
    """businesscase: per_client: meerdere (each obstacle its own case); the rule pays once per case."""
    cid = engine.add_client("111222333", bijstand_sinds=date(2020, 1, 1), gebied="Oost")
    feiten = {"bedrag": "800.00", "omschrijving": "auto voor de vroege dienst in Assen",
              "motivering": "zonder auto geen werk; het OV rijdt nog niet om half zes",
              "leverancier_naam": "Garage Noord", "leverancier_iban": "NL91ABNA0417164300"}
    a = engine.start("businesscase", cid, feiten, actor=ACTOR).traject_id
    b = engine.start("businesscase", cid, {**feiten, "omschrijving": "werkschoenen"}, actor=ACTOR).traject_id
    engine.sweep()
    assert sorted(p.sleutel for p in _payouts(engine)) == sorted(
        [f"c{cid}/businesscase/1/traject={a}", f"c{cid}/businesscase/1/traject={b}"])


def _concurrent_starts(url: str, clock, n: int = 8) -> tuple[list, int, int]:
    """``n`` threads, each with its own engine, start intensief begeleiden for one client at one moment."""
    engines = [open_engine(url, clock) for _ in range(n)]  # opened (and migrated) one after the other
    cid = client(engines[0])
    barrier = threading.Barrier(n, timeout=60)

    def start(i: int) -> int:
        barrier.wait()
        return engines[i].start(IB, cid, FEITEN[IB], actor=f"coach.{i}").traject_id

    results = _tegelijk(start, n)
    for eng in engines:
        eng.db.dispose()
    check = open_engine(url, clock)
    try:
        rows = _trajecten(check, cid, IB)
    finally:
        check.db.dispose()
    return results, len(rows), rows[0].id


@pytest.mark.postgres
def test_concurrent_starts_on_postgresql_yield_exactly_one(pg_url, clock):
    reset_pg(pg_url)
    results, n, tid = _concurrent_starts(pg_url, clock)
    assert n == 1
    assert [r for r in results if isinstance(r, int)] == [tid]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(refused) == 7 and all(isinstance(r, AlLopend) and r.traject_id == tid for r in refused)


def test_concurrent_starts_on_sqlite_yield_exactly_one(sqlite_url, clock):
    results, n, tid = _concurrent_starts(sqlite_url, clock)
    assert n == 1 and [r for r in results if isinstance(r, int)] == [tid]
    assert all(isinstance(r, AlLopend) for r in results if not isinstance(r, int))


def test_the_database_refuses_a_second_running_row_whatever_writes_it(engine):
    """The partial unique index stands behind the engine's check (a writer that skipped it)."""
    cid = client(engine)
    engine.start(IB, cid, FEITEN[IB], actor=ACTOR)
    row = {"client_id": cid, "instrument": IB, "definitie_versie": 1, "status": "actief", "start_datum": date(2026, 1, 5),
           "feiten": {}, "gestart_door": ACTOR, "aangemaakt_op": at(2026, 1, 5), "een_lopend": True}
    with pytest.raises(sa.exc.IntegrityError):
        with engine.db.begin() as conn:
            conn.execute(T.insert().values(**row))
    with engine.db.begin() as conn:  # an ended one, or one started under "meerdere", is no conflict
        conn.execute(T.insert().values(**{**row, "status": "beeindigd"}))
        conn.execute(T.insert().values(**{**row, "een_lopend": False}))


def test_the_feed_a_plan_step_and_kansen_in_kaart_respect_the_rule(engine):
    # the UWV feed: a client with a running preventie trajectory started by a person gets none from the feed
    rec = {"uwv_referentie": "UWV-1", "bsn": "111222333", "geboortedatum": "1975-04-12", "postcode": "9713 AB",
           "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-05-01", "risico_langdurig": True}
    cid = engine.add_client("111222333", geboortedatum=date(1975, 4, 12), postcode="9713 AB",
                            bijstand_sinds=None, coach="coach.a")
    by_hand = engine.start("ww_preventie", cid, {"ww_einddatum": "2026-05-01", "risico_langdurig": True},
                           actor=ACTOR).traject_id
    import json
    s = verwerk(engine, [(1, rec, json.dumps(rec))], "test")
    assert (s.geaccepteerd, s.gestart, s.al_lopend) == (1, 0, 1)
    assert [r.id for r in _trajecten(engine, cid, "ww_preventie")] == [by_hand]

    # a plan step: the same refusal, and the plan keeps no link
    plan_cid = client(engine, "123456782")
    engine.start(IB, plan_cid, FEITEN[IB], actor=ACTOR)
    ontwikkelplan.opslaan(engine, plan_cid, {"doelen": "werk", "afspraken_client": "", "afspraken_coach": "",
                                             "stappen": [{"omschrijving": "intensief", "instrument": IB}]},
                          door=ACTOR, reden="plan")
    with pytest.raises(AlLopend):
        ontwikkelplan.start_traject(engine, plan_cid, "s1", IB, FEITEN[IB], actor=ACTOR)
    assert len(_trajecten(engine, plan_cid, IB)) == 1
    assert ontwikkelplan.stap(ontwikkelplan.plan(engine, plan_cid)["inhoud"], "s1").get("traject_id") is None



def test_two_kansen_in_kaart_runs_at_the_same_moment_start_one_per_client(db_url, clock):
    """Both runs read the same candidates before either starts (a barrier in front of the start): the
    engine's rule, not the job's own look-up, keeps it at one running trajectory per client."""
    engines = [open_engine(db_url, clock) for _ in range(2)]
    clients = [client(engines[0], b) for b in ("111222333", "123456782", "100000009")]
    barrier = threading.Barrier(2, timeout=60)
    for eng in engines:
        real = eng.start_many

        def after_both_read(*args, _real=real, **kwargs):
            barrier.wait()
            return _real(*args, **kwargs)

        eng.start_many = after_both_read

    results = _tegelijk(lambda i: kansen.bijwerken(engines[i]), 2)
    try:
        assert [r["kandidaten"] for r in results] == [3, 3]
        assert sorted((r["gestart"], r["al_lopend"]) for r in results) == [(0, 3), (3, 0)]
        for c in clients:
            assert len(_trajecten(engines[0], c, "kansen_in_kaart")) == 1
    finally:
        for eng in engines:
            eng.db.dispose()


# --------------------------------------------------------------------------- one premium per job, repeat term


def test_a_premium_granted_in_2024_refuses_one_in_2026_from_the_engines_history(db_url):
    clock = FixedClock(at(2024, 3, 4, 9))
    eng = open_engine(db_url, clock)
    try:
        cid = client(eng)
        first = eng.start(PW, cid, {"werk_start": "2024-03-04", "uren_per_week": 24, "contract_maanden": 12},
                          actor=ACTOR).traject_id
        eng.sweep(now=at(2024, 3, 4, 9))  # part 1 proposed: a premium granted
        eng.record_event(first, "werk_beeindigd", actor=ACTOR, datum=date(2024, 6, 1))  # the job ended
        clock.set(at(2026, 3, 2, 9))
        with pytest.raises(NietToegelaten) as exc:  # no typed fact says so: the engine's own records do
            eng.start(PW, cid, {"werk_start": "2026-03-02", "uren_per_week": 24, "contract_maanden": 12}, actor=ACTOR)
        (reden,) = [r for r in exc.value.besluit.redenen if r.voorwaarde == "geen premie in de herhaaltermijn"]
        assert not reden.voldaan
        assert reden.waarde == f"premie op werk deel 1 van 2024-03-04, traject {first}"  # date and trajectory
        # a premium that was rejected was not granted: it does not count
        (p,) = _payouts(eng)
        betalingen.wijs_af(eng, p.id, door="teamleider.b", reden="geen loonstrook")
        ok = eng.start(PW, cid, {"werk_start": "2026-03-02", "uren_per_week": 24, "contract_maanden": 12}, actor=ACTOR)
        assert ok.besluit.uitkomst is True
    finally:
        eng.db.dispose()


def test_an_overruled_second_premium_for_the_same_job_becomes_an_incident_not_a_payout(engine):
    cid = client(engine)
    first = engine.start(PW, cid, FEITEN[PW], actor=ACTOR).traject_id
    engine.sweep(now=at(2026, 1, 12, 9))
    engine.end(first, actor=ACTOR, uitkomst="niet_toegekend", reden="per ongeluk beëindigd")
    with pytest.raises(NietToegelaten):  # the same job: refused by the history
        engine.start(PW, cid, FEITEN[PW], actor=ACTOR)
    second = engine.start(PW, cid, FEITEN[PW], actor="teamleider.a", overrule_reden="toch", mag_overrulen=True)
    res = engine.sweep(now=at(2026, 1, 12, 10))
    assert (res.betalingen_voorgesteld, res.incidenten) == (0, 1)  # at once: retrying cannot help
    assert len(_payouts(engine)) == 1
    with engine.db.connect() as conn:
        inc = conn.execute(sa.select(Incident.__table__)).one()
    assert inc.traject_id == second.traject_id and "DubbeleUitbetaling" in inc.fout and f"traject {first}" in inc.fout


def test_a_voucher_once_per_employment(engine):
    feiten = {"werkgever_naam": "Bakkerij Jansen BV", "werkgever_iban": "NL91ABNA0417164300",
              "werk_start": "2026-01-12", "contract_eind": "2026-07-11", "uren_per_week": "24", "cofinanciering": True}
    cid = client(engine)
    first = engine.start("vouchers", cid, feiten, actor=ACTOR).traject_id
    engine.sweep(now=at(2026, 1, 12, 9))
    engine.end(first, actor=ACTOR, uitkomst="alleen_deel_1", reden="werk gestopt")
    with pytest.raises(NietToegelaten) as exc:
        engine.start("vouchers", cid, feiten, actor=ACTOR)
    (reden,) = [r for r in exc.value.besluit.redenen if not r.voldaan]
    assert reden.voorwaarde == "één voucher per dienstverband" and f"traject {first}" in reden.waarde
    # a new employment (another work start) may get one
    assert engine.start("vouchers", cid, {**feiten, "werk_start": "2026-03-02"}, actor=ACTOR).besluit.uitkomst


def test_the_approval_event_is_the_engines_not_a_persons(engine):
    tid = engine.start(PW, client(engine), FEITEN[PW], actor=ACTOR).traject_id
    with pytest.raises(OngeldigeInvoer, match="legt de engine zelf vast"):
        engine.record_event(tid, "deel_2_goedgekeurd", actor=ACTOR)
    assert not events(engine, tid, "deel_2_goedgekeurd")


# --------------------------------------------------------------------------- the CLI, as a coach types it


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRAJECTEN_DATABASE_URL": f"sqlite:///{db}", "TRAJECTEN_NU": "2026-03-02T09:00:00+01:00"}
    return subprocess.run([sys.executable, "-m", "trajecten.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_scenario_refuses_the_second_start_and_the_sweep_proposes_one_payout(tmp_path):
    db = tmp_path / "cli.db"
    r = _cli(db, "client", "toevoegen", "--bsn", "111222333", "--naam", "A. de Vries", "--geboortedatum",
             "1980-01-01", "--postcode", "9713 AB", "--bijstand-sinds", "2015-01-01")
    assert r.returncode == 0, r.stderr
    start = ("start", PW, "--client", "1", "--fact", "werk_start=2026-03-02", "--fact", "uren_per_week=20",
             "--fact", "contract_maanden=12")
    first = _cli(db, *start)
    assert first.returncode == 0 and "traject 1 gestart" in first.stdout, first.stderr
    second = _cli(db, *start)
    assert second.returncode == 1
    assert "al een lopend traject (1)" in second.stderr
    assert _cli(db, "sweep").returncode == 0
    eng = open_engine(f"sqlite:///{db}", FixedClock(at(2026, 3, 2, 9)))
    try:
        assert [(p.traject_id, p.deel, str(p.bedrag)) for p in _payouts(eng)] == [(1, 1, "300.00")]
        assert count(eng, T) == 1
    finally:
        eng.db.dispose()


def test_instrument_files_declare_per_client_only_as_the_documents_allow():
    """een_lopend everywhere but where a file says why more may run (with its te_bevestigen sentence)."""
    from trajecten.kern.definitie import load_dir

    meerdere = {n for n, (d, _) in load_dir(INSTRUMENTEN_DIR).items() if d.per_client == "meerdere"}
    assert meerdere == {"businesscase"}
    assert "te_bevestigen" in (INSTRUMENTEN_DIR / "businesscase.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- one payout per key, however asked


def _premie_meerdere(tmp_path) -> Path:
    """An instrument folder where Premie op Werk allows parallel trajectories (a test-only file): the only way
    two trajectories can ask for the same premium at once, so the payout key is what has to stop it."""
    folder = tmp_path / "instrumenten"
    folder.mkdir()
    text = (INSTRUMENTEN_DIR / "premie_op_werk.yaml").read_text(encoding="utf-8")
    (folder / "premie_op_werk.yaml").write_text(text.replace("regel: premie_op_werk.toegang\n",
                                                             "regel: premie_op_werk.toegang\nper_client: meerdere\n"))
    return folder


def test_two_trajectories_asking_for_one_premium_in_one_sweep_pay_once(db_url, clock, tmp_path):
    eng = open_engine(db_url, clock, instrument_dir=_premie_meerdere(tmp_path))
    try:
        cid = client(eng)
        a = eng.start(PW, cid, FEITEN[PW], actor=ACTOR).traject_id
        b = eng.start(PW, cid, FEITEN[PW], actor=ACTOR).traject_id
        res = eng.sweep(now=at(2026, 1, 12, 9))
        assert (res.betalingen_voorgesteld, res.incidenten) == (1, 1)
        (p,) = _payouts(eng)
        assert (p.traject_id, p.sleutel) == (a, f"c{cid}/premie_op_werk/1/werk_start=2026-01-12")
        with eng.db.connect() as conn:
            assert conn.execute(sa.select(Incident.__table__.c.traject_id)).scalars().all() == [b]
    finally:
        eng.db.dispose()


class _Samen:
    """The real rules, but each sweeper's first payout decision waits until both sweepers are there: both
    have looked up the existing payout keys before either writes (the race the unique key must settle)."""

    def __init__(self, inner, barrier):
        self.inner, self.barrier, self.seen, self.armed = inner, barrier, set(), False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def decide(self, regel, feiten, peildatum):
        me = threading.get_ident()
        if self.armed and me not in self.seen:
            self.seen.add(me)
            self.barrier.wait()
        return self.inner.decide(regel, feiten, peildatum)


@pytest.mark.postgres
def test_two_sweepers_asking_for_one_premium_at_once_pay_once(pg_url, clock, tmp_path):
    from trajecten.kern.regelhaak import RegelsHook

    reset_pg(pg_url)
    folder = _premie_meerdere(tmp_path)
    hook = _Samen(RegelsHook(), threading.Barrier(2, timeout=60))
    engines = [open_engine(pg_url, clock, instrument_dir=folder, rules=hook) for _ in range(2)]
    cid = client(engines[0])
    for _ in range(2):
        engines[0].start(PW, cid, FEITEN[PW], actor=ACTOR)
    hook.armed = True
    # one step each (SKIP LOCKED)
    results = _tegelijk(lambda i: engines[i].sweep(now=at(2026, 1, 12, 9), batch_size=1), 2)
    try:
        assert sum(r.betalingen_voorgesteld for r in results) == 1
        assert sum(r.incidenten for r in results) == 1
        assert len(_payouts(engines[0])) == 1 and count(engines[0], Incident.__table__) == 1
    finally:
        for eng in engines:
            eng.db.dispose()


def test_a_client_added_without_birth_date_gets_it_with_client_wijzig_then_premie_op_werk_starts(tmp_path):
    """The reviewer's path: `client toevoegen` without --geboortedatum, then the premium's rule needs it."""
    db = tmp_path / "cli.db"
    assert _cli(db, "client", "toevoegen", "--bsn", "111222333", "--naam", "A. de Vries", "--postcode", "9713 AB",
                "--bijstand-sinds", "2015-01-01").returncode == 0
    start = ("start", PW, "--client", "1", "--fact", "werk_start=2026-03-02", "--fact", "uren_per_week=20",
             "--fact", "contract_maanden=12")
    refused = _cli(db, *start)
    assert refused.returncode == 2 and "geboortedatum" in refused.stderr
    assert _cli(db, "client", "wijzig", "1", "--geboortedatum", "2999-01-01").returncode == 2  # in the future
    r = _cli(db, "client", "wijzig", "1", "--geboortedatum", "1980-01-01", "--reden", "ontbrak")
    assert r.returncode == 0, r.stderr
    assert _cli(db, *start).returncode == 0


def test_a_payout_whose_subject_cannot_be_read_fails_its_step_not_the_batch(engine):
    """A premium trajectory without a readable work start (a broken fact in the database) becomes that step's
    retry and incident; the other payouts of the same batch are proposed."""
    good = engine.start(PW, client(engine), FEITEN[PW], actor=ACTOR).traject_id
    bad = engine.start(PW, client(engine, "123456782"), FEITEN[PW], actor=ACTOR).traject_id
    with engine.db.begin() as conn:
        conn.execute(T.update().where(T.c.id == bad).values(feiten={**FEITEN[PW], "werk_start": "12-01-2026"}))
    res = engine.sweep(now=at(2026, 1, 12, 9))
    assert (res.betalingen_voorgesteld, res.mislukt) == (1, 1)
    assert [p.traject_id for p in _payouts(engine)] == [good]
