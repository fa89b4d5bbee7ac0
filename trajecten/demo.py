"""The demo: a synthetic but plausible caseload, a year of trajectories on a simulated clock.

Everything is synthetic: names, BSNs (they pass the 11-test but belong to nobody), dates. The
simulation uses the same engine functions as production: start, complete a task, record an event,
sweep. Coaches act on working days; the sweep runs every hour of the working day, and once the
scheduler is "down" for a long weekend so the catch-up (late steps) shows in the summary.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from schwifty import IBAN

from trajecten.taken import kansen
from trajecten.geld import uitbetalingen
from trajecten.basis.bsn import synthetisch
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.basis.fouten import AlLopend, NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.opslag.models import Client, GeplandeStap, Traject, Uitbetaling
from trajecten.basis.tijd import TZ, FixedClock, SystemClock, local_date

GEBIEDEN = {  # synthetic postcode areas -> area team (gebiedsteam)
    "Centrum": ["9711", "9712"],
    "Oost": ["9713", "9714", "9715", "9716"],
    "Noord": ["9721", "9722", "9723"],
    "West": ["9724", "9725", "9726", "9727"],
    "Zuid": ["9731", "9732", "9739", "9740"],  # as in data/gebieden.yaml
}
VOORNAMEN = ["Anna", "Sanne", "Fatima", "Lotte", "Emma", "Noor", "Daan", "Jeroen", "Mohamed", "Sven", "Bram",
             "Kees", "Ingrid", "Marloes", "Pieter", "Joost", "Yara", "Wietske", "Henk", "Rik", "Lisa", "Tom"]
ACHTERNAMEN = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
               "Bos", "Vos", "Dijkstra", "Hoekstra", "Kuipers", "Postma", "Veenstra", "Wiersma", "Boersma"]

BANKEN = ["ABNA", "RABO", "INGB", "SNSB", "TRIO", "ASNB"]

# trajectories started per year (DOMAIN.md targets, a little above)
PER_JAAR = {"intensief_begeleiden": 240, "ww_preventie": 110, "premie_op_werk": 110, "jobcoaching_nazorg": 55}
# P7: six more instruments (vouchers at their yearly cap; fewer jongeren than the 250 target keeps the demo fast)
PER_JAAR.update({"jobhunting": 55, "vouchers": 50, "jongeren_in_beeld": 120, "basisbaan": 14,
                 "parttime_naar_fulltime": 100, "activeren_27plus": 60})
# P8: businesscases (a one-off payment to a supplier) and clients of the central specialist teams
PER_JAAR["businesscase"] = 25
BUSINESSCASES = [  # (obstacle, supplier, amount range in euros): plausible, not measured
    ("auto om een vroege dienst buiten de stad te halen", "Autobedrijf Noord B.V.", (600, 1500)),
    ("rijlessen en examen: rijbewijs is een eis van de werkgever", "Rijschool Stad en Ommeland", (1200, 2200)),
    ("e-bike naar een bedrijventerrein zonder OV", "Fietsenmaker De Wielewaal", (900, 1800)),
    ("werkkleding en veiligheidsschoenen (VCA)", "Werkkleding Groningen", (150, 400)),
    ("kinderopvang in de eerste maand voordat de toeslag loopt", "Kinderopvang Het Hummelhuis", (400, 900)),
]
CENTRALE_CLIENTEN = 4  # per central target group (inburgeraar, ex_gedetineerde, doelgroepregister)
WERKGEVERS = ["Bakkerij Jansen BV", "Zorggroep Noord", "Installatiebedrijf Smit", "Groen en Wijk BV",
              "Logistiek Centrum Zuid", "Schoonmaakbedrijf De Boer"]

# how coaches record outcomes (weights); plausible, not measured
UITKOMSTEN = {
    ("kansen_in_kaart", "jaarcontact"): {"gesproken": 70, "doorverwezen": 15, "niet_bereikt": 15},
    ("ww_preventie", "uitkomst_einde_ww"): {"werk": 55, "bijstand_aangevraagd": 35, "anders": 10},
    ("intensief_begeleiden", "besluit_week9"): {"afronden": 70, "verlengen": 30},
    ("intensief_begeleiden", "eindevaluatie"): {"werk": 30, "participatie": 20, "volgende_trede": 30, "geen_doorbraak": 20},
    ("intensief_begeleiden", "eindevaluatie_week12"): {"werk": 25, "participatie": 20, "volgende_trede": 30,
                                                       "geen_doorbraak": 25},
    ("intensief_begeleiden", "nacontrole"): {"behouden": 80, "teruggevallen": 20},
    ("premie_op_werk", "controle_werk"): {"werk_behouden": 55, "werk_beeindigd": 45},
    ("jobcoaching_nazorg", "evaluatie"): {"duurzaam_aan_het_werk": 75, "uitgevallen": 25},
    ("businesscase", "evaluatie"): {"aan_het_werk": 70, "niet_aan_het_werk": 30},
    ("jobhunting", "eindgesprek"): {"betaald_werk": 40, "ander_perspectief": 30, "geen_werk": 30},
    ("vouchers", "controle_vervolg"): {"loopt_nog": 80, "beeindigd": 20},
    ("jongeren_in_beeld", "aanbod"): {"school": 30, "werk": 25, "ondersteuning": 35, "geen_aanbod_nodig": 10},
    ("basisbaan", "eindevaluatie"): {"regulier_werk": 20, "basisbaan_voortgezet": 60, "terug_naar_bijstand": 20},
    ("parttime_naar_fulltime", "evaluatie"): {"meer_uren": 50, "geen_verandering": 50},
    ("parttime_naar_fulltime", "nacontrole"): {"duurzaam_uitgestroomd": 85, "herinstroom": 15},
    ("activeren_27plus", "evaluatie"): {"werk_gevonden": 30, "aanvraag_ingetrokken": 15, "bijstand_met_plan": 55},
}

# events a coach records after finishing a task: (instrument, task) -> (event, chance, event date in days from today)
GEBEURTENISSEN = {
    ("jobcoaching_nazorg", "kennismaking"): ("werk_beeindigd", 0.12, (20, 90)),
    ("jobhunting", "werkgevers_benaderen"): ("baan_gevonden", 0.10, (0, 0)),
    ("vouchers", "contact_werkgever"): ("vervolgcontract", 0.60, (150, 200)),
    ("jongeren_in_beeld", "benaderingspoging"): ("bereikt", 0.45, (0, 0)),
    ("jongeren_in_beeld", "kennismaking"): ("weigert", 0.10, (0, 0)),
    ("parttime_naar_fulltime", "coaching"): ("uitgestroomd", 0.06, (0, 0)),
}


@dataclass
class DemoSummary:
    db: Path
    start: date
    eind: date
    clienten: int
    per_instrument: dict = field(default_factory=dict)
    geweigerd: dict = field(default_factory=lambda: defaultdict(int))
    sweeps: int = 0
    te_laat_na_storing: int = 0
    storing: tuple[date, date] | None = None


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _working_days(start: date, end: date) -> list[date]:
    out, d = [], start
    while d < end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _make_caseload(eng: Engine, rng: random.Random, n: int, today: date) -> tuple[list[dict], list[dict]]:
    """Clients: ~85% in bijstand (short, middle and long durations), ~15% on WW (for preventie)."""
    rows, seen = [], set()
    coaches = {g: [f"coach.{g.lower()}.{i}" for i in range(1, 4)] for g in GEBIEDEN}
    now = eng.clock.now()
    for _ in range(n):
        bsn = synthetisch(rng)
        while bsn in seen:
            bsn = synthetisch(rng)
        seen.add(bsn)
        gebied = rng.choice(list(GEBIEDEN))
        pc = rng.choice(GEBIEDEN[gebied]) + rng.choice("ABCDEGHJKLMNPRSTVWXZ") + rng.choice("ABCDEGHJKLMNPRSTVWXZ")
        age = int(rng.triangular(18, 66, 35))
        born = today - timedelta(days=age * 365 + rng.randint(0, 364))
        in_ww = rng.random() < 0.15
        if in_ww:
            sinds = None
        else:
            r = rng.random()
            months = rng.randint(1, 11) if r < 0.25 else rng.randint(12, 36) if r < 0.60 else rng.randint(37, 180)
            sinds = today - relativedelta(months=months) - timedelta(days=rng.randint(0, 27))
        iban = str(IBAN.generate("NL", bank_code=rng.choice(BANKEN), account_code=str(rng.randrange(10**9, 10**10))))
        rows.append({"bsn": bsn, "naam": f"{rng.choice(VOORNAMEN)} {rng.choice(ACHTERNAMEN)}", "geboortedatum": born,
                     "iban": iban,
                     "postcode": pc, "gebied": gebied, "coach": rng.choice(coaches[gebied]), "bijstand_sinds": sinds,
                     "aangemaakt_op": now})
    with eng.db.begin() as conn:
        conn.execute(Client.__table__.insert(), rows)
        ids = conn.execute(sa.select(Client.__table__.c.id).order_by(Client.__table__.c.id)).scalars().all()
    for row, cid in zip(rows, ids):
        row["id"] = cid
    return [r for r in rows if r["bijstand_sinds"] is not None], [r for r in rows if r["bijstand_sinds"] is None]


def _centrale_clienten(eng: Engine, rng: random.Random, today: date) -> list[dict]:
    """A few clients of each central target group: their team follows from the doelgroep (gebieden.yaml)."""
    from trajecten.clienten.gebieden import centrale_doelgroepen

    out = []
    for doelgroep, team in centrale_doelgroepen().items():
        for i in range(CENTRALE_CLIENTEN):
            row = {"naam": f"{rng.choice(VOORNAMEN)} {rng.choice(ACHTERNAMEN)}",
                   "geboortedatum": today - timedelta(days=rng.randint(20, 55) * 365),
                   "bijstand_sinds": today - relativedelta(months=rng.randint(4, 60)),
                   "postcode": rng.choice(sum(GEBIEDEN.values(), [])) + "AB",
                   "coach": f"coach.{team.lower()}.1"}
            bsn = synthetisch(rng)
            try:
                row["id"] = eng.add_client(bsn, doelgroep=doelgroep, **row)
            except OngeldigeInvoer:  # a BSN already in the caseload: skip this one
                continue
            out.append(row)
    return out


def _facts_for(instrument: str, client: dict, day: date, rng: random.Random) -> dict:
    if instrument == "businesscase":
        obstakel, leverancier, (lo, hi) = rng.choice(BUSINESSCASES)
        iban = IBAN.generate("NL", bank_code=rng.choice(BANKEN), account_code=str(rng.randrange(10**9, 10**10)))
        return {"bedrag": f"{rng.randrange(lo, hi, 25)}.00", "omschrijving": obstakel, "leverancier_naam": leverancier,
                "leverancier_iban": str(iban),
                "motivering": f"Zonder {obstakel.split(':')[0]} kan de inwoner de baan niet aannemen; de eenmalige "
                              "kosten zijn lager dan enkele maanden bijstand."}
    if instrument == "intensief_begeleiden":
        return {"variant": rng.choice(["richting_werk", "ter_ontwikkeling"])}
    if instrument == "ww_preventie":
        return {"ww_einddatum": (day + timedelta(days=rng.randint(20, 250))).isoformat(), "risico_langdurig": True,
                "ww_startdatum": (day - timedelta(days=rng.randint(60, 500))).isoformat()}
    if instrument == "premie_op_werk":
        return {"werk_start": (day + timedelta(days=rng.randint(0, 14))).isoformat(),
                "uren_per_week": str(rng.choice([16, 20, 24, 28, 32, 36, 38])),
                "contract_maanden": rng.choice([6, 7, 12, 12, 24]), "lks_indicatie": False}
    if instrument == "jobhunting":
        return {"reguliere_route_geprobeerd": True}
    if instrument == "vouchers":
        start = day + timedelta(days=rng.randint(0, 14))
        iban = IBAN.generate("NL", bank_code=rng.choice(BANKEN), account_code=str(rng.randrange(10**9, 10**10)))
        return {"werkgever_naam": rng.choice(WERKGEVERS), "werkgever_iban": str(iban), "werk_start": start.isoformat(),
                "contract_eind": (start + relativedelta(months=rng.choice([6, 7, 12]))).isoformat(),
                "uren_per_week": str(rng.choice([20, 24, 32, 36])), "cofinanciering": True}
    if instrument == "jongeren_in_beeld":
        return {"heeft_werk": False, "heeft_uitkering": False, "volgt_onderwijs": False}
    if instrument == "basisbaan":
        return {"werk_start": (day + timedelta(days=rng.randint(7, 28))).isoformat(), "regulier_werk_niet_gelukt": True,
                "werk_additioneel": True}
    if instrument == "parttime_naar_fulltime":
        return {"uren_per_week": str(rng.choice([8, 12, 16, 20, 24]))}
    if instrument == "activeren_27plus":
        return {"aanvraagdatum": (day - timedelta(days=rng.randint(0, 10))).isoformat()}
    return {"werk_start": (day - timedelta(days=rng.randint(0, 20))).isoformat()}


def run_demo(db: Path, *, clienten: int = 3000, maanden: int = 12, seed: int = 2026,
             console: Console | None = None, today: date | None = None, financien: bool = True) -> DemoSummary:
    """``financien``: finance judges, exports and confirms payouts as the weeks go by (``_financien_werkt``);
    off, every payout stays proposed (a test that sets the statuses itself)."""
    console = console or Console()
    rng = random.Random(seed)
    db = Path(db)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    today = today or local_date(SystemClock().now())
    begin = today - relativedelta(months=maanden)
    clock = FixedClock(datetime.combine(begin, time(8, 0), tzinfo=TZ))
    url = f"sqlite:///{db}"
    eng = Engine.open(url, clock=clock, settings=load_settings(database_url=url))
    bijstand, ww = _make_caseload(eng, rng, clienten, begin)
    bijstand += _centrale_clienten(eng, random.Random(seed + 8), begin)
    jong = [c for c in bijstand + ww if 23 <= relativedelta(begin, c["geboortedatum"]).years <= 26] or bijstand
    summary = DemoSummary(db, begin, today, clienten)

    days = _working_days(begin, today)
    plan: dict[date, list[str]] = defaultdict(list)
    for instrument, per_jaar in PER_JAAR.items():
        for _ in range(round(per_jaar * maanden / 12)):
            plan[rng.choice(days)].append(instrument)
    # the scheduler is down over one long weekend (Friday 08:00 to Tuesday 08:00): it catches up after
    outage_start = days[len(days) // 2]
    while outage_start.weekday() != 4:
        outage_start += timedelta(days=1)
    outage_end = outage_start + timedelta(days=4)
    summary.storing = (outage_start, outage_end)
    in_trajectory: set[int] = set()
    recorded: set[tuple[int, str]] = set()

    def at(d: date, hour: int) -> datetime:
        return datetime.combine(d, time(hour, 0), tzinfo=TZ)

    def sweep(moment: datetime) -> None:
        if outage_start <= moment.date() < outage_end:
            return
        clock.set(moment)
        res = eng.sweep()
        summary.sweeps += 1
        if moment.date() == outage_end and moment.hour == 8:
            summary.te_laat_na_storing += res.te_laat

    total_days = (today - begin).days
    with Progress(TextColumn("[bold]simulatie[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("dagen"), TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task(begin.isoformat(), total=total_days)
        d = begin
        while d < today:
            progress.update(task, description=d.isoformat())
            if d.weekday() == 0:  # Kansen in Kaart: a daily job in production, weekly here
                clock.set(at(d, 6))
                kansen.bijwerken(eng)
            sweep(at(d, 8))
            if d.weekday() < 5:
                clock.set(at(d, 9))
                for instrument in plan.get(d, ()):
                    pool = ww if instrument == "ww_preventie" else jong if instrument == "jongeren_in_beeld" else bijstand
                    for _ in range(20):
                        client = rng.choice(pool)
                        if client["id"] not in in_trajectory:
                            break
                    try:
                        eng.start(instrument, client["id"], _facts_for(instrument, client, d, rng),
                                  actor=client["coach"])
                        in_trajectory.add(client["id"])
                    except NietToegelaten:
                        summary.geweigerd[instrument] += 1
                    except AlLopend:  # the client has one running already: a coach would not start a second
                        pass
                sweep(at(d, 9))
                _coaches_work(eng, clock, rng, d, at, sweep, recorded)
                if financien:
                    _financien_werkt(eng, clock, rng, d, at, today)
            sweep(at(d, 17))
            d += timedelta(days=1)
            progress.advance(task)
    clock.set(at(today, 8))
    sweep(at(today, 8))
    summary.per_instrument = _figures(eng)
    eng.db.dispose()
    return summary


FINANCIEN = "financien"  # the demo's finance user (web/_demo.py): the second person of the four-eyes rule


def _financien_werkt(eng: Engine, clock: FixedClock, rng: random.Random, d: date, at, today: date) -> None:
    """Finance as in production: approves what the sweep proposed a week before or earlier (never the
    proposer nor the starter), rejects a few with a reason, exports the approved payouts on Mondays and
    records the bank's confirmation on Tuesdays. The last week is left for the payout pages."""
    if d >= today - timedelta(days=7):
        return
    clock.set(at(d, 11))
    week_eerder = at(d - timedelta(days=7), 23)
    U, T, C = Uitbetaling.__table__, Traject.__table__, Client.__table__
    with eng.db.connect() as conn:
        te_beoordelen = conn.execute(
            sa.select(U.c.id, sa.func.coalesce(U.c.ontvanger_iban, C.c.iban)).join(T, T.c.id == U.c.traject_id)
            .join(C, C.c.id == T.c.client_id).where(U.c.status == "voorgesteld", U.c.voorgesteld_op <= week_eerder)
            .order_by(U.c.id)).all()
    for pid, iban in te_beoordelen:
        if not iban:
            uitbetalingen.wijs_af(eng, pid, door=FINANCIEN, reden="geen rekeningnummer bekend")
        elif rng.random() < 0.03:
            uitbetalingen.wijs_af(eng, pid, door=FINANCIEN, reden="geen loonstrook of arbeidsovereenkomst ontvangen")
        else:
            uitbetalingen.keur_goed(eng, pid, door=FINANCIEN)
    clock.set(at(d, 12))
    if d.weekday() == 0:
        uitbetalingen.exporteer(eng, door=FINANCIEN)
    elif d.weekday() == 1:
        for batch in uitbetalingen.batches_te_bevestigen(eng):
            uitbetalingen.markeer_betaald(eng, batch, door=FINANCIEN)


