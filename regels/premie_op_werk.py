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

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ._besluit import Betaling, Reden, snelle_reden
from ._datums import leeftijd, maanden_en_dagen, plus_maanden
from ._feiten import BEDRAG, DATUM, GEHEEL, GETAL, JA_NEE, TOEKENNINGEN, Feit, Toekenning
from ._parameters import Parameters
from ._regel import regel

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

_P = "premie_op_werk."


@dataclass(frozen=True, slots=True)
class Instellingen:
    """The Premie op Werk parameters in force on one work start date, with the texts of the reasons."""

    min_maanden: int  # bijstand duration in months ...
    meer_dan: bool  # ... strictly more than (2020) or at least (2023)
    duur_label: str
    duur_norm: str
    duur_voorwaarde: str
    duur_bron: str
    lks_onder: int | None  # route "younger than N with LKS indication"; None when not in force
    lks_bron: str
    min_uren: Any
    uren: tuple[str, str, str]  # voorwaarde, norm, bron
    min_contract: int
    contract: tuple[str, str, str]
    herhaal_maanden: int
    herhaal_bron: str
    herhaal_geen: Reden  # the reason when there was no earlier premium: the same for every client
    behoud_maanden: int
    behoud_bron: str
    behoud_voorwaarde: str
    bedrag_deel_1: Decimal
    bedrag_deel_2: Decimal


def instellingen(p: Parameters, werk_start: date) -> Instellingen:
    """Read every Premie op Werk parameter in force on `werk_start` (cached per date by `p.bundel`)."""
    maanden, duur_bron = p.met_bron(_P + "min_bijstand_maanden", werk_start)
    meer_dan = p(_P + "bijstand_duur_vergelijking", werk_start) == "meer_dan"
    lks_onder, lks_bron = None, ""
    if p(_P + "lks_route", werk_start):
        lks_onder, lks_bron = p.met_bron(_P + "lks_leeftijd_onder", werk_start)
    uren, uren_bron = p.met_bron(_P + "min_uren_per_week", werk_start)
    contract, contract_bron = p.met_bron(_P + "min_contract_maanden", werk_start)
    herhaal, herhaal_bron = p.met_bron(_P + "herhaaltermijn_maanden", werk_start)
    behoud, behoud_bron = p.met_bron(_P + "behoud_maanden", werk_start)
    return Instellingen(
        min_maanden=maanden,
        meer_dan=meer_dan,
        duur_label=f"{'meer dan' if meer_dan else 'ten minste'} {maanden} maanden",
        duur_voorwaarde=f"bijstand {'meer dan' if meer_dan else 'ten minste'} {maanden} maanden bij werkstart",
        duur_norm=(
            f"meer dan {maanden} maanden: werkstart na de dag {maanden} maanden na bijstand_sinds"
            if meer_dan
            else f"ten minste {maanden} maanden: werkstart op of na de dag {maanden} maanden na bijstand_sinds"
        ),
        duur_bron=duur_bron,
        lks_onder=lks_onder,
        lks_bron=lks_bron,
        min_uren=uren,
        uren=(f"ten minste {uren} uur per week", f">= {uren} uur", uren_bron),
        min_contract=contract,
        contract=(f"contract of vooruitzicht van ten minste {contract} maanden", f">= {contract} maanden", contract_bron),
        herhaal_maanden=herhaal,
        herhaal_bron=herhaal_bron,
        herhaal_geen=Reden("geen premie in de herhaaltermijn", "geen eerdere premie", f"geen eerdere premie binnen {herhaal} maanden", True, herhaal_bron),
        behoud_maanden=behoud,
        behoud_bron=behoud_bron,
        behoud_voorwaarde=f"deel 2: werk {behoud} maanden behouden (werk_nog_op en peildatum op of na werkstart + {behoud} maanden)",
        bedrag_deel_1=p(_P + "bedrag_deel_1", werk_start),
        bedrag_deel_2=p(_P + "bedrag_deel_2", werk_start),
    )


def bijstandsduur(f: dict[str, Any], s: Instellingen, redenen: list[Reden], *, lks_route: bool) -> bool:
    """Bijstand long enough on the day work starts (or, from 2023, younger than 27 with LKS); one Reden.

    "More than 36 months" means: werk_start > bijstand_sinds + 36 months (exactly 36 is not enough);
    "at least 6 months" means: werk_start >= bijstand_sinds + 6 months. Months as calendar months.
    """
    ws: date = f["werk_start"]
    bs: date = f["bijstand_sinds"]
    if ws >= bs:
        m, d = maanden_en_dagen(bs, ws)
        # more than N months: past the same day N months later; at least N months: on or past it
        duur_ok = (m > s.min_maanden or (m == s.min_maanden and d > 0)) if s.meer_dan else m >= s.min_maanden
        duur = f"{m} maanden en {d} {'dag' if d == 1 else 'dagen'}"
    else:
        duur_ok = False
        duur = f"geen bijstand bij werkstart (bijstand sinds {bs.isoformat()})"
    norm = s.duur_norm
    onder = s.lks_onder
    if not lks_route or onder is None:
        redenen.append(snelle_reden((s.duur_voorwaarde, duur, norm, duur_ok, s.duur_bron)))
        return duur_ok
    jaren = leeftijd(f["geboortedatum"], ws)
    lks = f["lks_indicatie"]
    ok = duur_ok or (jaren < onder and lks is True)
    redenen.append(
        Reden(
            f"bijstand {s.duur_label}, of jonger dan {onder} met LKS-indicatie",
            f"{duur}; leeftijd bij werkstart {jaren}; LKS-indicatie {'ja' if lks else 'nee'}",
            f"{norm}; of leeftijd onder {onder} en LKS-indicatie ja",
            ok,
            f"{s.duur_bron}; {s.lks_bron}",
        )
    )
    return ok


