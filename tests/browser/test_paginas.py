"""The backoffice in a real headless Chromium against a real server (see conftest.py).

The four stories of the issue, in order (they share one server and move its clock only forward):
(a) a coach starts Intensief begeleiden, seeing the eligibility reasons before confirming, sees the planned
steps and completes a task; (b) four-eyes on a Premie op Werk payout: the team lead who started the
trajectory cannot approve it (disabled button with the reason, and a forged POST is refused with an
explanation); a second person approves it; (c) finance exports and downloads the SEPA file (pain.001,
right amount); (d) the monitoring page draws its bar charts from the demo data. Every page is
photographed into docs/screenshots/ along the way.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from trajecten.opslag.models import Taak, Traject, Uitbetaling
from trajecten.basis.tijd import local_date

from .conftest import inloggen, schiet

pytestmark = pytest.mark.slow

K, T, U = Taak.__table__, Traject.__table__, Uitbetaling.__table__
STATE: dict = {}  # what one story hands to the next (the trajectory, the payout)


def fouten_in_console(page) -> list[str]:
    """Collect console errors (a CSP violation, a failed sub-resource) for the rest of the page's life."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def flash(page) -> str:
    return page.locator("p.melding").first.inner_text()


def test_a_coach_starts_intensief_begeleiden_and_completes_a_task(live, nieuwe_context):
    ctx = nieuwe_context()
    page = inloggen(ctx, live, "coach.oost.1", screenshot=True)
    errors = fouten_in_console(page)
    assert page.url == live.url + "/"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Mijn werklijst")
    assert page.get_by_role("link", name="Uitbetalingen").count() == 0  # nav: only what a coach may use

    # find the client by name, open the file: BSN masked
    page.get_by_role("link", name="Cliënten").click()
    page.get_by_label("Zoek op naam").fill("Browsertest")
    page.locator("form[action='/clienten'] button").click()
    page.get_by_role("link", name=live.client_naam).click()
    assert re.search(rf"/clienten/{live.client_id}$", page.url)
    dd = page.locator("dl.gegevens dd").first.inner_text()
    assert dd == "******782" and "123456782" not in page.content()

    # Traject starten: choose the instrument, fill the facts, check eligibility; the reasons show first
    page.get_by_role("link", name="Traject starten").click()
    assert "/trajecten/nieuw?client=" in page.url
    page.get_by_label("Instrument").select_option("intensief_begeleiden")
    page.get_by_role("button", name="Kies instrument").click()
    assert page.get_by_role("button", name="Start traject").count() == 0  # not before the check
    page.locator("#feit_variant").fill("richting_werk")
    page.get_by_role("button", name="Controleer").click()
    besluit = page.locator("div.besluit")
    assert besluit.get_attribute("class") == "besluit ja"
    assert "Toegelaten" in besluit.inner_text() and "intensief_begeleiden.toegang" in besluit.inner_text()
    redenen = besluit.locator("table.redenen tbody tr")
    assert redenen.count() >= 2
    assert besluit.locator("tr.voldaan").count() == redenen.count()
    assert page.locator("#feit_variant").input_value() == "richting_werk"  # the facts survive the check
    schiet(page, "traject_starten")
    page.get_by_role("button", name="Start traject").click()

    # the trajectory: its planned steps
    m = re.search(r"/trajecten/(\d+)$", page.url)
    assert m, page.url
    tid = int(m.group(1))
    assert f"Traject {tid} gestart" in flash(page)
    stappen = page.locator("table", has=page.locator("th", has_text="Stap")).last
    tekst = stappen.inner_text()
    for stap in ("intake", "tussenevaluatie", "besluit week9", "nacontrole"):
        assert stap in tekst, tekst
    assert stappen.locator("tr.stap-gepland").count() >= 4

    # time passes: the sweep turns the intake step into a task on the coach's worklist
    taak = None
    for _ in range(10):
        live.clock.advance(timedelta(days=1))
        live.sweep()
        with live.engine.db.connect() as conn:
            taak = conn.execute(sa.select(K.c.id, K.c.titel).where(K.c.traject_id == tid, K.c.stap == "intake",
                                                                   K.c.status == "open")).first()
        if taak:
            break
    assert taak, "de intake werd geen taak"
    page.get_by_role("link", name="Mijn werklijst").click()
    rij = page.locator("tr", has=page.locator(f"a[href='/trajecten/{tid}']"))
    assert rij.count() == 1 and "Intake en ontwikkelplan opstellen" in rij.inner_text()
    assert rij.get_by_role("button", name=f"Afronden taak {taak.id}").is_enabled()
    schiet(page, "werklijst")
    page.goto(f"{live.url}/trajecten/{tid}")
    page.get_by_role("button", name=f"Afronden taak {taak.id}").click()
    assert re.search(rf"/trajecten/{tid}$", page.url)
    assert f"Taak {taak.id} afgerond" in flash(page)
    takenrij = page.locator("tr", has_text="Intake en ontwikkelplan opstellen").first
    assert "afgerond door coach.oost.1" in takenrij.inner_text()
    schiet(page, "traject")
    with live.engine.db.connect() as conn:
        assert conn.execute(sa.select(K.c.status, K.c.gesloten_door).where(K.c.id == taak.id)).one() == \
            ("afgerond", "coach.oost.1")

    # the client file now explains the decision in its timeline
    page.get_by_role("link", name=live.client_naam).first.click()
    assert "traject gestart" in page.locator("ol.tijdlijn").inner_text()
    assert page.locator("ol.tijdlijn li", has_text="traject gestart").locator("div.besluit.ja table.redenen").count() == 1
    schiet(page, "client")
    assert errors == []
    STATE["intensief"] = tid


