"""Vouchers: EUR 2,500 to an employer who co-finances the placement of someone from the bijstand, for
a job of at least 20 hours a week; EUR 1,500 more when a follow-up contract of at least 6 months follows.
At most 50 vouchers a year.

Policy (raadsbrief 2017 over het BUIG-tekort, "Vouchers"): "algemene vouchers van € 2.500,— ... uitkeren
aan de werkgever. We stellen maximaal 50 vouchers beschikbaar ... voorwaarde ... dat de werkgever
co-financiert ... een voucher aan van € 1.500,— wanneer na de eerste arbeidsovereenkomst een vervolg
arbeidsovereenkomst volgt van ten minste 6 maanden ... dienstverband van min. 20 uren per week".

One voucher per employment: a payment's subject is the work start (`onderwerp`), so its payout key is one
per job, and `vouchers.toegang` refuses a voucher for a work start the engine already paid one for
(`eerdere_toekenningen`, the engine's own history).

The yearly capacity is enforced by `vouchers.toegang` from `gestart_dit_jaar`, a fact the engine
supplies (trajectories of this instrument already started in the calendar year of the peildatum).
Part 2 is paid once the follow-up contract has run `vouchers.vervolg_min_maanden` months (product
choice: the rule checks the 6 months from dates, not from a person's judgement of the contract).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Betaling, Reden
from ._datums import plus_maanden
from ._feiten import DATUM, GEHEEL, GETAL, JA_NEE, TOEKENNINGEN, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import in_bijstand, ja, ten_minste

BRON = "Raadsbrief 2017 gemeente Groningen (BUIG-tekort en extra maatregelen): Vouchers"
_P = "vouchers."

WERK = {
    "werk_start": Feit(DATUM, True, "eerste werkdag bij de werkgever"),
    "uren_per_week": Feit(GETAL, True, "uren per week volgens de arbeidsovereenkomst"),
    "cofinanciering": Feit(JA_NEE, True, "de werkgever co-financiert begeleiding of opleiding"),
}


def _plaatsing(f: dict[str, Any], p: Parameters) -> list[Reden]:
    """The conditions on the job itself, under the version in force on the work start."""
    minimum, bron = p.met_bron(_P + "min_uren_per_week", f["werk_start"])
    uren = f["uren_per_week"]
    return [
        ten_minste("dienstverband van ten minste {minimum} uur per week", uren, minimum, "uur", bron),
        ja("werkgever co-financiert", f["cofinanciering"], BRON),
    ]


@regel(
    "vouchers.toegang",
    omschrijving="Toegang tot een voucher: plaatsing vanuit de bijstand, >= 20 uur, co-financiering, ruimte in het jaar",
    bron=BRON,
    feiten={
        **WERK,
        "bijstand_sinds": Feit(DATUM, True, "eerste dag van de bijstandsuitkering voor de werkstart"),
        "gestart_dit_jaar": Feit(GEHEEL, True, "vouchertrajecten al gestart in het kalenderjaar van de peildatum (levert de engine)"),
        "eerdere_toekenningen": Feit(TOEKENNINGEN, False, "eerdere uitbetalingen aan de cliënt (levert de engine)", ()),
    },
    regeling="vouchers.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def vouchers_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    ws: date = f["werk_start"]
    maximum, bron = p.met_bron(_P + "max_per_jaar", ws)
    al = f["gestart_dit_jaar"]
    zelfde = [t for t in f["eerdere_toekenningen"] if t.regel == "vouchers" and t.deel == 1 and t.datum == ws]
    redenen = [
        in_bijstand(f["bijstand_sinds"], ws, BRON, "de werkstart"),
        *_plaatsing(f, p),
        Reden("één voucher per dienstverband", "; ".join(t.tekst() for t in zelfde) or "geen eerdere voucher",
              f"geen eerdere voucher voor de werkstart {ws.isoformat()}", not zelfde, BRON),
        Reden(f"nog ruimte: ten hoogste {maximum} vouchers per jaar", al,
              f"minder dan {maximum} al gestart in {peildatum.year}", al < maximum, bron),
    ]
    return all(r.voldaan for r in redenen), (), redenen


@regel(
    "vouchers",
    omschrijving="Voucher aan de werkgever: € 2.500 bij de plaatsing, € 1.500 na een vervolgcontract van 6 maanden",
    bron=BRON,
    feiten={
        **WERK,
        "vervolgcontract_start": Feit(DATUM, False, "eerste dag van de vervolgarbeidsovereenkomst"),
        "vervolg_nog_op": Feit(DATUM, False, "datum waarop vastgesteld is dat het vervolgcontract nog loopt"),
    },
    regeling="vouchers.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("voucher toegekend", "geen voucher"),
    onderwerp=("werk_start",),
)
def vouchers(f: dict[str, Any], peildatum: date, p: Parameters):
    ws: date = f["werk_start"]
    redenen = _plaatsing(f, p)
    if not all(r.voldaan for r in redenen):
        return False, (), redenen
    betalingen = [Betaling(1, p(_P + "bedrag_deel_1", ws), ws)]
    maanden, bron = p.met_bron(_P + "vervolg_min_maanden", ws)
    start, nog = f["vervolgcontract_start"], f["vervolg_nog_op"]
    if start is None:
        redenen.append(Reden("deel 2: vervolgcontract", None, "nog geen vervolgcontract", False, BRON))
    else:
        na_eerste = start > ws
        tot = plus_maanden(start, maanden)
        gelopen = nog is not None and nog >= tot and peildatum >= tot
        redenen.append(Reden("deel 2: vervolgcontract volgt op de eerste overeenkomst", start,
                             f"na {ws.isoformat()}", na_eerste, BRON))
        redenen.append(Reden(f"deel 2: vervolgcontract loopt ten minste {maanden} maanden", nog,
                             f"nog aan het werk op of na {tot.isoformat()}", gelopen, bron))
        if na_eerste and gelopen:
            betalingen.append(Betaling(2, p(_P + "bedrag_deel_2", ws), tot))
    return True, tuple(betalingen), redenen