def herhaaltermijn(f: dict[str, Any], s: Instellingen, redenen: list[Reden]) -> bool:
    """At most one premium per `herhaaltermijn_maanden`: no earlier premium whose work start lies less than
    that many months before or after this one, and never a second premium for the same work start. Earlier
    premiums: the engine's own history (part 1 of every premium payout not rejected) and a grant from before
    the engine (`eerdere_premie_op`). One Reden, naming the earlier premium (date and trajectory)."""
    ws: date = f["werk_start"]
    eerder = [t for t in f["eerdere_toekenningen"] if t.regel in PREMIES and t.deel == 1]
    if f["eerdere_premie_op"] is not None:
        eerder.append(Toekenning("premie_op_werk", 1, "", f["eerdere_premie_op"], None))
    if not eerder:
        redenen.append(s.herhaal_geen)
        return True
    n = s.herhaal_maanden
    binnen = [t for t in eerder
              if t.datum == ws or (plus_maanden(t.datum, n) > ws and plus_maanden(ws, n) > t.datum)]
    norm = (f"geen eerdere premie met een werkstart binnen {n} maanden van {ws.isoformat()}; "
            "nooit twee premies voor dezelfde werkstart")
    waarde = "; ".join(t.tekst() for t in (binnen or eerder))
    redenen.append(Reden("geen premie in de herhaaltermijn", waarde, norm, not binnen, s.herhaal_bron))
    return not binnen


def voorwaarden(f: dict[str, Any], s: Instellingen) -> tuple[bool, list[Reden]]:
    """The eligibility conditions of Premie op Werk under the version in force on `werk_start`."""
    redenen: list[Reden] = []
    duur_ok = bijstandsduur(f, s, redenen, lks_route=True)
    uren = f["uren_per_week"]
    uren_ok = uren >= s.min_uren
    redenen.append(snelle_reden((s.uren[0], uren, s.uren[1], uren_ok, s.uren[2])))
    contract = f["contract_maanden"]
    contract_ok = contract >= s.min_contract
    redenen.append(snelle_reden((s.contract[0], contract, s.contract[1], contract_ok, s.contract[2])))
    herhaal_ok = herhaaltermijn(f, s, redenen)
    return duur_ok and uren_ok and contract_ok and herhaal_ok, redenen


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
    s = p.bundel("premie_op_werk", ws, instellingen)
    ok, redenen = voorwaarden(f, s)
    deel_2_op = plus_maanden(ws, s.behoud_maanden)
    nog = f["werk_nog_op"]
    deel_2 = nog is not None and nog >= deel_2_op and peildatum >= deel_2_op
    # the norm is the date werk_start + behoud_maanden; werk_nog_op and the peildatum must reach it
    redenen.append(snelle_reden((s.behoud_voorwaarde, nog, deel_2_op, deel_2, s.behoud_bron)))
    if not ok:
        return False, (), redenen
    if deel_2:
        return True, (Betaling(1, s.bedrag_deel_1, ws), Betaling(2, s.bedrag_deel_2, deel_2_op)), redenen
    return True, (Betaling(1, s.bedrag_deel_1, ws),), redenen


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
    ok, redenen = voorwaarden(f, p.bundel("premie_op_werk", f["werk_start"], instellingen))
    return ok, (), redenen


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
    ws: date = f["werk_start"]
    redenen: list[Reden] = []
    blijft = f["blijft_in_bijstand"]
    redenen.append(Reden("blijft in de bijstand (parttime werk)", blijft, True, blijft, BRON_PARTTIME))
    s = p.bundel("premie_op_werk", ws, instellingen)
    duur_ok = bijstandsduur(f, s, redenen, lks_route=False)
    herhaal_ok = herhaaltermijn(f, s, redenen)
    if not (blijft and duur_ok and herhaal_ok):
        return False, (), redenen
    percentage, bron = p.met_bron("premie_op_werk_parttime.percentage", ws)
    loon = f["netto_jaarloon"]
    bedrag = (loon * percentage).quantize(_CENT, rounding=ROUND_HALF_UP)
    redenen.append(
        Reden("premie: percentage van het netto jaarloon", loon, f"{percentage * 100:g}% = {bedrag}", True, bron)
    )
    return True, (Betaling(1, bedrag, ws),), redenen

