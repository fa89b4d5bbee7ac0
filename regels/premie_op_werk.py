"""Premie op Werk: a premium for clients in bijstand who start paid work and keep it.

Policy (gemeente Groningen, Werk & Participatie):
- From 1 November 2020 (raadsvoorstel 2020, Werk- en Ontwikkelprogramma 2022-2025): for clients long
  in bijstand, MORE than 3 years on the day work starts; work of at least 16 hours a week; a contract or
  prospect of at least 6 months. Part 1, € 300, on the day work starts; part 2, € 900, once the work is
  still held 6 months later. Total € 1.200.
- From 1 April 2023 (reported April 2023, date to be confirmed): AT LEAST 6 months in bijstand, or
  younger than 27 with an indication for loonkostensubsidie (LKS) regardless of duration. Part-timers
  who stay in bijstand get a one-off 15% of their net annual wage (`premie_op_werk_parttime`).
- At most one premium per `herhaaltermijn_maanden` (policy choice, 60 months), decided from the engine's
  own history (`eerdere_toekenningen`: every earlier premium payout of this client that was not rejected)
  plus `eerdere_premie_op` for a premium granted before the engine. Never two premiums for one job start:
  a payment's subject is the work start (`onderwerp`), so its payout key is one per job.

The version is chosen by the date of work start (`werk_start`), not by the peildatum: the peildatum is
the day the decision is taken and only decides whether part 2 is payable yet. All numbers are dated
parameters under `parameters/premie_op_werk/`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ._besluit import Betaling, Reden
from ._datums import leeftijd, maanden_en_dagen, plus_maanden
from ._feiten import BEDRAG, DATUM, GEHEEL, GETAL, JA_NEE, TOEKENNINGEN, Feit, Toekenning
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import alle_voldaan, ja, ten_minste

BRON_PARTTIME = "Aangepaste regeling Premie op Werk april 2023 (publieke berichtgeving gemeente Groningen)"
BRON = "Raadsvoorstel Premie op Werk 2020; Werk- en Ontwikkelprogramma 2022-2025; aangepaste regeling april 2023"

FEITEN = {
    "bijstand_sinds": Feit(DATUM, True, "eerste dag van de lopende bijstandsuitkering"),
    "werk_start": Feit(DATUM, True, "eerste werkdag van het betaalde werk"),
    "uren_per_week": Feit(GETAL, True, "gemiddeld aantal uren werk per week"),
    "contract_maanden": Feit(GEHEEL, True, "duur van het contract of het vooruitzicht op werk, in maanden"),
    "geboortedatum": Feit(DATUM, True, "geboortedatum (voor de route jonger dan 27 met LKS-indicatie)"),
    "lks_indicatie": Feit(JA_NEE, False, "indicatie loonkostensubsidie", False),
    "werk_nog_op": Feit(DATUM, False, "laatste datum waarop is bevestigd dat het werk nog wordt gedaan"),
    "eerdere_premie_op": Feit(DATUM, False, "werkstart van een Premie op Werk toegekend vóór de trajectenengine"),
    "eerdere_toekenningen": Feit(TOEKENNINGEN, False, "eerdere uitbetalingen aan de cliënt (levert de engine)", ()),
}
# the premiums that share one repeat term (the 2023 part-time premium is a Premie op Werk too)
PREMIES = ("premie_op_werk", "premie_op_werk_parttime")


def bijstandsduur(f: dict[str, Any], p: Parameters, *, lks_route: bool) -> Reden:
    """Bijstand long enough on the day work starts (or, from 2023, younger than 27 with LKS).

    "More than 36 months" means: werk_start > bijstand_sinds + 36 months (exactly 36 is not enough);
    "at least 6 months" means: werk_start >= bijstand_sinds + 6 months. Months as calendar months.
    The part-time premium (`lks_route=False`) has no LKS route.
    """
    ws: date = f["werk_start"]
    bs: date = f["bijstand_sinds"]
    maanden, bron = p.met_bron("premie_op_werk.min_bijstand_maanden", ws)
    meer_dan = p("premie_op_werk.bijstand_duur_vergelijking", ws) == "meer_dan"
    lks_onder = None
    if p("premie_op_werk.lks_route", ws):
        lks_onder, lks_bron = p.met_bron("premie_op_werk.lks_leeftijd_onder", ws)
    if ws >= bs:
        m, d = maanden_en_dagen(bs, ws)
        # more than N months: past the same day N months later; at least N months: on or past it
        duur_ok = (m > maanden or (m == maanden and d > 0)) if meer_dan else m >= maanden
        duur = f"{m} maanden en {d} {'dag' if d == 1 else 'dagen'}"
    else:
        duur_ok = False
        duur = f"geen bijstand bij werkstart (bijstand sinds {bs.isoformat()})"
    eis = f"{'meer dan' if meer_dan else 'ten minste'} {maanden} maanden"
    norm = f"{eis}: werkstart {'na' if meer_dan else 'op of na'} de dag {maanden} maanden na bijstand_sinds"
    if not lks_route or lks_onder is None:
        return Reden(f"bijstand {eis} bij werkstart", duur, norm, duur_ok, bron)
    jaren = leeftijd(f["geboortedatum"], ws)
    lks = f["lks_indicatie"]
    return Reden(
        f"bijstand {eis}, of jonger dan {lks_onder} met LKS-indicatie",
        f"{duur}; leeftijd bij werkstart {jaren}; LKS-indicatie {'ja' if lks else 'nee'}",
        f"{norm}; of leeftijd onder {lks_onder} en LKS-indicatie ja",
        duur_ok or (jaren < lks_onder and lks is True),
        f"{bron}; {lks_bron}",
    )


def herhaaltermijn(f: dict[str, Any], p: Parameters) -> Reden:
    """At most one premium per `herhaaltermijn_maanden`: no earlier premium whose work start lies less than
    that many months before or after this one, and never a second premium for the same work start. Earlier
    premiums: the engine's own history (part 1 of every premium payout not rejected) and a grant from before
    the engine (`eerdere_premie_op`). The reason names the earlier premium (date and trajectory)."""
    ws: date = f["werk_start"]
    n, bron = p.met_bron("premie_op_werk.herhaaltermijn_maanden", ws)
    eerder = [t for t in f["eerdere_toekenningen"] if t.regel in PREMIES and t.deel == 1]
    if f["eerdere_premie_op"] is not None:
        eerder.append(Toekenning("premie_op_werk", 1, "", f["eerdere_premie_op"], None))
    if not eerder:
        return Reden("geen premie in de herhaaltermijn", "geen eerdere premie",
                     f"geen eerdere premie binnen {n} maanden", True, bron)
    binnen = [t for t in eerder
              if t.datum == ws or (plus_maanden(t.datum, n) > ws and plus_maanden(ws, n) > t.datum)]
    norm = (f"geen eerdere premie met een werkstart binnen {n} maanden van {ws.isoformat()}; "
            "nooit twee premies voor dezelfde werkstart")
    waarde = "; ".join(t.tekst() for t in (binnen or eerder))
    return Reden("geen premie in de herhaaltermijn", waarde, norm, not binnen, bron)


def voorwaarden(f: dict[str, Any], p: Parameters) -> list[Reden]:
    """The eligibility conditions of Premie op Werk under the version in force on `werk_start`: bijstand long
    enough, enough hours a week, a long enough contract, no earlier premium in the repeat term."""
    ws: date = f["werk_start"]
    duur = bijstandsduur(f, p, lks_route=True)
    uren, uren_bron = p.met_bron("premie_op_werk.min_uren_per_week", ws)
    contract, contract_bron = p.met_bron("premie_op_werk.min_contract_maanden", ws)
    return [
        duur,
        ten_minste("ten minste {minimum} uur per week", f["uren_per_week"], uren, "uur", uren_bron),
        ten_minste("contract of vooruitzicht van ten minste {minimum} maanden", f["contract_maanden"], contract,
                   "maanden", contract_bron),
        herhaaltermijn(f, p),
    ]


def hele_regeling(p: Parameters, werk_start: date) -> None:
    """Record every parameter of the Premie op Werk version in force on `werk_start`, in the order
    `premie_op_werk` reads them: decisions of the access and part-time rules name the whole version too,
    also the numbers they do not use."""
    for naam in ("min_bijstand_maanden", "bijstand_duur_vergelijking", "lks_route"):
        p("premie_op_werk." + naam, werk_start)
    if p("premie_op_werk.lks_route", werk_start):
        p("premie_op_werk.lks_leeftijd_onder", werk_start)
    for naam in ("min_uren_per_week", "min_contract_maanden", "herhaaltermijn_maanden", "behoud_maanden",
                 "bedrag_deel_1", "bedrag_deel_2"):
        p("premie_op_werk." + naam, werk_start)


@regel(
    "premie_op_werk",
    omschrijving="Premie op Werk: € 300 bij werkstart, € 900 na 6 maanden behouden werk",
    bron=BRON,
    feiten=FEITEN,
    regeling="premie_op_werk.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("premie toegekend", "geen premie"),
    onderwerp=("werk_start",),
)
def premie_op_werk(f: dict[str, Any], peildatum: date, p: Parameters):
    """Part 1 on the day work starts; part 2 once the work is still held `behoud_maanden` later."""
    ws: date = f["werk_start"]
    redenen = voorwaarden(f, p)
    toegekend = alle_voldaan(redenen)
    # part 2: the work is still held `behoud_maanden` after work start, on werk_nog_op and on the peildatum
    behoud, bron = p.met_bron("premie_op_werk.behoud_maanden", ws)
    deel_2_op = plus_maanden(ws, behoud)
    nog = f["werk_nog_op"]
    behouden = nog is not None and nog >= deel_2_op and peildatum >= deel_2_op
    redenen.append(Reden(f"deel 2: werk {behoud} maanden behouden (werk_nog_op en peildatum op of na werkstart + "
                         f"{behoud} maanden)", nog, deel_2_op, behouden, bron))
    # the amounts of the version, read (and so recorded in the decision) also when no premium is granted
    bedrag_deel_1 = p("premie_op_werk.bedrag_deel_1", ws)
    bedrag_deel_2 = p("premie_op_werk.bedrag_deel_2", ws)
    if not toegekend:
        return False, (), redenen
    if behouden:
        return True, (Betaling(1, bedrag_deel_1, ws), Betaling(2, bedrag_deel_2, deel_2_op)), redenen
    return True, (Betaling(1, bedrag_deel_1, ws),), redenen


@regel(
    "premie_op_werk.toegang",
    omschrijving="Toegang tot Premie op Werk: voldoet de werkstart aan de voorwaarden (zonder betalingen)",
    bron=BRON,
    feiten=FEITEN,
    regeling="premie_op_werk.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def premie_op_werk_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    """Eligible iff `premie_op_werk` would be eligible on the day work starts; no payments."""
    hele_regeling(p, f["werk_start"])
    redenen = voorwaarden(f, p)
    return alle_voldaan(redenen), (), redenen


_CENT = Decimal("0.01")


@regel(
    "premie_op_werk_parttime",
    omschrijving="Premie op Werk parttime: eenmalig 15% van het netto jaarloon voor wie parttime werkt en in de bijstand blijft",
    bron=BRON_PARTTIME,
    feiten={
        "bijstand_sinds": FEITEN["bijstand_sinds"],
        "werk_start": FEITEN["werk_start"],
        "uren_per_week": FEITEN["uren_per_week"],
        "netto_jaarloon": Feit(BEDRAG, True, "netto jaarloon uit het parttime werk, in euro"),
        "blijft_in_bijstand": Feit(JA_NEE, True, "blijft (aanvullend) in de bijstand na werkstart"),
        "eerdere_premie_op": FEITEN["eerdere_premie_op"],
        "eerdere_toekenningen": FEITEN["eerdere_toekenningen"],
    },
    regeling="premie_op_werk_parttime.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("premie toegekend", "geen premie"),
    onderwerp=("werk_start",),
)
def premie_op_werk_parttime(f: dict[str, Any], peildatum: date, p: Parameters):
    """Who works part-time and stays in bijstand, after the bijstand duration of Premie op Werk (without the
    LKS route) and outside its repeat term: once `percentage` of the net annual wage, rounded half up."""
    ws: date = f["werk_start"]
    hele_regeling(p, ws)
    redenen = [
        ja("blijft in de bijstand (parttime werk)", f["blijft_in_bijstand"], BRON_PARTTIME),
        bijstandsduur(f, p, lks_route=False),
        herhaaltermijn(f, p),
    ]
    if not alle_voldaan(redenen):
        return False, (), redenen
    percentage, bron = p.met_bron("premie_op_werk_parttime.percentage", ws)
    loon = f["netto_jaarloon"]
    bedrag = (loon * percentage).quantize(_CENT, rounding=ROUND_HALF_UP)
    redenen.append(Reden("premie: percentage van het netto jaarloon", loon, f"{percentage * 100:g}% = {bedrag}",
                         True, bron))
    return True, (Betaling(1, bedrag, ws),), redenen
