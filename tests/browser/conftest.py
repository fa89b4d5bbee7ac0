"""A real server and a real browser for the page tests.

``live`` builds, once per session, a SQLite file with a small demo caseload (``trajecten.demo.run_demo``:
100 clients, 3 simulated months, the same engine code as production), adds one user per role, puts one
rejected UWV record in quarantine, and serves ``create_app(engine)`` with uvicorn in a thread on a free
127.0.0.1 port. The engine's clock is a ``FixedClock`` the tests move forward (then call ``sweep``), so
tasks and payouts become due without waiting.

``browser`` is headless Chromium from the system (``/usr/bin/chromium``, installed by ``make test``);
Playwright never downloads a browser here. Without Chromium the browser tests are skipped with a message.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

CHROMIUM = os.environ.get("TRAJECTEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WACHTWOORD = "browser-wachtwoord"
GEBRUIKERS = {  # gebruikersnaam: (rol, gebied, naam)
    "coach.oost.1": ("coach", "Oost", "Coach Oost 1"),
    "coach.oost.2": ("coach", "Oost", "Coach Oost 2"),  # the caseload tests move clients to this coach
    "teamleider.oost": ("teamleider", "Oost", "Teamleider Oost"),
    "teamleider": ("teamleider", None, "Teamleider (alle gebieden)"),
    "financien": ("financien", None, "Financiën"),
    "beleid": ("beleid", None, "Beleid"),
    "beheerder": ("beheerder", None, "Beheerder"),
}
SCREENSHOTS = Path(os.environ.get("TRAJECTEN_SCREENSHOTS", Path(__file__).resolve().parents[2] / "docs" / "screenshots"))


def vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    url: str
    engine: object
    clock: object
    client_id: int  # an Oost client, long in bijstand, no trajectory: the tests start theirs on it
    client_naam: str

    def sweep(self) -> None:
        self.engine.sweep()


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    import sqlalchemy as sa
    import uvicorn
    from rich.console import Console

    from trajecten.basis.config import load_settings
    from trajecten.demo import run_demo
    from trajecten.kern.engine import Engine
    from trajecten.beheer.koppelingen import uwv_feed
    from trajecten.opslag.models import Gebruiker
    from trajecten.basis.tijd import TZ, FixedClock
    from trajecten.web import create_app

    db = tmp_path_factory.mktemp("browser") / "demo.db"
    today = date.today()
    run_demo(db, clienten=100, maanden=3, today=today, console=Console(file=io.StringIO()))
    url = f"sqlite:///{db}"
    clock = FixedClock(datetime.combine(today, time(9, 0), tzinfo=TZ))
    eng = Engine.open(url, clock=clock, settings=load_settings(database_url=url))
    cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(WACHTWOORD)
    with eng.db.begin() as conn:
        conn.execute(Gebruiker.__table__.insert(), [
            {"gebruikersnaam": u, "naam": naam, "rol": rol, "gebied": gebied, "email": "", "wachtwoord_hash": cheap,
             "actief": True, "aangemaakt_op": clock.now()} for u, (rol, gebied, naam) in GEBRUIKERS.items()])
    naam = "Wietske Browsertest"
    cid = eng.add_client("123456782", naam=naam, geboortedatum=date(1979, 3, 14), postcode="9713AB", gebied="Oost",
                         coach="coach.oost.1", bijstand_sinds=date(2019, 2, 1), iban="NL91ABNA0417164300")
    # one UWV record with a wrong BSN (11-test) and a WW end date in the past: the quarantine page shows it
    slecht = ('{"uwv_referentie": "UWV-BROWSER-1", "bsn": "123456789", "geboortedatum": "1978-04-12", '
              '"postcode": "9713 AB", "ww_startdatum": "2024-06-01", "ww_einddatum": "2025-01-31", '
              '"risico_langdurig": true}\n')
    uwv_feed(eng.settings).verwerk_tekst(eng, slecht.encode(), "browser-test.jsonl")

    app = create_app(eng, secret_key="browser-test-sleutel")
    port = vrije_poort()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-browser", daemon=True)
    thread.start()
    deadline = _time.monotonic() + 20
    while not server.started:
        if _time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn started niet")
        _time.sleep(0.05)
    with eng.db.connect() as conn:  # sanity: the demo produced a caseload
        assert conn.execute(sa.text("select count(*) from traject")).scalar_one() > 50
    yield Live(f"http://127.0.0.1:{port}", eng, clock, cid, naam)
    server.should_exit = True
    thread.join(10)
    eng.db.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"Chromium ontbreekt ({CHROMIUM}); `make test` installeert het (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def nieuwe_context(browser):
    """Open fresh browser contexts (own cookies) at 1280x800; all closed after the test."""
    contexts = []

    def maak():
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL", accept_downloads=True)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx

    yield maak
    for ctx in contexts:
        ctx.close()


def inloggen(ctx, live: Live, gebruiker: str, *, screenshot: bool = False):
    """Log in through the form (the CSRF token is in the page); returns the page after the redirect."""
    page = ctx.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("Gebruikersnaam").fill(gebruiker)
    page.get_by_label("Wachtwoord").fill(WACHTWOORD)
    if screenshot:
        schiet(page, "login")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]
    return page


def schiet(page, naam: str) -> Path:
    """Screenshot of the viewport (1280x800) into docs/screenshots/<naam>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{naam}.png"
    page.screenshot(path=str(path))
    return path
