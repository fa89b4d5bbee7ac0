"""The monthly monitoring report (``trajecten rapportage maand``, ``jobs.maandrapportage``): per instrument
per month started, active, ended by outcome, money paid, progress against the yearly target; herinstroom
after uitstroom door werk within 6 and 12 months at its boundaries; report.html with charts and
report.csv; and no personal data in either. Runs on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.helpers import FEITEN, at, bsns
from tests.privacy import voeg_toe
from trajecten.taken import jobs
from trajecten.rapportage import maandrapport as rapportage
from trajecten.geld import uitbetalingen
from trajecten.cli import app
from trajecten.opslag.models import Client, Uitbetaling
from trajecten.clienten.uitstroom import bijstand_start_vastleggen

IB, PW = "intensief_begeleiden", "premie_op_werk"
# A caseload whose personal data the report must not contain: names, BSNs, postcodes, ids, IBANs, coach.
NAMEN = ["Zwaantje Kruidhof", "Berend Oosterwold", "Geertruida Mellema", "Harm Tjaarda", "Ytje Bouwsma",
         "Folkert Hazenberg", "Trijntje Alberda"]
POSTCODES = ["9713ZK", "9722GH", "9726AB", "9731PL", "9711CD", "9716XY", "9725KL"]
IDS = [48213, 59127, 73391, 61954, 80437, 55309, 67181]
IBANS = ["NL91ABNA0417164300", "NL20INGB0001234567"]
COACH = "coach.zeldzaam"


def _caseload(engine) -> dict[str, int]:
    C = Client.__table__
    now = engine.clock.now()
    rows = [{"id": i, "bsn": b, "naam": n, "postcode": p, "gebied": "", "coach": COACH, "geboortedatum": date(1979, 4, 2),
             "bijstand_sinds": date(2019, 2, 1), "iban": IBANS[k % 2], "aangemaakt_op": now}
            for k, (i, b, n, p) in enumerate(zip(IDS, bsns(len(IDS), seed=91), NAMEN, POSTCODES))]
    with engine.db.begin() as conn:
        conn.execute(C.insert(), rows)
    return dict(zip("ABCDEFG", IDS))


def _end(engine, clock, tid, d: date, uitkomst: str):
    clock.set(at(d.year, d.month, d.day, 11, 0))
    engine.end(tid, actor=COACH, uitkomst=uitkomst, reden="afgerond")


def _premie_paid(engine, clock, cid, d: date):
    clock.set(at(d.year, d.month, d.day, 9, 0))
    tid = engine.start(PW, cid, {"werk_start": d.isoformat(), "uren_per_week": "24", "contract_maanden": 12},
                       actor=COACH).traject_id
    engine.sweep(at(d.year, d.month, d.day, 10, 0))
    with engine.db.connect() as conn:
        (pid,) = conn.execute(sa.select(Uitbetaling.__table__.c.id)
                              .where(Uitbetaling.__table__.c.traject_id == tid)).scalars()
    uitbetalingen.keur_goed(engine, pid, door="teamleider.b")
    clock.set(at(d.year, d.month, 15, 9, 0))
    assert uitbetalingen.exporteer(engine, door="financien.c").aantal == 1


@pytest.fixture
def jaar_2026(engine, clock):
    """A's and B's IB ended with werk in March, C's in April; A came back in June, B in November.
    D started in October, E started and ended (geen doorbraak) in October. F's premium part 1 was
    exported in October, G's in September."""
    c = _caseload(engine)
    t = {k: engine.start(IB, c[k], FEITEN[IB], actor=COACH).traject_id for k in "AB"}
    clock.set(at(2026, 2, 2, 9, 0))
    t["C"] = engine.start(IB, c["C"], FEITEN[IB], actor=COACH).traject_id
    _end(engine, clock, t["A"], date(2026, 3, 10), "werk")
    _end(engine, clock, t["B"], date(2026, 3, 20), "werk")
    _end(engine, clock, t["C"], date(2026, 4, 15), "werk")
    clock.set(at(2026, 6, 1, 9, 0))
    bijstand_start_vastleggen(engine, c["A"], date(2026, 6, 1), actor=COACH)
    _premie_paid(engine, clock, c["G"], date(2026, 9, 1))
    _premie_paid(engine, clock, c["F"], date(2026, 10, 1))
    clock.set(at(2026, 10, 5, 9, 0))
    engine.start(IB, c["D"], FEITEN[IB], actor=COACH)
    clock.set(at(2026, 10, 12, 9, 0))
    t["E"] = engine.start(IB, c["E"], FEITEN[IB], actor=COACH).traject_id
    _end(engine, clock, t["E"], date(2026, 10, 20), "geen_doorbraak")
    clock.set(at(2026, 11, 1, 9, 0))
    bijstand_start_vastleggen(engine, c["B"], date(2026, 11, 1), actor=COACH)
    clock.set(at(2026, 11, 2, 8, 0))
    return c


