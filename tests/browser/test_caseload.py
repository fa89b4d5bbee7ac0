"""The team lead's caseload view in a real headless Chromium (see conftest.py): per coach the clients and
open/overdue tasks from the demo caseload; moving a client to another coach (rebalancing) and seeing the
result; accepting a transfer proposal after a client moved into the area. Photographed into
docs/screenshots/caseload.png."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from trajecten.clienten import caseload as cl
from trajecten.opslag.models import Client, Gebeurtenis

from .conftest import inloggen, schiet
from .test_paginas import flash, fouten_in_console

pytestmark = pytest.mark.slow
C, E = Client.__table__, Gebeurtenis.__table__


def aantallen(page) -> dict[str, int]:
    """coach -> number of clients, read from the caseload table."""
    out = {}
    for rij in page.locator("table.caseload tbody tr").all():
        cellen = rij.locator("td")
        naam = rij.locator("th").inner_text().split(" (")[0].strip()
        if cellen.count() >= 1:
            out[naam] = int(cellen.nth(0).inner_text())
    return out


def test_team_lead_rebalances_and_accepts_a_transfer(live, nieuwe_context):
    # a West client moves into Oost (a coach records the new postcode): a proposal, not a silent move
    with live.engine.db.connect() as conn:
        west, west_naam = conn.execute(sa.select(C.c.id, C.c.naam).where(C.c.gebied == "West")
                                       .order_by(C.c.id)).first()
    oid = cl.wijzig_client(live.engine, west, door="coach.west.1", postcode="9714 AB", reden="verhuisd").overplaatsing_id
    page = inloggen(nieuwe_context(), live, "teamleider.oost")
    errors = fouten_in_console(page)
    page.get_by_role("link", name="Caseload").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Caseload team Oost"
    voor = aantallen(page)
    with live.engine.db.connect() as conn:
        in_db = dict(conn.execute(sa.select(C.c.coach, sa.func.count()).where(C.c.gebied == "Oost")
                                  .group_by(C.c.coach)).all())
        cid, naam = conn.execute(sa.select(C.c.id, C.c.naam).where(
            C.c.gebied == "Oost", C.c.coach == "coach.oost.1", C.c.id != live.client_id).order_by(C.c.id)).first()
    assert voor["coach.oost.1"] == in_db["coach.oost.1"] and voor.get("coach.oost.2", 0) == in_db.get("coach.oost.2", 0)

    # rebalance: one client of coach.oost.1 to coach.oost.2, with a reason
    page.get_by_role("link", name="Cliënten van coach.oost.1").click()
    page.locator(f"input[name=client_id][value='{cid}']").check()
    page.get_by_label("Naar coach").select_option("coach.oost.2")
    page.get_by_label("Reden").fill("caseload gelijk verdelen")
    page.get_by_role("button", name="Verplaats naar coach").click()
    assert "1 cliënt(en) van coach.oost.1 naar coach.oost.2 verplaatst" in flash(page)
    na = aantallen(page)
    assert na["coach.oost.1"] == voor["coach.oost.1"] - 1
    assert na["coach.oost.2"] == voor.get("coach.oost.2", 0) + 1
    assert page.locator(f"input[name=client_id][value='{cid}']").count() == 0  # no longer coach.oost.1's
    schiet(page, "caseload")
    with live.engine.db.connect() as conn:
        assert conn.execute(sa.select(C.c.coach).where(C.c.id == cid)).scalar_one() == "coach.oost.2"
        ev = conn.execute(sa.select(E).where(E.c.client_id == cid, E.c.type == "coach_toegewezen")).one()
    assert (ev.actor, ev.payload["van"], ev.payload["reden"]) == ("teamleider.oost", "coach.oost.1",
                                                                   "caseload gelijk verdelen")
    # the client's file shows the new coach and the event
    page.goto(f"{live.url}/clienten/{cid}")
    assert "coach.oost.2" in page.locator("dl.gegevens").inner_text()
    assert "coach toegewezen" in page.locator("ol.tijdlijn").inner_text()

    # the West client's move into Oost is on the page as a proposal; the Oost team lead accepts it
    page.goto(f"{live.url}/caseload")
    rij = page.locator(f"#overplaatsing-{oid}")
    assert "West → Oost" in rij.inner_text() and west_naam in rij.inner_text()
    with live.engine.db.connect() as conn:
        assert conn.execute(sa.select(C.c.gebied).where(C.c.id == west)).scalar_one() == "West"
    schiet(page, "overplaatsing")
    rij.get_by_label("Nieuwe coach").select_option("coach.oost.2")
    rij.get_by_role("button", name=f"Accepteren overplaatsing {oid}").click()
    assert f"Overplaatsing {oid} geaccepteerd" in flash(page)
    assert page.locator(f"#overplaatsing-{oid}").count() == 0
    assert aantallen(page)["coach.oost.2"] == na["coach.oost.2"] + 1
    with live.engine.db.connect() as conn:
        assert tuple(conn.execute(sa.select(C.c.gebied, C.c.coach).where(C.c.id == west)).one()) == \
            ("Oost", "coach.oost.2")
    page.goto(f"{live.url}/clienten/{west}")  # now in the team lead's area
    assert "overplaatsing geaccepteerd" in page.locator("ol.tijdlijn").inner_text()
    assert errors == []


def test_a_coach_has_no_caseload_page(live, nieuwe_context):
    page = inloggen(nieuwe_context(), live, "coach.oost.1")
    assert page.get_by_role("link", name="Caseload").count() == 0
    r = page.goto(f"{live.url}/caseload")
    assert r.status == 403 and "Geen toegang" in page.content()
