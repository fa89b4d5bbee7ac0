"""P9, money figures that agree: the monitoring page/API and the monthly report count payouts with one
function (``monitoring.geldcijfers``): per instrument and per status voorgesteld / goedgekeurd / afgewezen /
geëxporteerd / betaald, the number and the exact amount, each in the month (Europe/Amsterdam) the payout
reached that status. On the demo caseload (a real SQLite file) with payouts approved, rejected, exported
and paid, both must equal a count made here straight from the ``uitbetaling`` and ``betaalbatch`` rows.
Also: a yearly target of 0 shows as "geen jaardoel" (no progress chart), and an instrument without success
outcomes has no success percentage."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tests.helpers import at
from tests.test_web_api import USERS, WW, login
from trajecten.rapportage import maandrapport as rapportage
from trajecten.geld import uitbetalingen
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.opslag.models import Betaalbatch, Gebruiker, Traject, Uitbetaling
from trajecten.rapportage.monitoring import STATUSSEN, euro, maandcijfers
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import create_app

U, B, T = Uitbetaling.__table__, Betaalbatch.__table__, Traject.__table__
VANDAAG = date(2026, 11, 16)  # the demo runs three months up to this day
KIK = "kansen_in_kaart"  # jaardoel.aantal 0 and no succes_uitkomsten
A27 = "activeren_27plus"  # jaardoel.aantal 0, with succes_uitkomsten
KEURDER = "teamleider.geld"  # neither proposer nor starter of any demo payout (four eyes)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo caseload, then: approve two thirds of the proposed payouts and reject one (16 Nov), export
    at 23:30 on 30 Nov and have the bank confirm that batch at 00:30 on 1 Dec (30 Nov in UTC); approve the
    rest on 1 Dec and export them on 2 Dec (not paid)."""
    from rich.console import Console

    from trajecten.demo import run_demo

    db = tmp_path_factory.mktemp("geld") / "demo.db"
    run_demo(db, clienten=100, maanden=3, today=VANDAAG, console=Console(file=io.StringIO()), financien=False)
    url = f"sqlite:///{db}"
    clock = FixedClock(datetime.combine(VANDAAG, time(10, 0), tzinfo=TZ))
    eng = Engine.open(url, clock=clock, settings=load_settings(database_url=url))
    with eng.db.connect() as conn:
        ids = conn.execute(sa.select(U.c.id).where(U.c.status == "voorgesteld").order_by(U.c.id)).scalars().all()
    assert len(ids) >= 6, "the demo proposes payouts"
    eerste, rest = ids[: 2 * len(ids) // 3], ids[2 * len(ids) // 3:]
    uitbetalingen.wijs_af(eng, eerste[0], door=KEURDER, reden="dubbel aangevraagd")
    for i in eerste[1:]:
        uitbetalingen.keur_goed(eng, i, door=KEURDER)
    clock.set(at(2026, 11, 30, 23, 30))
    een = uitbetalingen.exporteer(eng, door="financien.geld")
    assert een.aantal >= 1
    clock.set(at(2026, 12, 1, 0, 30))
    assert uitbetalingen.markeer_betaald(eng, een.batch_id, door="financien.geld") == een.aantal
    clock.set(at(2026, 12, 1, 9, 0))
    for i in rest:
        uitbetalingen.keur_goed(eng, i, door=KEURDER)
    clock.set(at(2026, 12, 2, 9, 0))
    assert uitbetalingen.exporteer(eng, door="financien.geld").aantal >= 1
    yield eng
    eng.db.dispose()


def _onafhankelijk(eng) -> dict[tuple[int, int], dict[str, dict[str, tuple[int, Decimal]]]]:
    """(year, month) -> instrument -> status -> (count, sum), from the raw rows, in Python."""
    with eng.db.connect() as conn:
        instrument = dict(conn.execute(sa.select(T.c.id, T.c.instrument)).all())
        batch_op = dict(conn.execute(sa.select(B.c.id, B.c.aangemaakt_op)).all())
        rows = conn.execute(sa.select(U.c.traject_id, U.c.status, U.c.bedrag, U.c.voorgesteld_op, U.c.beoordeeld_op,
                                      U.c.batch_id, U.c.betaald_op)).all()
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0, Decimal("0.00")])))

    def tel(moment: datetime | None, inst: str, status: str, bedrag) -> None:
        if moment is None:
            return
        assert moment.tzinfo is not None
        d = moment.astimezone(TZ)
        x = out[(d.year, d.month)][inst][status]
        x[0] += 1
        x[1] += Decimal(str(bedrag))

    for r in rows:
        inst = instrument[r.traject_id]
        tel(r.voorgesteld_op, inst, "voorgesteld", r.bedrag)
        if r.status in ("goedgekeurd", "geexporteerd", "betaald"):
            tel(r.beoordeeld_op, inst, "goedgekeurd", r.bedrag)
        if r.status == "afgewezen":
            tel(r.beoordeeld_op, inst, "afgewezen", r.bedrag)
        if r.batch_id is not None and r.status in ("geexporteerd", "betaald"):
            tel(batch_op[r.batch_id], inst, "geexporteerd", r.bedrag)
        tel(r.betaald_op, inst, "betaald", r.bedrag)
    return {ym: {inst: {s: tuple(v) for s, v in st.items()} for inst, st in per.items()} for ym, per in out.items()}


