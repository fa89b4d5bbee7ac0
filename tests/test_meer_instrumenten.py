"""Six more instruments from the documents (issue P7): each one small declarative file plus its rule,
run through simulated months with ``tests/simulatie.py`` on SQLite and PostgreSQL (``db_url``).

Expected days are worked out by hand from the YAML and the Dutch calendar (the clock fixture starts on
Mon 2026-01-05; steps are due at 08:00 and roll past weekends and holidays). The rules' boundaries are
golden cases in ``tests/regels/gevallen/meer_instrumenten.yaml``; here they are shown through the engine.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import at, count, planned
from tests.simulatie import OPEN, assert_tijdlijn, lees_tijdlijn, nieuwe_client, simuleer
from trajecten.geld import uitbetalingen
from trajecten.kern.definitie import INSTRUMENTEN_DIR, load_dir
from trajecten import StartVerzoek
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer
from trajecten.opslag.models import Traject

NIEUW = ["activeren_27plus", "basisbaan", "jobhunting", "jongeren_in_beeld", "parttime_naar_fulltime", "vouchers"]
JONG = {"heeft_werk": False, "heeft_uitkering": False, "volgt_onderwijs": False}
VOUCHER = {"werkgever_naam": "Bakkerij Jansen BV", "werkgever_iban": "NL91 ABNA 0417 1643 00",
           "werk_start": "2026-01-12", "contract_eind": "2026-07-11", "uren_per_week": "24", "cofinanciering": True}
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def _refused(exc) -> list[str]:
    return [r.voorwaarde for r in exc.value.besluit.redenen if not r.voldaan]


# --------------------------------------------------------------------------- the files


def test_each_new_instrument_is_one_small_file_with_rule_and_target():
    import regels

    loaded = load_dir()
    for name in NIEUW:
        inst, text = loaded[name]
        assert len(text.splitlines()) < 80, f"{name}: {len(text.splitlines())} regels"
        assert inst.regel in regels.RULES and inst.bron and inst.jaardoel.omschrijving
        for st in inst.stappen:
            assert st.regel is None or st.regel in regels.RULES
        assert (INSTRUMENTEN_DIR / f"{name}.yaml").exists()
    assert [loaded[n][0].jaardoel.aantal for n in NIEUW] == [0, 14, 50, 250, 100, 50]


def test_new_rules_never_read_nationality_or_origin():
    import regels

    for name in NIEUW:
        for regel in [n for n in regels.RULES if n.split(".")[0] == name]:
            for feit in regels.RULES[regel].feiten:
                regels.controleer_feitnaam(regel, feit)  # raises VerbodenFeit for a forbidden fact
                assert not any(w in feit for w in ("nationaliteit", "herkomst", "geboorteland")), (regel, feit)


# --------------------------------------------------------------------------- jobhunting


def test_jobhunting_is_one_month_of_weekly_employer_contacts(engine):
    t = simuleer(engine, "jobhunting", {"reguliere_route_geprobeerd": True}, maanden=2,
                 taken={"eindgesprek": "betaald_werk"})
    assert_tijdlijn(t, [
        ("2026-01-07", "kennismaking"),  # +2wd
        ("2026-01-12", "werkgevers_benaderen"),  # +1w, weekly until the final talk
        ("2026-01-19", "werkgevers_benaderen"),
        ("2026-01-26", "werkgevers_benaderen"),
        ("2026-02-02", "werkgevers_benaderen"),
        ("2026-02-05", "eindgesprek"),  # +1mo
        ("2026-02-05", "afsluiten"),
    ], uitkomst="betaald_werk", status="beeindigd")


def test_jobhunting_found_job_stops_the_search_and_suggests_jobcoaching(engine):
    t = simuleer(engine, "jobhunting", {"reguliere_route_geprobeerd": True}, maanden=2,
                 gebeurtenissen={"2026-01-21": "baan_gevonden"}, taken={"eindgesprek": "betaald_werk"})
    assert_tijdlijn(t, [("2026-01-12", "werkgevers_benaderen"), ("2026-01-19", "werkgevers_benaderen"),
                        ("2026-01-21", "jobcoaching_overwegen")],
                    alleen={"werkgevers_benaderen", "jobcoaching_overwegen"})
    assert ("werkgevers_benaderen", 2) in t.geannuleerd and t.feiten["werk_start"] == "2026-01-21"
    assert t.uitkomst == "betaald_werk"


def test_jobhunting_only_after_the_regular_routes(engine):
    cid = nieuwe_client(engine)
    with pytest.raises(NietToegelaten) as exc:
        engine.start("jobhunting", cid, {"reguliere_route_geprobeerd": False}, actor="test:coach")
    assert _refused(exc) == ["reguliere routes geprobeerd zonder passend werk"]


# --------------------------------------------------------------------------- vouchers


def test_voucher_pays_the_employer_both_parts_after_a_six_month_follow_up(engine):
    t = simuleer(engine, "vouchers", VOUCHER, maanden=14, gebeurtenissen={"2026-06-20": "vervolgcontract"})
    assert_tijdlijn(t, [
        ("2026-01-12", "voucher_deel_1"),  # on werk_start
        ("2026-02-12", "contact_werkgever"),
        ("2026-06-15", "vervolg_navragen"),  # contract_eind 11 Jul - 4w = Sat 13 Jun -> Mon 15 Jun
        ("2026-06-20", "wacht_op_vervolg"),  # the event came: ontvangen
        ("2026-12-21", "controle_vervolg"),  # vervolgcontract_start 20 Jun + 6mo = Sun 20 Dec -> Mon
        ("2026-12-21", "voucher_deel_2"),
    ], status="actief")  # part 2 proposed: the trajectory ends when a second person approves it
    assert t.uitbetalingen == [
        (1, Decimal("2500.00"), date(2026, 1, 12), "Bakkerij Jansen BV", "NL91ABNA0417164300", "voorgesteld"),
        (2, Decimal("1500.00"), date(2026, 12, 20), "Bakkerij Jansen BV", "NL91ABNA0417164300", "voorgesteld"),
    ]
    part_2 = next(p for p in uitbetalingen.lijst(engine) if p.traject_id == t.traject_id and p.deel == 2)
    uitbetalingen.keur_goed(engine, part_2.id, door="teamleider.x")
    tr = engine.timeline(t.traject_id)["traject"]
    assert (tr.status, tr.uitkomst) == ("beeindigd", "volledige_voucher")


def test_voucher_without_follow_up_contract_pays_only_part_one(engine):
    t = simuleer(engine, "vouchers", VOUCHER, maanden=10)
    assert_tijdlijn(t, [("2026-01-12", "voucher_deel_1"), ("2026-02-12", "contact_werkgever"),
                        ("2026-06-15", "vervolg_navragen"),
                        ("2026-08-10", "wacht_op_vervolg"),  # 11 Jul + 4w = Sat 8 Aug -> Mon 10 Aug: verlopen
                        ("2026-08-10", "afsluiten_deel_1")], uitkomst="alleen_deel_1")
    assert [p[0] for p in t.uitbetalingen] == [1]


def test_voucher_follow_up_contract_ended_early_pays_no_part_two(engine):
    t = simuleer(engine, "vouchers", VOUCHER, maanden=14, gebeurtenissen={"2026-07-12": "vervolgcontract"},
                 taken={"controle_vervolg": "beeindigd"})
    assert t.paren()[-2:] == [("2027-01-12", "controle_vervolg"), ("2027-01-12", "afsluiten_beeindigd")]
    assert t.uitkomst == "alleen_deel_1" and [p[0] for p in t.uitbetalingen] == [1]


@pytest.mark.parametrize("feiten, veld", [
    ({**VOUCHER, "werkgever_iban": "NL91ABNA0417164301"}, "feit werkgever_iban"),  # bad check digits
    ({**VOUCHER, "werkgever_iban": "geen iban"}, "feit werkgever_iban"),
    ({k: v for k, v in VOUCHER.items() if k != "werkgever_naam"}, "feit werkgever_naam"),
])
def test_voucher_employer_account_is_checked_at_start(engine, feiten, veld):
    cid = nieuwe_client(engine)
    with pytest.raises(OngeldigeInvoer) as exc:
        engine.start("vouchers", cid, feiten, actor="test:coach")
    assert exc.value.veld == veld
    assert count(engine, Traject.__table__) == 0


def test_voucher_needs_twenty_hours_and_co_financing(engine):
    cid = nieuwe_client(engine)
    with pytest.raises(NietToegelaten) as exc:
        engine.start("vouchers", cid, {**VOUCHER, "uren_per_week": "19.5", "cofinanciering": False}, actor="x")
    assert _refused(exc) == ["dienstverband van ten minste 20 uur per week", "werkgever co-financiert"]


def test_voucher_capacity_fifty_a_year_enforced_by_the_rule(engine, clock):
    clients = [nieuwe_client(engine) for _ in range(52)]
    # 49 in one batch: each request counts those accepted before it in the same batch
    res = engine.start_many("vouchers", [StartVerzoek(c, VOUCHER) for c in clients[:49]], actor="test:coach")
    assert all(not isinstance(r, Exception) for r in res)
    assert [r.besluit.redenen[-1].waarde for r in res] == list(range(49))
    preview = engine.toegang("vouchers", clients[49], VOUCHER)
    assert preview.uitkomst is True  # the 50th is allowed
    fiftieth = engine.start("vouchers", clients[49], VOUCHER, actor="test:coach")
    assert fiftieth.besluit.uitkomst is True and fiftieth.besluit.redenen[-1].waarde == 49
    with pytest.raises(NietToegelaten) as exc:  # the 51st is refused, with the reason
        engine.start("vouchers", clients[50], VOUCHER, actor="test:coach")
    assert _refused(exc) == ["nog ruimte: ten hoogste 50 vouchers per jaar"]
    reden = [r for r in exc.value.besluit.redenen if not r.voldaan][0]
    assert reden.waarde == 50 and reden.norm == "minder dan 50 al gestart in 2026"
    assert count(engine, Traject.__table__) == 50
    clock.set(at(2027, 1, 4, 9))  # a new calendar year: room again
    nxt = engine.start("vouchers", clients[51], {**VOUCHER, "werk_start": "2027-01-11", "contract_eind": "2027-07-10"},
                       actor="test:coach")
    assert nxt.besluit.redenen[-1].waarde == 0


@pytest.mark.postgres
def test_voucher_capacity_holds_when_two_start_the_fiftieth_at_once(pg_url, clock):
    """Both starts decide at the same moment (a barrier inside the rule hook): without the per-instrument
    lock both would count 49 and both would start; with it the second counts 50 and is refused."""
    from tests.conftest import open_engine, reset_pg

    reset_pg(pg_url)
    eng = open_engine(pg_url, clock)
    try:
        clients = [nieuwe_client(eng) for _ in range(51)]
        eng.start_many("vouchers", [StartVerzoek(c, VOUCHER) for c in clients[:49]], actor="test:coach")
        barrier, inner = threading.Barrier(2), eng.rules

        class Tegelijk:  # the real rules, but both deciders meet before deciding (at most 3 s)
            known, fact_names = inner.known, inner.fact_names

            def decide(self, regel, feiten, peildatum):
                if regel == "vouchers.toegang":
                    try:
                        barrier.wait(timeout=3)
                    except threading.BrokenBarrierError:
                        pass
                return inner.decide(regel, feiten, peildatum)

        eng.rules = Tegelijk()
        uitkomsten: list[bool] = []

        def start(cid):
            try:
                uitkomsten.append(eng.start("vouchers", cid, VOUCHER, actor="test:coach").besluit.uitkomst)
            except NietToegelaten:
                uitkomsten.append(False)

        threads = [threading.Thread(target=start, args=(c,)) for c in clients[49:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(uitkomsten) == [False, True]
        assert count(eng, Traject.__table__) == 50
    finally:
        eng.db.dispose()


def test_voucher_sepa_file_pays_the_employer_after_four_eyes(engine):
    cid = nieuwe_client(engine, naam="Piet Cliënt", iban="NL02ABNA0123456789")
    tid = engine.start("vouchers", cid, VOUCHER, actor="coach.a").traject_id
    engine.sweep(now=at(2026, 1, 12, 9))
    (pid, status, bedrag), = [(p.id, p.status, p.bedrag) for p in uitbetalingen.lijst(engine)]
    assert status == "voorgesteld" and bedrag == Decimal("2500.00")
    with pytest.raises(NietToegelaten):
        uitbetalingen.keur_goed(engine, pid, door="coach.a")  # who started the trajectory cannot approve
    uitbetalingen.keur_goed(engine, pid, door="teamleider.b")
    res = uitbetalingen.exporteer(engine, door="financien.c")
    assert res.aantal == 1 and res.totaal == Decimal("2500.00")
    tx = ET.fromstring(res.xml).find(".//p:CdtTrfTxInf", NS)
    assert tx.find("p:Cdtr/p:Nm", NS).text == "Bakkerij Jansen BV"
    assert tx.find("p:CdtrAcct/p:Id/p:IBAN", NS).text == "NL91ABNA0417164300"  # the employer's, not the client's
    assert tx.find("p:Amt/p:InstdAmt", NS).text == "2500.00"
    assert b"NL02ABNA0123456789" not in res.xml and "Piet" not in res.xml.decode()
    assert lees_tijdlijn(engine, tid).uitbetalingen[0][5] == "geexporteerd"


# --------------------------------------------------------------------------- jongeren in beeld


def test_jongeren_in_beeld_reached_gets_an_offer(engine):
    t = simuleer(engine, "jongeren_in_beeld", JONG, maanden=6, client={"geboortedatum": date(2000, 3, 1),
                                                                     "bijstand_sinds": None},
                 gebeurtenissen={"2026-01-15": "bereikt"}, taken={"aanbod": "school"})
    assert_tijdlijn(t, [
        ("2026-01-07", "benaderingspoging"),  # +2wd, weekly, at most 3
        ("2026-01-14", "benaderingspoging"),
        ("2026-01-15", "wacht_op_contact"),  # reached: the third attempt is cancelled
        ("2026-01-22", "kennismaking"),  # event +5wd
        ("2026-02-05", "aanbod"),  # +2w
        ("2026-05-05", "nacontrole"),  # +3mo
        ("2026-05-05", "afsluiten_na_nacontrole"),
    ], uitkomst="school")
    assert t.geannuleerd == [("benaderingspoging", 2)]


def test_jongeren_in_beeld_not_reached_ends_after_three_attempts(engine):
    t = simuleer(engine, "jongeren_in_beeld", JONG, maanden=3, client={"geboortedatum": date(2000, 3, 1)})
    assert_tijdlijn(t, [("2026-01-07", "benaderingspoging"), ("2026-01-14", "benaderingspoging"),
                        ("2026-01-21", "benaderingspoging"),
                        ("2026-02-09", "wacht_op_contact"),  # +5w: verlopen
                        ("2026-02-09", "afsluiten_niet_bereikt")], uitkomst="niet_bereikt")


def test_jongeren_in_beeld_refusal_ends_without_consequence(engine):
    t = simuleer(engine, "jongeren_in_beeld", JONG, maanden=6, client={"geboortedatum": date(2000, 3, 1)},
                 gebeurtenissen={"2026-01-15": "bereikt", "2026-01-23": "weigert"}, taken={"kennismaking": OPEN})
    assert t.status == "beeindigd" and t.uitkomst == "geen_deelname" and t.eind_datum == date(2026, 1, 23)
    assert t.paren()[-1] == ("2026-01-22", "kennismaking")  # nothing fires after the refusal
    assert t.gebeurtenissen[-2:] == ["weigert", "traject_beeindigd"]  # no sanction, no payout, no follow-up
    assert not t.uitbetalingen and planned(engine, t.traject_id) == {}


@pytest.mark.parametrize("geboren, toegelaten", [
    (date(2003, 1, 5), True),  # 23 today
    (date(2003, 1, 6), False),  # 23 tomorrow
    (date(1998, 1, 6), True),  # 27, 28 tomorrow
    (date(1998, 1, 5), False),  # 28 today
])
def test_jongeren_in_beeld_age_23_to_27(engine, geboren, toegelaten):
    cid = nieuwe_client(engine, geboortedatum=geboren, bijstand_sinds=None)
    assert engine.toegang("jongeren_in_beeld", cid, JONG).uitkomst is toegelaten


# --------------------------------------------------------------------------- basisbaan


def test_basisbaan_three_years_with_periodic_evaluations(engine):
    t = simuleer(engine, "basisbaan", {"werk_start": "2026-02-02", "regulier_werk_niet_gelukt": True,
                                       "werk_additioneel": True}, maanden=40,
                 taken={"eindevaluatie": "basisbaan_voortgezet"})
    assert_tijdlijn(t, [
        ("2026-02-02", "start_werk"),
        ("2026-03-16", "armoedeval_check"),  # +6w
        ("2026-08-03", "evaluatie"),  # +6mo = Sun 2 Aug -> Mon; then every 6 months from there, 5 in all
        ("2027-02-03", "evaluatie"),
        ("2027-08-03", "evaluatie"),
        ("2028-02-03", "evaluatie"),
        ("2028-08-03", "evaluatie"),
        ("2028-11-02", "einde_experiment_voorbereiden"),  # +3y-3mo
        ("2029-02-02", "eindevaluatie"),  # the end of the 3 years
        ("2029-02-02", "afsluiten"),
    ], uitkomst="basisbaan_voortgezet")


def test_basisbaan_stopping_ends_the_trajectory(engine):
    t = simuleer(engine, "basisbaan", {"werk_start": "2026-02-02", "regulier_werk_niet_gelukt": True,
                                       "werk_additioneel": True}, maanden=12, gebeurtenissen={"2026-05-01": "uitgevallen"})
    assert t.uitkomst == "uitgevallen" and t.eind_datum == date(2026, 5, 1)
    assert t.paren() == [("2026-02-02", "start_werk"), ("2026-03-16", "armoedeval_check")]


def test_basisbaan_only_when_regular_work_did_not_succeed(engine):
    cid = nieuwe_client(engine)
    with pytest.raises(NietToegelaten) as exc:
        engine.start("basisbaan", cid, {"werk_start": "2026-02-02", "regulier_werk_niet_gelukt": False,
                                        "werk_additioneel": True}, actor="x")
    assert _refused(exc) == ["regulier werk lukte niet ondanks ondersteuning"]


# --------------------------------------------------------------------------- parttime naar fulltime


def test_parttime_naar_fulltime_outflow_checked_after_six_months(engine):
    t = simuleer(engine, "parttime_naar_fulltime", {"uren_per_week": "16"}, maanden=14,
                 gebeurtenissen={"2026-03-02": "uitgestroomd"})
    assert_tijdlijn(t, [
        ("2026-01-08", "intake"),  # +3wd
        ("2026-01-19", "coaching"),  # +2w, every 2 weeks until the evaluation
        ("2026-01-26", "werkgever_benaderen"),  # +3w
        ("2026-02-02", "coaching"),
        ("2026-02-16", "coaching"),
        ("2026-03-02", "coaching"),
        ("2026-09-02", "nacontrole"),  # uitstroom + 6mo
        ("2026-09-02", "afsluiten_na_uitstroom"),
    ], uitkomst="duurzaam_uitgestroomd")
    assert ("evaluatie", 0) in t.geannuleerd  # outflow cancels the 6-month evaluation


def test_parttime_naar_fulltime_without_outflow_ends_at_the_evaluation(engine):
    t = simuleer(engine, "parttime_naar_fulltime", {"uren_per_week": "20"}, maanden=8, taken={"evaluatie": "meer_uren"})
    coaching = [d for d, s in t.paren() if s == "coaching"]
    # every 2 weeks from 19 Jan; Koningsdag (Mon 27 Apr) moves one to Tue 28 Apr and the rest follow it
    assert coaching == ["2026-01-19", "2026-02-02", "2026-02-16", "2026-03-02", "2026-03-16", "2026-03-30",
                        "2026-04-13", "2026-04-28", "2026-05-12", "2026-05-26", "2026-06-09", "2026-06-23"]
    assert t.paren()[-2:] == [("2026-07-06", "evaluatie"), ("2026-07-06", "afsluiten")]  # Sun 5 Jul -> Mon
    assert t.uitkomst == "meer_uren"


def test_parttime_naar_fulltime_needs_part_time_work(engine):
    cid = nieuwe_client(engine)
    with pytest.raises(NietToegelaten) as exc:
        engine.start("parttime_naar_fulltime", cid, {"uren_per_week": "0"}, actor="x")
    assert _refused(exc) == ["heeft parttime inkomsten uit werk"]


# --------------------------------------------------------------------------- activeren 27+


def test_activeren_27plus_expectations_from_the_first_day(engine):
    t = simuleer(engine, "activeren_27plus", {"aanvraagdatum": "2026-01-02"}, maanden=3,
                 taken={"evaluatie": "bijstand_met_plan"})
    assert_tijdlijn(t, [
        ("2026-01-05", "verwachtingengesprek"),  # aanvraag Fri 2 Jan + 1wd
        ("2026-01-07", "afspraken_vastleggen"),  # +2wd after the talk
        ("2026-01-21", "voortgang"),  # every 2 weeks, 3 times
        ("2026-02-04", "voortgang"),
        ("2026-02-18", "voortgang"),
        ("2026-02-27", "evaluatie"),  # aanvraag + 8w
        ("2026-02-27", "afsluiten"),
    ], uitkomst="bijstand_met_plan")


def test_activeren_27plus_work_found_ends_early(engine):
    t = simuleer(engine, "activeren_27plus", {"aanvraagdatum": "2026-01-02"}, maanden=3,
                 gebeurtenissen={"2026-01-26": "werk_gevonden"})
    assert t.uitkomst == "werk_gevonden" and t.eind_datum == date(2026, 1, 26)
    assert ("evaluatie", 0) not in [(r.stap, r.volgnr) for r in t.stappen]


@pytest.mark.parametrize("geboren, aanvraag, refused", [
    (date(1999, 1, 2), "2026-01-02", []),  # 27 on the day of the application
    (date(1999, 1, 3), "2026-01-02", ["leeftijd ten minste 27 jaar op 2026-01-02"]),  # 26
    (date(1980, 1, 1), "2025-12-22", []),  # started 14 days after the application
    (date(1980, 1, 1), "2025-12-21", ["start binnen 14 dagen na de aanvraag"]),
    (date(1980, 1, 1), "2026-01-06", ["aanvraag ingediend"]),  # not yet applied
])
def test_activeren_27plus_age_and_start_window(engine, geboren, aanvraag, refused):
    cid = nieuwe_client(engine, geboortedatum=geboren)
    besluit = engine.toegang("activeren_27plus", cid, {"aanvraagdatum": aanvraag})
    assert [r.voorwaarde for r in besluit.redenen if not r.voldaan] == refused


def test_author_guide_documents_every_field_of_the_format():
    from pathlib import Path

    from trajecten.kern import definitie as d

    guide = (Path(__file__).resolve().parent.parent / "docs" / "instrument-schrijven.md").read_text(encoding="utf-8")
    for model in (d.Instrument, d.Feit, d.Jaardoel, d.Begin, d.Gebeurtenis, d.Stap, d.Herhaling, d.Voorwaarde):
        missing = [f for f in model.model_fields if f"| `{f}`" not in guide]
        assert not missing, f"{model.__name__}: {missing} missing from the schema reference"
    for kind in d.StapSoort:
        assert f"`{kind.value}`" in guide


# --------------------------------------------------------------------------- the helper itself


def test_assert_tijdlijn_fails_on_a_wrong_day_and_names_it(engine):
    t = simuleer(engine, "activeren_27plus", {"aanvraagdatum": "2026-01-02"}, maanden=1)
    with pytest.raises(AssertionError, match=r"ontbreekt: \[\('2026-01-06', 'verwachtingengesprek'\)\]"):
        assert_tijdlijn(t, [("2026-01-06", "verwachtingengesprek")], alleen={"verwachtingengesprek"})
    with pytest.raises(AssertionError, match="uitkomst"):
        assert_tijdlijn(t, t.paren(), uitkomst="werk_gevonden")