def _coaches_work(eng: Engine, clock: FixedClock, rng: random.Random, d: date, at, sweep,
                  recorded: set | None = None) -> None:
    """Coaches finish most tasks on or before their due day; some run late. ``recorded`` remembers the
    (trajectory, event) pairs recorded so far, so an event is recorded once per trajectory."""
    recorded = set() if recorded is None else recorded
    end_of_day = at(d, 17)
    instrument_of: dict[int, str] = {}
    tasks = eng.open_tasks()
    if not tasks:
        return
    ids = {t.traject_id for t in tasks}
    with eng.db.connect() as conn:
        T = Traject.__table__
        for row in conn.execute(sa.select(T.c.id, T.c.instrument).where(T.c.id.in_(ids))):
            instrument_of[row.id] = row.instrument
    by_hour: dict[int, list] = defaultdict(list)
    for t in tasks:
        due_today = t.due_at <= end_of_day
        if rng.random() < (0.75 if due_today else 0.25):
            by_hour[rng.randint(10, 16)].append(t)
    for hour in sorted(by_hour):
        clock.set(at(d, hour))
        for t in by_hour[hour]:
            weights = UITKOMSTEN.get((instrument_of[t.traject_id], t.stap))
            uitkomst = _pick(rng, weights) if weights else None
            try:
                eng.complete_task(t.id, actor=t.toegewezen_aan or "coach", uitkomst=uitkomst)
            except OngeldigeToestand:  # the trajectory ended earlier today: its open tasks lapsed
                continue
            event = GEBEURTENISSEN.get((instrument_of[t.traject_id], t.stap))
            if event and rng.random() < event[1] and (t.traject_id, event[0]) not in recorded:
                recorded.add((t.traject_id, event[0]))
                try:
                    eng.record_event(t.traject_id, event[0], actor=t.toegewezen_aan or "coach",
                                     datum=d + timedelta(days=rng.randint(*event[2])))
                except OngeldigeToestand:  # the trajectory ended meanwhile
                    pass
        sweep(at(d, hour))