def _vol(per: dict[str, dict[str, tuple]]) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """All five statuses per instrument; instruments without any payout left out."""
    return {inst: {s: tuple(st.get(s, (0, Decimal("0.00")))) for s in STATUSSEN}
            for inst, st in per.items() if any(v[0] for v in st.values())}


def _uit_csv(text: str, periode: str) -> dict[str, dict[str, tuple[int, Decimal]]]:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    fig = {(r[1], r[3]): r[4] for r in rows[1:] if r[0] == "instrument" and r[2] == periode}
    insts = {i for i, _ in fig}
    return _vol({i: {s: (int(fig[(i, f"uitbetalingen_{s}")]), Decimal(fig[(i, f"bedrag_{s}")])) for s in STATUSSEN}
                 for i in insts})


def test_monitoring_and_report_count_the_same_money_as_the_raw_rows(demo):
    verwacht = _onafhankelijk(demo)
    # every status occurs; the bank's confirmation (00:30 on 1 Dec local) counts in December, not November
    for s in STATUSSEN:
        assert any(st.get(s, (0,))[0] for per in verwacht.values() for st in per.values()), s
    assert not any(st.get("betaald", (0,))[0] for st in verwacht.get((2026, 11), {}).values())
    assert any(st.get("betaald", (0,))[0] for st in verwacht[(2026, 12)].values())
    maanden = sorted(verwacht)
    assert len(maanden) >= 3
    for jaar, maand in maanden:
        exp = _vol(verwacht[(jaar, maand)])
        assert exp, (jaar, maand)  # a month with non-zero figures
        monitoring = _vol({m.instrument: dict(m.geld) for m in maandcijfers(demo, jaar, maand)})
        r = rapportage.maak(demo, jaar, maand)
        rapport = _vol({x.m.instrument: dict(x.m.geld) for x in r.instrumenten})
        csv_cijfers = _uit_csv(rapportage.csv_tekst(r), f"{jaar}-{maand:02d}")
        assert monitoring == exp, (jaar, maand)
        assert rapport == exp, (jaar, maand)
        assert csv_cijfers == exp, (jaar, maand)
        for m in maandcijfers(demo, jaar, maand):  # the API's flat form too
            d = m.as_dict()
            assert {s: (d[f"uitbetalingen_{s}"], Decimal(d[f"bedrag_{s}"])) for s in STATUSSEN} == \
                exp.get(m.instrument, {s: (0, Decimal("0.00")) for s in STATUSSEN})
        # the year so far: the sum of the months from January, from the same count
        for x in r.instrumenten:
            for s in STATUSSEN:
                tot = [verwacht.get((jaar, k), {}).get(x.m.instrument, {}).get(s, (0, Decimal("0.00")))
                       for k in range(1, maand + 1)]
                assert x.dit_jaar[s] == (sum(t[0] for t in tot), sum((t[1] for t in tot), Decimal("0.00"))), s
        assert all(isinstance(g.bedrag, Decimal) for x in r.instrumenten for g in x.m.geld.values())


