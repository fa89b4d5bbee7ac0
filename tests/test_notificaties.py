"""Notifications (connectors/notificaties): reminders and escalations reach coaches and team leads by
e-mail, as one daily digest per recipient (or one mail per event), never with a BSN; delivery failures
are retried with backoff and surfaced, and never crash anything.

Integration tests talk to a real SMTP server the test starts (aiosmtpd on 127.0.0.1, a free port) and
run on SQLite and PostgreSQL (``db_url``). The events come from the engine itself: trajectories started
on Monday 5 January 2026 whose reminders fire a week later.
"""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as email_policy
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from connectors.notificaties import (
    GeheugenVerzender,
    HERHAALBELEID,
    NotificatieFout,
    SmtpVerzender,
    adres_voor,
    meldingen_job,
    ontvanger_voor,
    teamleider,
    verstuur,
    verzamel,
)
from tests.helpers import FEITEN, at, bsns, count, events
from trajecten.taken import scheduler
from trajecten.basis.config import SettingsError, load_settings
from trajecten.kern.engine import Engine
from trajecten.opslag.models import Melding, Verwerking
from trajecten.kern.signalen import signaleer

M = Melding.__table__
IB = "intensief_begeleiden"
GEBOORTEDATUM = date(1980, 5, 17)
NAAM = "Jan Jansen"


# --------------------------------------------------------------------------- a real SMTP sink


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Opslag:
    def __init__(self):
        self.enveloppen: list = []

    async def handle_DATA(self, server, session, envelope):
        self.enveloppen.append(envelope)
        return "250 OK"


class SmtpSink:
    """aiosmtpd on 127.0.0.1: keeps every envelope; can be stopped and started on the same port."""

    def __init__(self, port: int):
        self.port = port
        self.opslag = _Opslag()
        self._ctl: Controller | None = None

    @property
    def mails(self) -> list:
        return self.opslag.enveloppen

    def start(self) -> "SmtpSink":
        self._ctl = Controller(self.opslag, hostname="127.0.0.1", port=self.port, server_hostname="sink.test",
                               ready_timeout=5)
        self._ctl.start()
        return self

    def stop(self) -> None:
        if self._ctl is not None:
            self._ctl.stop()
            self._ctl = None

    def aan(self, adres: str) -> list:
        return [m for m in self.mails if m.rcpt_tos == [adres]]


def _tekst(envelope) -> str:
    """Subject line and decoded body of a received mail."""
    msg = message_from_bytes(envelope.content, policy=email_policy)
    return f"Subject: {msg['Subject']}\n{msg.get_content()}"


@pytest.fixture
def sink():
    s = SmtpSink(_free_port())
    yield s
    s.stop()


# --------------------------------------------------------------------------- setup


def _engine(url: str, clock, port: int, **settings) -> Engine:
    s = load_settings(database_url=url, smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=3, **settings)
    return Engine.open(url, clock=clock, settings=s)


@pytest.fixture
def maak(db_url):
    made: list[Engine] = []

    def _maak(clock, port, **settings) -> Engine:
        eng = _engine(db_url, clock, port, **settings)
        made.append(eng)
        return eng

    yield _maak
    for eng in made:
        eng.db.dispose()


CLIENTEN = [("coach.anna", "Ten Boer"), ("coach.anna", "Oost"), ("coach.bram", "Oost")]


def _start(eng, clienten=CLIENTEN, seed: int = 3) -> tuple[list[int], list[str]]:
    """One intensief_begeleiden trajectory per (coach, gebied), started on Monday 5 January 2026."""
    nummers = bsns(len(clienten), seed=seed)
    tids = []
    for bsn, (coach, gebied) in zip(nummers, clienten):
        cid = eng.add_client(bsn, naam=NAAM, geboortedatum=GEBOORTEDATUM, coach=coach, gebied=gebied,
                             bijstand_sinds=date(2020, 1, 1))
        tids.append(eng.start(IB, cid, FEITEN[IB], actor="test:coach").traject_id)
    return tids, nummers


def _rows(eng) -> list:
    with eng.db.connect() as conn:
        return conn.execute(sa.select(M).order_by(M.c.id)).all()


def _assert_no_personal_data(raw: bytes | str, nummers: list[str]) -> None:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    for bsn in nummers:
        assert bsn not in text, "BSN in a mail"
    assert NAAM not in text and GEBOORTEDATUM.isoformat() not in text and "17-05-1980" not in text


def _assert_outbox_clean(eng, nummers: list[str]) -> None:
    for r in _rows(eng):
        _assert_no_personal_data(" ".join(str(v) for v in r), nummers)


# --------------------------------------------------------------------------- digests over real SMTP


