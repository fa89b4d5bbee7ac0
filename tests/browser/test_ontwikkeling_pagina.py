"""Ontwikkelplan and ontwikkelladder in a real headless Chromium against the real server (see conftest.py).

A coach opens a client of their area, writes a plan with goals, agreements of both sides and a step
(with a date and an instrument), changes it with a reason and sees the version history with who and why;
then records a rung on the ontwikkelladder (by keyboard) and sees the dated history with the assessor.
Both pages are photographed into docs/screenshots/.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from trajecten.clienten import ontwikkelplan
from trajecten.basis.tijd import local_date

from .conftest import inloggen, schiet
from .test_paginas import flash, fouten_in_console

pytestmark = pytest.mark.slow


def test_a_coach_writes_and_changes_a_plan_and_records_a_rung(live, nieuwe_context):
    vandaag = local_date(live.clock.now())
    cid = live.engine.add_client("100000009", naam="Jelle Plantest", geboortedatum=date(1984, 6, 2),
                                 postcode="9713AB", gebied="Oost", coach="coach.oost.1",
                                 bijstand_sinds=date(2021, 4, 1))
    page = inloggen(nieuwe_context(), live, "coach.oost.1")
    errors = fouten_in_console(page)
    page.goto(f"{live.url}/clienten/{cid}")
    assert "nog niet opgesteld" in page.locator("ul.ontwikkeling").inner_text()
    page.get_by_role("link", name="Ontwikkelplan").click()
    assert page.url.endswith(f"/clienten/{cid}/ontwikkelplan")
    assert "Er is nog geen ontwikkelplan" in page.content()

    # version 1: goals, one step with a date and an instrument, agreements of both sides, a reason
    page.get_by_label("Doelen (één per regel)").fill("Weer een vast ritme in de week\nOver een jaar vrijwilligerswerk")
    page.get_by_label("Omschrijving stap nieuw 1").fill("Intensief begeleiden ter ontwikkeling")
    stapdatum = (vandaag + timedelta(days=14)).isoformat()
    page.get_by_label("Datum stap nieuw 1").fill(stapdatum)
    page.get_by_label("Instrument stap nieuw 1").select_option("intensief_begeleiden")
    page.get_by_label("Afspraken van de cliënt (één per regel)").fill("Komt elke week naar het gesprek")
    page.get_by_label("Afspraken van de coach (één per regel)").fill("Zoekt een plek voor sociale activering")
    page.get_by_label("Reden van de wijziging").fill("Plan opgesteld met Jelle")
    page.get_by_role("button", name="Plan opslaan").click()
    assert "Ontwikkelplan opgeslagen als versie 1" in flash(page)
    stappen = page.locator("table.planstappen")
    assert "Intensief begeleiden ter ontwikkeling" in stappen.inner_text() and stapdatum in stappen.inner_text()
    assert page.get_by_role("link", name="Start traject vanuit stap s1").count() == 1
    assert "Eigenaar: Jelle Plantest" in page.locator("p.eigenaar").inner_text()

    # version 2: the step moves a week and a second step is added; the reason is required
    page.get_by_label("Datum stap s1").fill((vandaag + timedelta(days=21)).isoformat())
    page.get_by_label("Omschrijving stap nieuw 2").fill("Kennismaken bij het buurthuis")
    page.get_by_role("button", name="Plan opslaan").click()  # no reason: the browser refuses (required)
    assert page.locator("#reden:invalid").count() == 1
    page.get_by_label("Reden van de wijziging").fill("Intake verschoven; buurthuis erbij")
    page.get_by_role("button", name="Plan opslaan").click()
    assert "versie 2" in flash(page)
    versies = page.locator("ol.versies > li")
    assert versies.count() == 2
    nieuwste, eerste = versies.nth(0).inner_text(), versies.nth(1).inner_text()
    assert "Versie 2" in nieuwste and "coach.oost.1" in nieuwste and "Intake verschoven; buurthuis erbij" in nieuwste
    assert "stap s1 gewijzigd (datum)" in nieuwste and "stap s2 toegevoegd" in nieuwste
    assert "Versie 1" in eerste and "Plan opgesteld met Jelle" in eerste
    schiet(page, "ontwikkelplan")

    # the step's "Start traject" goes through the normal start page, with the eligibility decision first
    page.get_by_role("link", name="Start traject vanuit stap s1").click()
    assert "planstap=s1" in page.url
    assert "stap s1: Intensief begeleiden ter ontwikkeling" in page.locator("p.planstap").inner_text()
    page.locator("#feit_variant").fill("ter_ontwikkeling")
    page.get_by_role("button", name="Controleer").click()
    assert page.locator("div.besluit").get_attribute("class") == "besluit ja"
    page.get_by_role("button", name="Start traject").click()
    tid = int(re.search(r"/trajecten/(\d+)$", page.url).group(1))
    s1 = ontwikkelplan.stap(ontwikkelplan.plan(live.engine, cid)["inhoud"], "s1")
    assert (s1["status"], s1["traject_id"]) == ("gestart", tid)

    # the ladder: record a rung by keyboard, then a second one; the history shows date and assessor
    page.goto(f"{live.url}/clienten/{cid}")
    page.get_by_role("link", name="Ontwikkelladder").click()
    assert "Nog geen trede vastgelegd" in page.content()
    assert page.locator("ol.ladder li").count() == 6
    eerder = (vandaag - timedelta(days=30)).isoformat()
    page.get_by_label("Trede", exact=True).select_option("2")
    page.get_by_label("Datum van de vaststelling").fill(eerder)
    page.get_by_label("Toelichting").fill("Intakegesprek")
    page.keyboard.press("Tab")  # from the explanation to the button, and submit with Enter
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Trede 2 vastgelegd" in flash(page)
    page.get_by_label("Trede", exact=True).select_option("3")
    page.get_by_label("Datum van de vaststelling").fill(vandaag.isoformat())
    page.get_by_label("Toelichting").fill("Gaat wekelijks naar het buurthuis")
    page.get_by_role("button", name="Trede vastleggen").click()
    assert "Trede 3 vastgelegd" in flash(page)
    assert "Trede 3: Deelname georganiseerde activiteiten" in page.locator("p.huidige-trede").inner_text()
    assert page.locator("ol.ladder li.hier").inner_text().startswith("Deelname georganiseerde activiteiten")
    rijen = page.locator("table.ladder-geschiedenis tbody tr")
    assert rijen.count() == 2
    assert re.sub(r"\s+", " ", rijen.nth(0).inner_text()).startswith(
        f"{vandaag.isoformat()} 3. Deelname georganiseerde activiteiten omhoog coach.oost.1")
    assert re.sub(r"\s+", " ", rijen.nth(1).inner_text()).startswith(
        f"{eerder} 2. Sociale contacten buiten de deur eerste coach.oost.1 Intakegesprek")
    page.get_by_role("heading", name="Huidige trede").evaluate("e => window.scrollTo(0, e.offsetTop - 8)")
    schiet(page, "ontwikkelladder")  # the rung, the form and the dated history
    # the client's timeline shows both kinds of change
    page.get_by_role("link", name="Terug naar de cliënt").click()
    tijdlijn = page.locator("ol.tijdlijn").inner_text()
    assert "ontwikkelplan gewijzigd" in tijdlijn and "ontwikkelladder trede" in tijdlijn
    assert "trede 3 (Deelname georganiseerde activiteiten)" in page.locator("ul.ontwikkeling").inner_text()
    assert errors == []