def test_pages_and_report_show_the_figures_in_dutch_and_no_target_as_geen_jaardoel(demo):
    with demo.db.begin() as conn:
        cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(WW)
        conn.execute(Gebruiker.__table__.insert(), [
            {"gebruikersnaam": naam, "naam": naam, "rol": rol, "gebied": gebied, "email": "", "wachtwoord_hash": cheap,
             "actief": True, "aangemaakt_op": demo.clock.now()} for naam, (rol, gebied) in USERS.items()
            if naam == "beleid"])
    app = create_app(demo, secret_key="test-sleutel")
    page = login(app, "beleid").get("/monitoring", params={"jaar": 2026, "maand": 11})
    assert page.status_code == 200
    html = page.text
    mon = {m.instrument: m for m in maandcijfers(demo, 2026, 11)}
    naam_kik, naam_a27 = mon[KIK].naam, mon[A27].naam

    def rij(tekst: str, naam: str) -> str:
        start = tekst.index(f'<th scope="row">{naam}</th>')
        return tekst[start:tekst.index("</tr>", start)]

    for doc in (html, rapportage.html_tekst(rapportage.maak(demo, 2026, 11))):
        for naam in (naam_kik, naam_a27):
            cellen = rij(doc, naam)
            assert "geen jaardoel" in cellen and " van 0" not in cellen and " van 1" not in cellen
        assert "0.0%" not in rij(doc, naam_kik) and "0,0%" not in rij(doc, naam_kik)
        assert not re.search(rf'aria-label="{naam_kik}: gestart dit jaar tegen jaardoel', doc)  # no progress chart
        assert re.search(r'aria-label="[^"]*: gestart dit jaar tegen jaardoel', doc)  # those with a target have one
        assert "Geëxporteerd" in doc and "Geexporteerd" not in doc
    # the payout table shows the month's figures in Dutch notation
    tabel = html[html.index('<table class="uitbetalingen">'):]
    tabel = tabel[:tabel.index("</table>")]
    for m in mon.values():
        for s in STATUSSEN:
            if m.geld[s].aantal:
                assert euro(m.geld[s].bedrag) in rij(tabel, m.naam)
    assert any(m.geld["geexporteerd"].aantal for m in mon.values())
    assert re.search(r"€ \d{1,3}(\.\d{3})*,\d{2}<", tabel)


def test_success_percentage_only_for_instruments_with_success_outcomes(demo):
    mon = {m.instrument: m for m in maandcijfers(demo, 2026, 11)}
    assert mon[KIK].afgerond_dit_jaar > 0  # Kansen in Kaart ended (ander_traject) ...
    assert mon[KIK].succes_pct is None and mon[KIK].as_dict()["succes_pct"] is None  # ... but measures no success
    assert mon[KIK].jaardoel == 0 and not mon[KIK].heeft_jaardoel
    with_outcomes = [m for m in mon.values() if m.succes_uitkomsten and m.afgerond_dit_jaar]
    assert with_outcomes and all(m.succes_pct is not None for m in with_outcomes)
    r = rapportage.maak(demo, 2026, 11)
    fig = {(x[1], x[3]): x[4] for x in csv.reader(io.StringIO(rapportage.csv_tekst(r)), delimiter=";")
           if x[0] == "instrument"}
    assert fig[(KIK, "succes_pct")] == "" and fig[(KIK, "jaardoel")] == "" and fig[(KIK, "jaardoel_naar_rato")] == ""


def test_euro_in_dutch_notation():
    assert euro(Decimal("1200")) == "€ 1.200,00"
    assert euro(Decimal("0.5")) == "€ 0,50"
    assert euro(Decimal("1234567.89")) == "€ 1.234.567,89"