def test_one_digest_per_recipient_over_real_smtp_without_any_bsn(maak, clock, sink):
    sink.start()
    eng = maak(clock, sink.port)
    tids, nummers = _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))  # a week later: herinnering_intake and coachingscontact fire
    assert eng.sweep().uitgevoerd == 9

    out = meldingen_job(eng)
    assert out == {"nieuw": 2, "verzonden": 2, "opnieuw": 0, "mislukt": 0}
    assert len(sink.mails) == 2
    (anna,) = sink.aan("coach.anna@gemeente.example")
    (bram,) = sink.aan("coach.bram@gemeente.example")
    a, b = _tekst(anna), _tekst(bram)
    assert "Subject: Werklijst trajecten: 4 herinneringen (12-01-2026)" in a
    assert "Subject: Werklijst trajecten: 2 herinneringen (12-01-2026)" in b
    for tid in tids[:2]:
        assert f"traject {tid} (intensief_begeleiden): Intake is nog niet gedaan" in a
        assert f"traject {tid} (intensief_begeleiden): Wekelijks coachingscontact" in a
        assert f"/trajecten/{tid}" in a and f"traject {tid} " not in b
    assert f"traject {tids[2]} (intensief_begeleiden): Intake is nog niet gedaan" in b
    assert anna.mail_from == "trajecten@gemeente.example"

    # two weeks on: overdue intakes are escalated to the area's team lead, coaches get their reminders
    clock.set(at(2026, 1, 27, 9, 0))
    eng.sweep()
    assert signaleer(eng).escalaties == 3
    out = meldingen_job(eng)
    assert out["nieuw"] == 4 and out["verzonden"] == 4 and out["opnieuw"] == out["mislukt"] == 0
    (oost,) = sink.aan("teamleider.oost@gemeente.example")
    (ten_boer,) = sink.aan("teamleider.ten-boer@gemeente.example")
    assert "Subject: Werklijst trajecten: 2 escalaties (27-01-2026)" in _tekst(oost)
    t = _tekst(ten_boer)
    assert "Subject: Werklijst trajecten: 1 escalatie (27-01-2026)" in t
    assert (f"traject {tids[0]} (intensief_begeleiden): taak te laat, geëscaleerd naar teamleider: "
            "Intake en ontwikkelplan opstellen") in t
    assert len(sink.aan("coach.anna@gemeente.example")) == 2  # day 1 and today
    today = _tekst(sink.aan("coach.anna@gemeente.example")[1])
    assert "herinneringen (27-01-2026)" in today and "al lang geen contact met de cliënt vastgelegd" in today

    assert len(sink.mails) == 6
    for m in sink.mails:  # the raw bytes as received, and decoded (quoted-printable could split a number)
        _assert_no_personal_data(m.original_content, nummers)
        _assert_no_personal_data(_tekst(m), nummers)
    _assert_outbox_clean(eng, nummers)
    assert {r.status for r in _rows(eng)} == {"verzonden"}


def test_per_event_mode_sends_one_mail_per_event(maak, clock, sink):
    sink.start()
    eng = maak(clock, sink.port, meldingen_modus="per_gebeurtenis")
    tids, nummers = _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    eng.sweep()
    assert meldingen_job(eng) == {"nieuw": 6, "verzonden": 6, "opnieuw": 0, "mislukt": 0}
    assert len(sink.aan("coach.anna@gemeente.example")) == 4
    assert len(sink.aan("coach.bram@gemeente.example")) == 2
    subjects = sorted(_tekst(m).split("\n")[0][len("Subject: "):] for m in sink.mails)
    assert subjects[0] == f"Herinnering: traject {tids[0]} (intensief_begeleiden) (12-01-2026)"
    herinneringen = {ev.id for ev in events(eng, type_="herinnering")}
    assert sorted(g for r in _rows(eng) for g in r.gebeurtenissen) == sorted(herinneringen)
    assert all(len(r.gebeurtenissen) == 1 for r in _rows(eng))
    for m in sink.mails:
        _assert_no_personal_data(m.original_content, nummers)
        _assert_no_personal_data(_tekst(m), nummers)

    # per-event mode collects on every run: a new event is mailed at the next run
    assert meldingen_job(eng)["nieuw"] == 0
    clock.set(at(2026, 1, 19, 9, 0))
    eng.sweep()  # the second weekly coachingscontact
    assert meldingen_job(eng) == {"nieuw": 3, "verzonden": 3, "opnieuw": 0, "mislukt": 0}
    assert len(sink.mails) == 9