def _figures(eng: Engine) -> dict:
    T, S, U = Traject.__table__, GeplandeStap.__table__, Uitbetaling.__table__
    marge = eng.settings.te_laat_marge_s
    out: dict[str, dict] = {name: {"gestart": 0, "actief": 0, "gepland": 0, "uitkomsten": {}, "stappen": 0,
                                   "te_laat": 0, "betalingen": 0, "bedrag": Decimal("0.00")}
                            for name in eng.register.names()}
    with eng.db.connect() as conn:
        for r in conn.execute(sa.select(T.c.instrument, T.c.status, T.c.uitkomst, sa.func.count())
                              .group_by(T.c.instrument, T.c.status, T.c.uitkomst)):
            f = out[r.instrument]
            f["gestart"] += r[3]
            if r.status == "beeindigd":
                f["uitkomsten"][r.uitkomst or "?"] = f["uitkomsten"].get(r.uitkomst or "?", 0) + r[3]
            else:
                f[r.status] += r[3]
        for r in conn.execute(
            sa.select(T.c.instrument, sa.func.count(), sa.func.sum(sa.case((S.c.te_laat_s > marge, 1), else_=0)))
            .join(T, T.c.id == S.c.traject_id)
            .where(S.c.status.in_(["uitgevoerd", "overgeslagen"]))
            .group_by(T.c.instrument)
        ):
            out[r.instrument]["stappen"] = r[1]
            out[r.instrument]["te_laat"] = int(r[2] or 0)
        for r in conn.execute(sa.select(T.c.instrument, sa.func.count(), sa.func.sum(U.c.bedrag))
                              .join(T, T.c.id == U.c.traject_id).group_by(T.c.instrument)):
            out[r.instrument]["betalingen"] = r[1]
            out[r.instrument]["bedrag"] = Decimal(str(r[2] or 0)).quantize(Decimal("0.01"))
    return out