def _csv(text: str) -> dict[tuple[str, str, str, str], str]:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["onderdeel", "instrument", "periode", "kengetal", "waarde"]
    return {tuple(r[:4]): r[4] for r in rows[1:]}


def test_month_figures_per_instrument_money_and_target(engine, clock, jaar_2026):
    r = rapportage.maak(engine, 2026, 10)
    ib = next(x for x in r.instrumenten if x.m.instrument == IB)
    assert (ib.m.gestart, ib.m.actief_einde_maand, ib.m.afgerond) == (2, 1, 1)
    assert ib.m.uitkomsten == {"geen_doorbraak": 1}
    assert (ib.m.gestart_dit_jaar, ib.m.jaardoel, ib.naar_rato) == (5, 120, 100)
    assert [p[1] for p in ib.per_maand] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]  # started per month
    pw = next(x for x in r.instrumenten if x.m.instrument == PW)
    # F's part 1: proposed, approved and exported (batch made 15 Oct) in October; not paid yet
    assert pw.m.geld == {"voorgesteld": (1, Decimal("300.00")), "goedgekeurd": (1, Decimal("300.00")),
                         "afgewezen": (0, Decimal("0.00")), "geexporteerd": (1, Decimal("300.00")),
                         "betaald": (0, Decimal("0.00"))}
    assert isinstance(pw.m.geld["geexporteerd"].bedrag, Decimal)
    assert pw.dit_jaar["geexporteerd"] == (2, Decimal("600.00")) and pw.betaald_dit_jaar == Decimal("0.00")
    assert [p[3]["geexporteerd"].bedrag for p in pw.per_maand][8:] == [Decimal("300.00"), Decimal("300.00")]
    sep = rapportage.maak(engine, 2026, 9)
    pw_sep = next(x for x in sep.instrumenten if x.m.instrument == PW)
    assert pw_sep.dit_jaar["geexporteerd"].bedrag == Decimal("300.00")
    # the bank confirms G's September batch at 00:30 on 3 November (still 2 November in UTC): paid in November
    with engine.db.connect() as conn:
        (batch,) = conn.execute(sa.select(Uitbetaling.__table__.c.batch_id).distinct().where(
            Uitbetaling.__table__.c.opeisbaar_op < date(2026, 10, 1))).scalars()
    clock.set(at(2026, 11, 3, 0, 30))
    assert uitbetalingen.markeer_betaald(engine, batch, door="financien.c") == 1
    nov = next(x for x in rapportage.maak(engine, 2026, 11).instrumenten if x.m.instrument == PW)
    assert nov.m.geld["betaald"] == (1, Decimal("300.00")) and nov.betaald_dit_jaar == Decimal("300.00")
    assert nov.m.geld["geexporteerd"] == (0, Decimal("0.00")) and nov.dit_jaar["geexporteerd"].aantal == 2
    assert next(x for x in rapportage.maak(engine, 2026, 10).instrumenten if x.m.instrument == PW).m.geld == pw.m.geld


