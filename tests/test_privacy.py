"""Privacy checks as tests (issue P6 item 6): no BSN in any log line, mail, URL, Prefect artifact or
exception message of the whole test session (captured by the plugin ``tests/privacy.py``), and proof that
the scan catches a BSN planted in each of those places."""

from __future__ import annotations

import logging
import smtplib
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from tests import privacy
from trajecten.basis.bsn import elfproef
from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer

PLANTED = "111222333"  # passes the 11-test
GEEN_BSN = "123456789"  # 9 digits that fail it


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_the_scanner_catches_a_planted_bsn_everywhere(tmp_path):
    assert elfproef(PLANTED) and not elfproef(GEEN_BSN)
    with privacy.apart() as s:
        # a log line, also inside an exception's traceback text
        logging.getLogger("trajecten.test").warning("cliënt %s verwerkt", PLANTED)
        # an exception message of the engine
        OngeldigeInvoer("bsn", f"onbekend: {PLANTED}")
        NietGevonden(f"cliënt {PLANTED}")
        # a URL (the web tests' TestClient is an httpx client)
        from fastapi import FastAPI

        app = FastAPI()
        TestClient(app).get(f"/api/clients?bsn={PLANTED}")
        # a mail over real SMTP (quoted-printable body: the scan decodes it)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        ctl = Controller(_Sink(), hostname="127.0.0.1", port=port, ready_timeout=5)
        ctl.start()
        try:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "a@gemeente.example", "b@gemeente.example", "digest"
            msg.set_content(f"Beste coach, cliënt met BSN {PLANTED} heeft een taak. é", cte="quoted-printable")
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.send_message(msg)
        finally:
            ctl.stop()
        # an artifact text handed over by a test
        privacy.voeg_toe("prefect-artifact", f"| bsn | {PLANTED} |")
        # not a BSN: no finding
        logging.getLogger("trajecten.test").warning("referentie %s, id a%sb", GEEN_BSN, PLANTED)
    bronnen = sorted({bron for bron, _, _ in s.vondsten})
    assert bronnen == ["exception", "log", "mail", "prefect-artifact", "url"], s.rapport()
    assert len([v for v in s.vondsten if v[0] == "exception"]) == 2
    # the report never repeats the BSN itself
    assert PLANTED not in s.rapport() and "******333" in s.rapport()
    # and nothing of this leaked into the session's scan
    assert not [v for v in privacy.SESSIE.vondsten if "******333" in v[2] and "onbekend" in v[2]]


@pytest.mark.parametrize("tekst, gevonden", [
    (f"bsn={PLANTED}", True), (f'"bsn": "{PLANTED}"', True), (f"/clienten/{PLANTED}/x", True),
    (f"bronorganisatie={PLANTED}", False), (f"organisatie={PLANTED}", True),
    (f"0{PLANTED}", False), (f"{PLANTED}0", False), (f"trace {PLANTED}ab", False), (GEEN_BSN, False),
])
def test_what_counts_as_a_bsn(tekst, gevonden):
    s = privacy.Scanner()
    s.scan("t", tekst)
    assert bool(s.vondsten) is gevonden


def test_no_bsn_in_anything_the_session_produced():
    """Runs last (the plugin moves it): every log record, mail, URL, exception message and artifact text
    this session produced, scanned for a 9-digit number passing the 11-test."""
    s = privacy.SESSIE
    voor = s.gescand.get("log", 0)
    logging.getLogger("trajecten.test").info("privacy-scan: de vangst werkt nog")
    assert s.gescand.get("log", 0) == voor + 1, "the log capture is not installed"
    print("privacy-scan, teksten gescand per bron:", dict(s.gescand))
    assert s.vondsten == [], f"{len(s.vondsten)} BSN(s) found (masked):\n{s.rapport()}"