def print_summary(s: DemoSummary, console: Console) -> None:
    console.print(f"\n[bold]Demo[/]: {s.clienten} cliënten, {s.start} t/m {s.eind}, database {s.db}")
    table = Table("instrument", "gestart", "geweigerd", "actief", "gepland", "afgerond per uitkomst",
                  "stappen uitgevoerd", "te laat", "betalingen voorgesteld")
    for name, f in s.per_instrument.items():
        uitk = ", ".join(f"{k} {v}" for k, v in sorted(f["uitkomsten"].items(), key=lambda kv: -kv[1])) or "-"
        pay = f"{f['betalingen']} (€ {f['bedrag']:,.2f})".replace(",", "X").replace(".", ",").replace("X", ".") \
            if f["betalingen"] else "-"
        table.add_row(name, str(f["gestart"]), str(s.geweigerd.get(name, 0)), str(f["actief"]), str(f["gepland"]),
                      uitk, str(f["stappen"]), str(f["te_laat"]), pay)
    console.print(table)
    if s.storing:
        console.print(f"Storing gesimuleerd: scheduler uit van {s.storing[0]} tot {s.storing[1]}; bij herstart "
                      f"{s.te_laat_na_storing} stappen te laat ingehaald (elk precies één keer). {s.sweeps} sweeps.")
    console.print(f"Verder kijken: [cyan]trajecten --database-url sqlite:///{s.db} timeline 1[/] · "
                  f"[cyan]trajecten --database-url sqlite:///{s.db} taak lijst[/]")