def test_running_the_job_again_sends_nothing_twice(maak, clock, sink):
    sink.start()
    eng = maak(clock, sink.port)
    tids, _ = _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    eng.sweep()
    # through the scheduler's table, which loads the connector by name from the settings
    assert scheduler.JOBS["meldingen"].enabled(eng)
    assert scheduler.JOBS["meldingen"].fn(eng)["verzonden"] == 2
    assert scheduler.JOBS["meldingen"].fn(eng) == {"nieuw": 0, "verzonden": 0, "opnieuw": 0, "mislukt": 0}
    clock.set(at(2026, 1, 13, 9, 0))  # the next day's digest: no new events, no mail
    assert meldingen_job(eng) == {"nieuw": 0, "verzonden": 0, "opnieuw": 0, "mislukt": 0}
    assert len(sink.mails) == 2 and count(eng, M) == 2

    clock.set(at(2026, 1, 19, 9, 0))  # new reminders: only those are mailed
    eng.sweep()
    assert meldingen_job(eng)["verzonden"] == 2
    nieuw = _tekst(sink.aan("coach.anna@gemeente.example")[-1])
    assert "2 herinneringen (19-01-2026)" in nieuw and "Intake is nog niet gedaan" not in nieuw
    ids = [g for r in _rows(eng) for g in r.gebeurtenissen]
    assert len(ids) == len(set(ids)) == len(events(eng, type_="herinnering"))
    # Logboek Dataverwerkingen: each run that turned a client's events into mails logged that client
    V = Verwerking.__table__
    with eng.db.connect() as conn:
        logged = conn.execute(sa.select(V.c.betrokkene).where(V.c.component == "meldingen")).scalars().all()
    # two runs collected new reminders, each for every client (one trajectory each)
    assert len(logged) == 2 * len(tids) and len(set(logged)) == len(tids)


def test_digest_waits_for_the_digest_time(maak, clock, sink):
    sink.start()
    eng = maak(clock, sink.port, meldingen_digest_tijd="07:00")
    _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    eng.sweep()
    clock.set(at(2026, 1, 13, 6, 45))
    assert meldingen_job(eng)["nieuw"] == 0 and not sink.mails
    clock.set(at(2026, 1, 13, 7, 0))
    assert meldingen_job(eng)["nieuw"] == 2 and len(sink.mails) == 2


# --------------------------------------------------------------------------- delivery failures


def test_smtp_down_mails_wait_and_are_delivered_when_it_is_back(maak, clock, sink):
    eng = maak(clock, sink.port)  # nothing listens on the port yet
    _, nummers = _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    eng.sweep()
    t0 = clock.now()
    assert meldingen_job(eng) == {"nieuw": 2, "verzonden": 0, "opnieuw": 2, "mislukt": 0}  # returns normally
    rows = _rows(eng)
    assert [(r.status, r.pogingen) for r in rows] == [("wachtend", 1)] * 2
    assert all(r.volgende_poging_op == t0 + timedelta(seconds=60) for r in rows)
    assert all("ConnectionRefusedError" in r.laatste_fout and r.tekst not in r.laatste_fout for r in rows)
    _assert_outbox_clean(eng, nummers)

    assert meldingen_job(eng) == {"nieuw": 0, "verzonden": 0, "opnieuw": 0, "mislukt": 0}  # not yet due
    sink.start()
    clock.advance(timedelta(seconds=61))
    assert meldingen_job(eng) == {"nieuw": 0, "verzonden": 2, "opnieuw": 0, "mislukt": 0}
    assert len(sink.mails) == 2
    assert [(r.status, r.pogingen, r.verzonden_op) for r in _rows(eng)] == [("verzonden", 1, clock.now())] * 2


def test_after_five_failures_a_mail_is_mislukt_and_a_person_sees_it(maak, clock):
    eng = maak(clock, _free_port())  # nothing listens there, ever
    _, nummers = _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    eng.sweep()
    seen = []
    for poging in range(1, 6):
        out = meldingen_job(eng)
        seen.append((out["opnieuw"], out["mislukt"]))
        if poging < 5:
            waits = {r.volgende_poging_op - clock.now() for r in _rows(eng)}
            assert waits == {timedelta(seconds=60 * 2 ** (poging - 1))}
        clock.advance(timedelta(hours=1))
    assert seen == [(2, 0)] * 4 + [(0, 2)]
    rows = _rows(eng)
    assert [(r.status, r.pogingen) for r in rows] == [("mislukt", 5)] * 2
    evs = events(eng, type_="melding_mislukt")
    assert len(evs) == 2
    for ev, r in zip(evs, rows):
        assert (ev.traject_id, ev.client_id, ev.actor) == (None, None, "systeem:meldingen")
        assert ev.payload == {"melding": r.id, "ontvanger": r.ontvanger, "fout": r.laatste_fout}
        _assert_no_personal_data(str(ev.payload), nummers)
    assert meldingen_job(eng) == {"nieuw": 0, "verzonden": 0, "opnieuw": 0, "mislukt": 0}  # given up: no more tries