def test_b_four_eyes_on_a_premie_op_werk_payout(live, nieuwe_context):
    vandaag = local_date(live.clock.now()).isoformat()
    eerste = inloggen(nieuwe_context(), live, "teamleider.oost")
    errors = fouten_in_console(eerste)
    eerste.goto(f"{live.url}/trajecten/nieuw?client={live.client_id}&instrument=premie_op_werk")
    eerste.locator("#feit_werk_start").fill(vandaag)
    eerste.locator("#feit_uren_per_week").fill("32")
    eerste.locator("#feit_contract_maanden").fill("12")
    eerste.get_by_role("button", name="Controleer").click()
    besluit = eerste.locator("div.besluit")
    assert besluit.get_attribute("class") == "besluit ja", besluit.inner_text()
    eerste.get_by_role("button", name="Start traject").click()
    tid = int(re.search(r"/trajecten/(\d+)$", eerste.url).group(1))

    live.sweep()  # werk_start is today: deel 1 (EUR 300) is proposed
    with live.engine.db.connect() as conn:
        pid, bedrag, status = conn.execute(sa.select(U.c.id, U.c.bedrag, U.c.status)
                                           .where(U.c.traject_id == tid, U.c.deel == 1)).one()
    assert (Decimal(bedrag), status) == (Decimal("300.00"), "voorgesteld")

    # the starter sees the payout, but the approve button is disabled and says why
    eerste.get_by_role("link", name="Uitbetalingen").click()
    rij = eerste.locator("tbody tr", has=eerste.locator(f"td:text-is('{pid}')"))
    assert rij.count() == 1
    knop = rij.get_by_role("button", name="Goedkeuren")
    assert knop.is_disabled()
    assert "u heeft dit traject gestart" in rij.inner_text()
    rij.scroll_into_view_if_needed()
    schiet(eerste, "uitbetalingen")
    assert rij.locator(f"form[action='/uitbetalingen/{pid}/goedkeuren']").count() == 0
    # ... and a forged POST (with a valid CSRF token) is refused with the explanation
    csrf = eerste.locator("input[name=csrf_token]").first.get_attribute("value")
    r = eerste.request.post(f"{live.url}/uitbetalingen/{pid}/goedkeuren", form={"csrf_token": csrf})
    assert r.ok and "Niet goedgekeurd" in r.text() and "traject gestart" in r.text()
    r = eerste.request.post(f"{live.url}/api/uitbetalingen/{pid}/goedkeuren", headers={"X-CSRF-Token": csrf})
    assert r.status == 403 and "traject gestart" in r.json()["detail"]
    with live.engine.db.connect() as conn:
        assert conn.execute(sa.select(U.c.status).where(U.c.id == pid)).scalar_one() == "voorgesteld"

    # a second person approves it
    tweede = inloggen(nieuwe_context(), live, "teamleider")
    errors += fouten_in_console(tweede)
    tweede.goto(f"{live.url}/uitbetalingen")
    rij = tweede.locator("tbody tr", has=tweede.locator(f"td:text-is('{pid}')"))
    assert rij.get_by_role("button", name=f"Goedkeuren uitbetaling {pid}").is_enabled()
    rij.get_by_role("button", name=f"Goedkeuren uitbetaling {pid}").click()
    assert f"Uitbetaling {pid} goedgekeurd" in flash(tweede)
    with live.engine.db.connect() as conn:
        assert tuple(conn.execute(sa.select(U.c.status, U.c.beoordeeld_door).where(U.c.id == pid)).one()) == \
            ("goedgekeurd", "teamleider")
    assert errors == []
    STATE["premie"] = (tid, pid)