def test_herinstroom_within_six_and_twelve_months(engine, jaar_2026):
    r = rapportage.maak(engine, 2026, 10)
    h6, h12 = r.herinstroom
    assert (h6.van, h6.tot, h6.uitgestroomd, h6.terug, h6.pct) == (date(2025, 5, 1), date(2026, 4, 30), 3, 1, 33.3)
    assert h6.per_instrument == {IB: [3, 1]}
    assert (h12.van, h12.tot, h12.uitgestroomd) == (date(2024, 11, 1), date(2025, 10, 31), 0)
    cohort = {label: (n, t6, t12) for label, n, t6, t12 in r.cohorten}
    assert len(r.cohorten) == 24 and r.cohorten[-1][0] == "2026-10"
    assert cohort["2026-03"] == (2, 1, None)  # 12 months not over yet
    assert cohort["2026-04"] == (1, 0, None)  # its 6 months ended on 30 October
    assert cohort["2026-05"] == (0, None, None)
    later = rapportage.maak(engine, 2027, 3)  # B came back on 1 Nov: within 12 months, not within 6
    h6, h12 = later.herinstroom
    assert (h12.van, h12.tot, h12.uitgestroomd, h12.terug) == (date(2025, 4, 1), date(2026, 3, 31), 2, 2)
    assert (h6.uitgestroomd, h6.terug) == (3, 1)


def test_herinstroom_boundaries(engine, clock):
    """Back exactly 6 calendar months after uitstroom counts; a day later only within 12; a bijstand start
    on the uitstroom day itself is not a return."""
    c = _caseload(engine)
    t = {k: engine.start(IB, c[k], FEITEN[IB], actor=COACH).traject_id for k in "ABCD"}
    for k in "ABCD":
        _end(engine, clock, t[k], date(2026, 1, 15), "werk")
    bijstand_start_vastleggen(engine, c["C"], date(2026, 1, 15), actor=COACH)  # the same day
    for k, d in (("A", date(2026, 7, 15)), ("B", date(2026, 7, 16)), ("D", date(2027, 1, 16))):
        clock.set(at(d.year, d.month, d.day, 9, 0))
        bijstand_start_vastleggen(engine, c[k], d, actor=COACH)
    h6, _ = rapportage.maak(engine, 2026, 7).herinstroom
    assert (h6.uitgestroomd, h6.terug) == (4, 1)  # A only
    _, h12 = rapportage.maak(engine, 2027, 1).herinstroom
    assert (h12.van, h12.tot) == (date(2025, 2, 1), date(2026, 1, 31))
    assert (h12.uitgestroomd, h12.terug) == (4, 2)  # A and B; D came back a day after 12 months