def test_the_sweep_never_touches_smtp(maak, clock):
    eng = maak(clock, _free_port())  # SMTP down
    _start(eng)
    clock.set(at(2026, 1, 12, 9, 0))
    res = eng.sweep()
    assert (res.uitgevoerd, res.mislukt, res.incidenten) == (9, 0, 0)
    assert res.per_soort["reminder"] == 6
    assert count(eng, M) == 0  # the outbox is filled by the notifications job only
    assert meldingen_job(eng)["nieuw"] == 2
    assert count(eng, M) == 2


# --------------------------------------------------------------------------- unit level


def test_backoff_and_errors_never_hold_the_mail_body(sqlite_url, clock):
    eng = Engine.open(sqlite_url, clock=clock, settings=load_settings(database_url=sqlite_url))
    try:
        _, nummers = _start(eng)
        clock.set(at(2026, 1, 12, 9, 0))
        eng.sweep()
        assert verzamel(eng) == 2
        mem = GeheugenVerzender()
        mem.faal(1)
        assert verstuur(eng, mem) == {"verzonden": 1, "opnieuw": 1, "mislukt": 0}
        assert len(mem.pogingen) == 2 and len(mem.verzonden) == 1
        clock.advance(timedelta(seconds=60))
        assert verstuur(eng, mem) == {"verzonden": 1, "opnieuw": 0, "mislukt": 0}
        assert HERHAALBELEID.wacht(1) == timedelta(seconds=60)
        assert [HERHAALBELEID.wacht(n).total_seconds() for n in (2, 3, 4, 7, 8)] == [120, 240, 480, 3600, 3600]

        class Lekkend:  # a broken sender whose exception quotes the message and a BSN
            def verstuur(self, bericht):
                raise RuntimeError(f"kapot: {bericht.tekst} {nummers[0]}")

        clock.set(at(2026, 1, 19, 9, 0))
        eng.sweep()
        assert verzamel(eng) == 2
        assert verstuur(eng, Lekkend()) == {"verzonden": 0, "opnieuw": 2, "mislukt": 0}
        for r in _rows(eng)[2:]:
            assert r.laatste_fout == "RuntimeError (onverwachte fout in de verzender)"
        _assert_outbox_clean(eng, nummers)
    finally:
        eng.db.dispose()


def test_recipients_and_addresses():
    assert ontvanger_voor("herinnering", "coach.anna", "Oost") == "coach.anna"
    assert ontvanger_voor("taak_geescaleerd", "coach.anna", "Ten Boer") == "teamleider.ten-boer"
    assert ontvanger_voor("incident", "coach.anna", "Oost") == "teamleider.oost"
    assert ontvanger_voor("herinnering", "", "Oost") == "teamleider.oost"  # no coach: the team lead
    assert teamleider("") == "teamleider.algemeen"
    assert adres_voor("coach.anna", "werk.groningen.nl") == "coach.anna@werk.groningen.nl"
    assert adres_voor("Anna de Vries") == "anna-de-vries@gemeente.example"
    assert adres_voor("a.devries@groningen.nl") == "a.devries@groningen.nl"


def test_settings_fail_at_start_naming_the_variable(monkeypatch, sqlite_url, clock):
    monkeypatch.setenv("TRAJECTEN_MELDINGEN_MODUS", "wekelijks")
    with pytest.raises(SettingsError, match="TRAJECTEN_MELDINGEN_MODUS"):
        load_settings()
    monkeypatch.delenv("TRAJECTEN_MELDINGEN_MODUS")
    for name, value in [("SMTP_PORT", "0"), ("SMTP_STARTTLS", "misschien"), ("MAIL_DOMEIN", "geen domein"),
                        ("MELDINGEN_DIGEST_TIJD", "7 uur"), ("SCHEMA_MELDINGEN", "dagelijks"),
                        ("SMTP_AFZENDER", "niemand")]:
        monkeypatch.setenv(f"TRAJECTEN_{name}", value)
        with pytest.raises(SettingsError, match=f"TRAJECTEN_{name}"):
            load_settings()
        monkeypatch.delenv(f"TRAJECTEN_{name}")
    s = load_settings(smtp_wachtwoord="geheim")
    assert "geheim" not in repr(s) and "geheim" not in repr(SmtpVerzender.uit_settings(
        load_settings(smtp_host="mail.example", smtp_gebruiker="u", smtp_wachtwoord="geheim")))

    # without an SMTP server the notifications job is off in the scheduler and refuses to run
    eng = Engine.open(sqlite_url, clock=clock, settings=load_settings(database_url=sqlite_url))
    try:
        assert not scheduler.JOBS["meldingen"].enabled(eng)
        with pytest.raises(NotificatieFout, match="TRAJECTEN_SMTP_HOST"):
            meldingen_job(eng)
    finally:
        eng.db.dispose()