def test_c_finance_downloads_the_sepa_file(live, nieuwe_context):
    if "premie" not in STATE:
        pytest.skip("needs the approved payout of test_b")
    _, pid = STATE["premie"]
    page = inloggen(nieuwe_context(), live, "financien")
    errors = fouten_in_console(page)
    assert page.url.endswith("/uitbetalingen")  # finance starts on the payouts
    goed = page.request.get(f"{live.url}/api/uitbetalingen?status=goedgekeurd").json()["uitbetalingen"]
    assert pid in [u["id"] for u in goed]
    verwacht = sum(Decimal(u["bedrag"]) for u in goed)

    page.get_by_role("button", name="Exporteer goedgekeurde uitbetalingen (SEPA)").click()
    melding = flash(page)
    m = re.search(r"Batch (\d+) gemaakt: (\d+) betalingen", melding)
    assert m, melding
    batch, aantal = int(m.group(1)), int(m.group(2))
    assert aantal == len(goed)
    schiet(page, "sepa_export")
    with page.expect_download() as dl:
        page.get_by_role("link", name=f"SEPA-bestand (XML) batch {batch}").click()
    download = dl.value
    assert download.suggested_filename == f"betaalbatch-{batch}.xml"
    root = ET.parse(download.path()).getroot()
    ns = root.tag[1:].split("}")[0]
    assert ns.startswith("urn:iso:std:iso:20022:tech:xsd:pain.001."), ns
    q = {"p": ns}
    assert root.find("p:CstmrCdtTrfInitn", q) is not None
    assert Decimal(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=q)) == verwacht
    assert int(root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=q)) == aantal
    regels = root.findall(".//p:CdtTrfTxInf", q)
    assert len(regels) == aantal
    bedragen = {(t.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=q), t.findtext(".//p:InstdAmt", namespaces=q))
                for t in regels}
    assert ("NL91ABNA0417164300", "300.00") in bedragen  # the Premie op Werk deel 1 of test_b
    assert sum(Decimal(a) for _, a in bedragen) == verwacht or len(bedragen) < aantal
    with live.engine.db.connect() as conn:
        assert conn.execute(sa.select(U.c.status, U.c.batch_id).where(U.c.id == pid)).one() == ("geexporteerd", batch)
    assert errors == []


def test_d_monitoring_draws_bar_charts_from_the_demo(live, nieuwe_context):
    page = inloggen(nieuwe_context(), live, "beleid")
    errors = fouten_in_console(page)
    assert page.url.endswith("/monitoring")  # policy starts on the aggregates
    assert page.get_by_role("heading", level=1).inner_text().startswith("Monitoring")
    rijen = page.locator("table tbody tr")
    assert rijen.count() >= 4  # one row per instrument
    assert "Intensief begeleiden" in page.locator("table").first.inner_text()
    grafieken = page.locator("svg.grafiek")
    assert grafieken.count() >= 4 * 3
    # bars with a height: the demo started trajectories in the last months
    staven = page.locator("figure svg.grafiek rect:not([height='0'])")
    assert staven.count() >= 8
    hoogtes = page.eval_on_selector_all("svg.grafiek rect", "els => els.map(e => e.getBoundingClientRect().height)")
    assert max(hoogtes) > 20  # rendered, not just present
    assert page.locator("svg.grafiek").first.get_attribute("aria-label")  # an accessible name
    csv = page.get_by_role("link", name="Download CSV")
    r = page.request.get(live.url + csv.get_attribute("href"))
    assert r.ok and r.headers["content-type"].startswith("text/csv") and r.text().startswith("instrument;")
    page.locator("h2", has_text="Grafieken").evaluate("e => e.scrollIntoView({block: 'start'})")
    schiet(page, "monitoring")
    # a coach has no aggregates: the page is refused
    coach = inloggen(nieuwe_context(), live, "coach.oost.1")
    resp = coach.goto(f"{live.url}/monitoring")
    assert resp.status == 403 and "Geen toegang" in coach.content()
    assert errors == []


def test_e_quarantine_shows_reasons_and_reprocesses(live, nieuwe_context):
    page = inloggen(nieuwe_context(), live, "teamleider")
    errors = fouten_in_console(page)
    page.get_by_role("link", name="Quarantaine").click()
    record = page.locator("section.record").first
    assert "bsn" in record.locator("ul.redenen").inner_text()
    schiet(page, "quarantaine")
    voorstel = record.locator("textarea").input_value()
    later = (local_date(live.clock.now()) + timedelta(days=300)).isoformat()
    verbeterd = voorstel.replace('"123456789"', '"111222333"').replace('"2025-01-31"', f'"{later}"')
    record.locator("textarea").fill(verbeterd)
    record.get_by_role("button", name=re.compile("Opnieuw verwerken")).click()
    assert "verwerkt" in flash(page), flash(page)
    assert "De quarantaine is leeg" in page.content()
    assert errors == []


def test_f_login_refuses_a_wrong_password(live, nieuwe_context):
    page = nieuwe_context().new_page()
    page.goto(live.url + "/uitbetalingen")
    assert "/login?volgende=" in page.url  # pages without a session go to the login form
    page.get_by_label("Gebruikersnaam").fill("financien")
    page.get_by_label("Wachtwoord").fill("fout-wachtwoord")
    page.get_by_role("button", name="Inloggen").click()
    assert "onjuist wachtwoord" in page.locator("#login-fout").inner_text()
