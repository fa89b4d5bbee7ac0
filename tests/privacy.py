"""Privacy scan of the whole test session (pytest plugin, loaded by conftest.py): a BSN never appears in a
log line, a mail, a URL, an exception message or a Prefect artifact.

During the session this captures, in this process: every log record (``logging.Logger.handle`` is
wrapped, so a library that reconfigures logging, as Prefect does when a flow's function runs in the test
process, cannot remove the capture; the engine's loggers are turned up to DEBUG), every mail sent over SMTP (``smtplib.SMTP.send_message``:
headers and decoded body), every URL requested over HTTP (``httpx``: the web tests' TestClient, the feed
and ZGW connectors), the message of every refusal the engine raises (``OngeldigeInvoer`` and its
siblings) and whatever a test hands to :func:`voeg_toe` (the Prefect artifacts and worker logs of
``test_prefect_integration``). Each text is scanned at once for a 9-digit number passing the 11-test;
the last test of the session (``tests/test_privacy.py``) asserts nothing was found. A finding is
reported masked (``******782``), never in full.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from trajecten.basis.bsn import elfproef, maskeer

BSN_PATROON = re.compile(r"(?<![0-9A-Za-z])\d{9}(?![0-9A-Za-z])")
LAATSTE_TEST = "test_no_bsn_in_anything_the_session_produced"
# 9 digits passing the 11-test that are not a person's: the municipality's RSIN where the ZGW API asks for it
# (the text just before the number names the field)
GEEN_PERSOON = re.compile(r"(bronorganisatie|verantwoordelijke_?organisatie|rsin)[\"'=: ]{0,4}$", re.I)


@dataclass
class Scanner:
    vondsten: list[tuple[str, str, str]] = field(default_factory=list)  # (bron, waar, tekst gemaskeerd)
    gescand: dict[str, int] = field(default_factory=dict)  # bron -> texts scanned

    def scan(self, bron: str, tekst: str, waar: str = "") -> None:
        if not tekst:
            return
        self.gescand[bron] = self.gescand.get(bron, 0) + 1
        for m in BSN_PATROON.finditer(tekst):
            if elfproef(m.group()) and not GEEN_PERSOON.search(tekst[max(m.start() - 40, 0):m.start()]):
                start = max(m.start() - 60, 0)
                context = BSN_PATROON.sub(lambda x: maskeer(x.group()), tekst[start:m.end() + 60])
                self.vondsten.append((bron, waar, context))

    def rapport(self) -> str:
        uniek = list(dict.fromkeys(self.vondsten))
        return "\n".join(f"[{bron}] {waar}: ...{tekst}..." for bron, waar, tekst in uniek[:100])


SESSIE = Scanner()
_lokaal = threading.local()
_apart: list[Scanner] = []  # a test that plants a BSN on purpose scans into its own scanner


def _scanner() -> Scanner:
    return _apart[-1] if _apart else SESSIE


@contextmanager
def apart() -> Iterator[Scanner]:
    """Capture into a separate scanner inside the block (to prove the scanner catches what is planted)."""
    s = Scanner()
    _apart.append(s)
    try:
        yield s
    finally:
        _apart.remove(s)


def voeg_toe(bron: str, tekst: str, waar: str = "") -> None:
    """Scan a text a test collected (a Prefect artifact, a subprocess's log)."""
    _scanner().scan(bron, tekst, waar)


class _Vanger(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_lokaal, "bezig", False):
            return
        _lokaal.bezig = True
        try:
            _scanner().scan("log", self.format(record), record.name)
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is not our business here
            pass
        finally:
            _lokaal.bezig = False


def _mail_tekst(msg) -> str:
    parts = [f"{k}: {v}" for k, v in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload is not None:
            parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(parts)


def _installeer() -> None:
    import smtplib

    import httpx

    from trajecten.basis import fouten

    vanger = _Vanger()
    handle = logging.Logger.handle

    def handle_gescand(self, record):
        vanger.handle(record)
        return handle(self, record)

    logging.Logger.handle = handle_gescand
    for naam in ("trajecten", "connectors", "flows", "regels"):
        logging.getLogger(naam).setLevel(logging.DEBUG)

    send_message = smtplib.SMTP.send_message

    def send_message_gescand(self, msg, *args, **kwargs):
        _scanner().scan("mail", _mail_tekst(msg), str(msg.get("To", "")))
        return send_message(self, msg, *args, **kwargs)

    smtplib.SMTP.send_message = send_message_gescand

    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send_gescand(self, request, *args, **kwargs):
        _scanner().scan("url", str(request.url), request.method)
        return sync_send(self, request, *args, **kwargs)

    async def async_send_gescand(self, request, *args, **kwargs):
        _scanner().scan("url", str(request.url), request.method)
        return await async_send(self, request, *args, **kwargs)

    httpx.Client.send, httpx.AsyncClient.send = send_gescand, async_send_gescand

    # the root of the engine's refusals: OngeldigeInvoer, NietGevonden, NietToegelaten, OngeldigeToestand all
    # pass its __init__ (their own call super().__init__ with the message)
    base_init = fouten.TrajectFout.__init__

    def init_gescand(self, *args, **kwargs):
        base_init(self, *args, **kwargs)
        _scanner().scan("exception", str(self), type(self).__name__)

    fouten.TrajectFout.__init__ = init_gescand


# --------------------------------------------------------------------------- pytest hooks


def pytest_configure(config) -> None:
    _installeer()


def pytest_collection_modifyitems(session, config, items) -> None:
    """The session's verdict runs after everything else."""
    last = [i for i in items if i.name == LAATSTE_TEST]
    items[:] = [i for i in items if i.name != LAATSTE_TEST] + last
