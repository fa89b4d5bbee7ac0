"""Exactly once where people act, in a real headless Chromium (see conftest.py): a coach starts Intensief
begeleiden via Controleer and Start, then reloads, goes back, goes back twice and submits the old form
again. Every form answers 303 (no POST stays in the history to be sent again), and the form's one-time
token turns a second Start of the same form into a redirect to the trajectory it started: the number of
trajectories of that client and instrument stays 1. Intensief begeleiden allows one running trajectory
per client (``per_client: een_lopend``); the flash "Dit traject was al gestart" shows that the token,
not the engine's one-running check, stopped the repeated POST."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from trajecten.opslag.models import Client, Traject

from ..helpers import bsns
from .conftest import inloggen
from .test_paginas import flash, fouten_in_console

pytestmark = pytest.mark.slow
C, T = Client.__table__, Traject.__table__
IB = "intensief_begeleiden"


def aantal(live, cid: int) -> list[int]:
    with live.engine.db.connect() as conn:
        return list(conn.execute(sa.select(T.c.id).where(T.c.client_id == cid, T.c.instrument == IB)).scalars())


def nieuwe_client(live) -> int:
    with live.engine.db.connect() as conn:
        bestaand = set(conn.execute(sa.select(C.c.bsn)).scalars())
    bsn = next(b for b in bsns(200, seed=9090) if b not in bestaand)
    return live.engine.add_client(bsn, naam="Eenmalig Browsertest", geboortedatum=date(1981, 6, 2), postcode="9713AB",
                                  gebied="Oost", coach="coach.oost.1", bijstand_sinds=date(2019, 5, 1),
                                  iban="NL91ABNA0417164300")


def test_reload_back_and_resubmit_start_one_trajectory(live, nieuwe_context):
    cid = nieuwe_client(live)
    page = inloggen(nieuwe_context(), live, "coach.oost.1")
    errors = fouten_in_console(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.goto(f"{live.url}/clienten/{cid}")
    page.get_by_role("link", name="Traject starten").click()
    page.get_by_label("Instrument").select_option(IB)
    page.get_by_role("button", name="Kies instrument").click()
    formulier_url = page.url
    page.locator("#feit_variant").fill("richting_werk")
    page.get_by_role("button", name="Controleer").click()
    # Controleer: POST -> 303 -> a GET of the draft; the facts are not in the URL
    assert "concept=" in page.url and "richting_werk" not in page.url, page.url
    concept_url = page.url
    assert page.locator("div.besluit").get_attribute("class") == "besluit ja"
    oud = {n: page.locator(f"form[action='/trajecten/nieuw'] input[name='{n}']").first.get_attribute("value")
           for n in ("csrf_token", "formulier", "client_id", "instrument")}
    page.get_by_role("button", name="Start traject").click()
    m = re.search(r"/trajecten/(\d+)$", page.url)
    assert m, page.url
    tid = int(m.group(1))
    assert f"Traject {tid} gestart" in flash(page)
    assert aantal(live, cid) == [tid]

    # reload the trajectory page: a GET, nothing is posted again
    posts.clear()
    page.reload()
    assert page.url.endswith(f"/trajecten/{tid}") and posts == []
    assert aantal(live, cid) == [tid]

    # back: the draft's page (a GET), which says this form started the trajectory already
    page.go_back()
    assert page.url == concept_url and posts == []
    if page.get_by_role("button", name="Start traject").count():  # restored from the back/forward cache
        page.get_by_role("button", name="Start traject").click()  # the old form, sent once more on purpose
        assert page.url.endswith(f"/trajecten/{tid}") and "Dit traject was al gestart" in flash(page)
        page.go_back()
        posts.clear()
    else:
        melding = page.locator("p.melding", has_text="al gestart")
        assert melding.count() == 1 and melding.get_by_role("link", name=f"traject {tid}").count() == 1
    assert aantal(live, cid) == [tid]

    # back twice: the form before Controleer; checking again names the running trajectory, offers no Start
    page.go_back()
    assert page.url == formulier_url and posts == [], page.url
    page.locator("#feit_variant").fill("richting_werk")
    page.get_by_role("button", name="Controleer").click()
    fout = page.locator("p.melding.fout")
    assert "al een lopend traject" in fout.inner_text()
    assert fout.get_by_role("link", name=f"Naar het lopende traject {tid}").count() == 1
    assert page.get_by_role("button", name="Start traject").count() == 0
    assert aantal(live, cid) == [tid]

    # the old form submitted once more, exactly as the browser would (its token, its fields): the token
    # answers with the trajectory it started; the engine's refusal is never reached
    r = page.request.post(f"{live.url}/trajecten/nieuw", max_redirects=0,
                          form={**oud, "feit_variant": "richting_werk", "actie": "start"})
    assert r.status == 303 and r.headers["location"] == f"/trajecten/{tid}"
    page.goto(live.url + r.headers["location"])
    assert "Dit traject was al gestart" in flash(page) and f"traject {tid}" in flash(page)
    assert aantal(live, cid) == [tid]
    assert errors == []