def test_report_files_have_charts_tables_definitions_and_no_personal_data(engine, jaar_2026, tmp_path, db_url):
    r = CliRunner().invoke(app, ["--database-url", db_url, "rapportage", "maand", "--maand", "2026-10",
                                 "--uit", str(tmp_path / "okt")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "okt" / "report.html").read_text(encoding="utf-8")
    text = (tmp_path / "okt" / "report.csv").read_text(encoding="utf-8")
    fig = _csv(text)
    assert fig[("instrument", IB, "2026-10", "gestart")] == "2"
    assert fig[("instrument", IB, "2026-10", "afgerond_geen_doorbraak")] == "1"
    assert fig[("instrument", PW, "2026-10", "uitbetalingen_geexporteerd")] == "1"
    assert fig[("instrument", PW, "2026-10", "bedrag_geexporteerd")] == "300.00"
    assert fig[("instrument", PW, "2026-10", "bedrag_geexporteerd_dit_jaar")] == "600.00"
    assert fig[("instrument", PW, "2026-10", "bedrag_betaald")] == "0.00"  # exported, not confirmed by the bank
    assert fig[("instrument", PW, "2026-10", "bedrag_betaald_dit_jaar")] == "0.00"
    assert fig[("instrument", "kansen_in_kaart", "2026-10", "jaardoel")] == ""  # geen jaardoel
    assert fig[("herinstroom", "alle", "2025-05-01..2026-04-30", "terug_binnen_6m")] == "1"
    assert fig[("cohort", "alle", "2026-03", "terug_binnen_12m")] == ""
    assert html.count("<svg") >= 6 and 'role="img"' in html and "<script" not in html
    assert "Herinstroom na uitstroom door werk" in html and "uitstroom_uitkomsten" in html  # the definition
    assert "€ 300,00" in html and "Kansen in Kaart" in html and "Geëxporteerd" in html and "geen jaardoel" in html
    with engine.db.connect() as conn:
        bsn_list = conn.execute(sa.select(Client.__table__.c.bsn)).scalars().all()
    assert len(bsn_list) == len(IDS)
    for name, output in (("report.html", html), ("report.csv", text)):
        voeg_toe("maandrapportage", output, name)  # also the session-wide scan for any 11-test number
        for secret in [*NAMEN, *bsn_list, *POSTCODES, *IBANS, COACH, "teamleider.b", "financien.c"]:
            assert secret not in output, secret
        for pc in POSTCODES:
            assert f"{pc[:4]} {pc[4:]}" not in output
        numbers = set(re.findall(r"\d+", output))
        assert not numbers & {str(i) for i in IDS}


def test_maandrapportage_job_writes_the_report_and_the_cli_refuses_a_bad_month(engine, jaar_2026, tmp_path, db_url):
    out = jobs.maandrapportage(engine, 2026, 10, map_=tmp_path)
    assert out["rapport"] == "maandrapportage-2026-10"
    assert out["herinstroom"] == {"6m": {"uitgestroomd": 3, "terug": 1}, "12m": {"uitgestroomd": 0, "terug": 0}}
    assert (tmp_path / "maandrapportage-2026-10" / "report.html").exists()
    assert (tmp_path / "maandrapportage-2026-10" / "report.csv").exists()
    assert (tmp_path / "maandrapportage-2026-10.csv").exists()  # the earlier outputs stay
    for bad in ("2026-13", "oktober"):
        r = CliRunner().invoke(app, ["--database-url", db_url, "rapportage", "maand", "--maand", bad,
                                     "--uit", str(tmp_path / "x")])
        assert r.exit_code == 2 and "--maand" in r.output
    assert not (tmp_path / "x").exists()


def test_report_shows_who_went_up_stayed_or_down_on_the_ladder(engine, jaar_2026):
    """P8: the monthly report carries the ontwikkelladder counts per instrument (month and year so far)."""
    from trajecten.clienten.ladder import trede_vastleggen

    c = jaar_2026
    trede_vastleggen(engine, c["D"], 2, door=COACH, datum=date(2026, 10, 1))  # before D's start (10-05)
    trede_vastleggen(engine, c["D"], 3, door=COACH, datum=date(2026, 10, 25))  # up
    trede_vastleggen(engine, c["E"], 2, door=COACH, datum=date(2026, 10, 1))  # before E's start (10-12)
    trede_vastleggen(engine, c["E"], 2, door=COACH, datum=date(2026, 10, 19))  # stayed
    r = rapportage.maak(engine, 2026, 10)
    rows = _csv(rapportage.csv_tekst(r))
    got = {k: rows[("ontwikkelladder", IB, "2026-10", k)] for k in ("deelnemers", "omhoog", "gelijk", "omlaag")}
    assert got == {"deelnemers": "2", "omhoog": "1", "gelijk": "1", "omlaag": "0"}
    assert rows[("ontwikkelladder", IB, "2026-01..2026-10", "omhoog")] == "1"
    assert "Ontwikkelladder" in rapportage.html_tekst(r)
