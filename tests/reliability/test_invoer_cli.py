"""Input hardening, command line: every ``trajecten`` command fed broken input (hypothesis) gives a clear
error that names the field, a non-zero exit code and no traceback, and changes nothing in the database
(row count and content hash of every table, before and after).

Each case below breaks one input of one command on purpose (an id that does not exist or does not fit
the database, a date that is no date, a name that is not known, a file that is not UTF-8 or not JSON, a
number out of range); the other inputs are valid, so the error must come from the broken one. Every
command of the app is covered: those without a case of their own get an unknown option (the test
``test_every_command_has_a_case`` lists them, so a new command is noticed). Runs on a real SQLite file
with a client, trajectories, an open task, payouts (one approved), a batch. Broken feed files (which go to
quarantine by design) are in ``test_invoer_bestanden.py``.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from tests.conftest import open_engine
from tests.reliability.harness import snapshot
from trajecten.geld import uitbetalingen as betalingen
from trajecten.basis.bsn import elfproef, synthetisch
from trajecten.cli import app
from trajecten.basis.tijd import TZ, FixedClock

from ..test_autorisatie import maak_zaak, vul_gebruikers

EXAMPLES = 6  # per case; about 60 cases
HS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- junk


def _is_int(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False


def _is_date(s: str) -> bool:
    try:
        date.fromisoformat(s)
        return True
    except ValueError:
        return False


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _is_moment(s: str) -> bool:
    try:
        datetime.fromisoformat(s)
        return True
    except ValueError:
        return False


# printable, no NUL (argv cannot hold it), not starting with "-" (it would be read as an option)
tekst = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda s: not s.startswith("-") and s.strip() == s and s != "")
geen_getal = tekst.filter(lambda s: not _is_int(s))
geen_datum = st.one_of(tekst.filter(lambda s: not _is_date(s)),
                       st.sampled_from(["2026-02-30", "31-12-2026", "2026-13-01", "0000-00-00", "2026/01/01"]))
geen_moment = st.one_of(tekst.filter(lambda s: not _is_moment(s)), st.sampled_from(["2026-02-30T08:00", "8:00"]))
bestaat_niet = st.integers(1_000_000, 2**31 - 1).map(str)
te_groot = st.one_of(st.integers(2**31, 2**80), st.integers(-(2**80), -(2**31))).map(str)
fout_id = st.one_of(bestaat_niet, te_groot, geen_getal)
naam = st.from_regex(r"[a-z_]{3,20}", fullmatch=True)
leeg = st.sampled_from(["", " ", "  ", "\t"])
bytes_ = st.binary(min_size=1, max_size=300)


class Ctx:
    """The ids of the data the cases point at, and a folder for files."""

    def __init__(self, zaak: dict, tmp: Path, batch_id: int):
        self.__dict__.update(zaak)
        self.tmp, self.batch_id, self.n = tmp, batch_id, 0

    def file(self, data: bytes | str, suffix: str = ".json") -> str:
        self.n += 1
        p = self.tmp / f"invoer-{self.n}{suffix}"
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        return str(p)


def _niet_utf8(b: bytes) -> bytes:
    return b"\xff\xfe" + b  # never valid UTF-8


# (name, strategy of argv given ctx, words of which one must appear in the error)
CASES: list[tuple[str, object, tuple[str, ...]]] = [
    ("timeline", lambda c: fout_id.map(lambda x: ["timeline", x]), ("traject",)),
    ("start", lambda c: tekst.filter(lambda s: s not in c.instrumenten).map(
        lambda x: ["start", x, "--client", str(c.client_id), "--door", "coach.x"]), ("instrument",)),
    ("start", lambda c: fout_id.map(lambda x: ["start", "intensief_begeleiden", "--client", x,
                                               "--fact", "variant=richting_werk", "--door", "coach.x"]),
     ("client", "cliënt")),
    ("start", lambda c: tekst.filter(lambda s: "=" not in s).map(
        lambda x: ["start", "intensief_begeleiden", "--client", str(c.client_id), "--fact", x]), ("--fact",)),
    ("start", lambda c: naam.filter(lambda s: s != "variant").map(
        lambda x: ["start", "intensief_begeleiden", "--client", str(c.client_id), "--fact", f"{x}=1",
                   "--door", "coach.x"]), ("feit",)),
    ("start", lambda c: geen_datum.map(
        lambda x: ["start", "premie_op_werk", "--client", str(c.client_id), "--fact", f"werk_start={x}",
                   "--fact", "uren_per_week=20", "--fact", "contract_maanden=12", "--door", "coach.x"]),
     ("werk_start",)),
    ("event", lambda c: naam.map(lambda x: ["event", str(c.traject_id), "zz_" + x]), ("event",)),
    ("event", lambda c: geen_datum.map(lambda x: ["event", str(c.traject_id), "contact", "--date", x]),
     ("--date",)),
    ("event", lambda c: fout_id.map(lambda x: ["event", x, "contact"]), ("traject",)),
    ("beeindig", lambda c: tekst.map(lambda x: ["beeindig", str(c.traject_id), "--uitkomst", "zz" + x,
                                                "--reden", "klaar"]), ("uitkomst",)),
    ("beeindig", lambda c: leeg.map(lambda x: ["beeindig", str(c.traject_id), "--uitkomst", c.ib_uitkomst,
                                               "--reden", x]), ("reden",)),
    ("beeindig", lambda c: fout_id.map(lambda x: ["beeindig", x, "--uitkomst", "werk", "--reden", "r"]),
     ("traject",)),
    ("taak afronden", lambda c: fout_id.map(lambda x: ["taak", "afronden", x]), ("taak",)),
    ("taak afronden", lambda c: tekst.map(lambda x: ["taak", "afronden", str(c.taak_id), "--uitkomst", "zz" + x]),
     ("uitkomst",)),
    ("taak lijst", lambda c: st.one_of(geen_getal, te_groot).map(lambda x: ["taak", "lijst", "--traject", x]),
     ("--traject", "traject")),
    ("sweep", lambda c: geen_moment.map(lambda x: ["sweep", "--now", x]), ("--now",)),
    ("sweep", lambda c: st.integers(-(10**6), 0).map(lambda x: ["sweep", "--batch-size", str(x)]),
     ("--batch-size",)),
    ("signalen", lambda c: geen_moment.map(lambda x: ["signalen", "--now", x]), ("--now",)),
    ("anonimiseer", lambda c: geen_moment.map(lambda x: ["anonimiseer", "--now", x]), ("--now",)),
    ("kansen-in-kaart bijwerken", lambda c: geen_moment.map(lambda x: ["kansen-in-kaart", "bijwerken", "--now", x]),
     ("--now",)),
    ("serve", lambda c: st.one_of(st.integers(65536, 10**9), st.integers(-(10**9), -1)).map(
        lambda x: ["serve", "--port", str(x)]), ("--port",)),
    ("demo", lambda c: st.integers(-(10**6), 49).map(lambda x: ["demo", "--db", str(c.tmp / "d.db"),
                                                               "--clienten", str(x)]), ("--clienten",)),
    ("demo", lambda c: st.one_of(st.integers(37, 10**6), st.integers(-(10**6), 0)).map(
        lambda x: ["demo", "--db", str(c.tmp / "d.db"), "--maanden", str(x)]), ("--maanden",)),
    ("instruments show", lambda c: tekst.filter(lambda s: s not in c.instrumenten).map(
        lambda x: ["instruments", "show", x]), ("instrument",)),
    ("instruments list", lambda c: naam.map(lambda x: ["instruments", "list", "--map", str(c.tmp / "geen" / x)]),
     ("--map",)),
    ("instruments validate", lambda c: bytes_.map(lambda b: ["instruments", "validate", c.file(b, ".yaml")]),
     ("invoer-",)),
    ("instruments schema", lambda c: naam.map(lambda x: ["instruments", "schema", "--uit",
                                                         str(c.tmp / "geen" / x / "s.json")]), ("--uit",)),
    ("client toevoegen", lambda c: st.one_of(tekst, st.from_regex(r"[0-9]{9}", fullmatch=True).filter(
        lambda s: not elfproef(s))).map(lambda x: ["client", "toevoegen", "--bsn", x]), ("bsn",)),
    ("client toevoegen", lambda c: geen_datum.map(lambda x: ["client", "toevoegen", "--bsn", c.nieuw_bsn(),
                                                             "--geboortedatum", x]), ("geboortedatum",)),
    ("client toevoegen", lambda c: geen_datum.map(lambda x: ["client", "toevoegen", "--bsn", c.nieuw_bsn(),
                                                             "--bijstand-sinds", x]), ("bijstand_sinds", "bijstand-sinds")),
    ("client wijzig", lambda c: fout_id.map(lambda x: ["client", "wijzig", x, "--postcode", "9713AB",
                                                       "--reden", "verhuisd"]), ("client", "cliënt")),
    ("client bijstand-start", lambda c: geen_datum.map(
        lambda x: ["client", "bijstand-start", str(c.client_id), "--datum", x]), ("--datum",)),
    ("client bijstand-start", lambda c: fout_id.map(
        lambda x: ["client", "bijstand-start", x, "--datum", "2026-01-01"]), ("client", "cliënt")),
    ("regels beslis", lambda c: naam.filter(lambda s: s not in c.regels).map(
        lambda x: ["regels", "beslis", x, "--feiten", c.file("{}"), "--peildatum", "2026-01-01"]), ("regel",)),
    ("regels beslis", lambda c: bytes_.map(lambda b: ["regels", "beslis", "premie_op_werk", "--feiten",
                                                      c.file(_niet_utf8(b)), "--peildatum", "2026-01-01"]),
     ("--feiten",)),
    ("regels beslis", lambda c: tekst.filter(lambda s: not _json_object(s)).map(
        lambda x: ["regels", "beslis", "premie_op_werk", "--feiten", c.file(x), "--peildatum", "2026-01-01"]),
     ("--feiten",)),
    ("regels beslis", lambda c: geen_datum.map(lambda x: ["regels", "beslis", "premie_op_werk", "--feiten",
                                                          c.file("{}"), "--peildatum", x]), ("--peildatum",)),
    ("regels wat-als", lambda c: tekst.filter(lambda s: "=" not in s).map(
        lambda x: ["regels", "wat-als", "premie_op_werk", "--zet", x]), ("--zet",)),
    ("regels wat-als", lambda c: naam.map(lambda x: ["regels", "wat-als", "premie_op_werk", "--zet",
                                                     f"zz.{x}=1"]), ("parameter",)),
    ("regels wat-als", lambda c: naam.filter(lambda s: s not in c.regels).map(
        lambda x: ["regels", "wat-als", x, "--zet", "premie_op_werk.min_bijstand_maanden=24"]), ("regel",)),
    ("feed importeer", lambda c: naam.map(lambda x: ["feed", "importeer", str(c.tmp / "geen" / f"{x}.jsonl")]),
     ("bestand",)),
    ("feed herverwerk", lambda c: fout_id.map(lambda x: ["feed", "herverwerk", x, "--record",
                                                         c.file('{"bsn": "123456782"}')]), ("quarantaine",)),
    ("feed herverwerk", lambda c: bytes_.map(lambda b: ["feed", "herverwerk", "1", "--record",
                                                        c.file(_niet_utf8(b))]), ("--record",)),
    ("uitbetalingen lijst", lambda c: tekst.map(lambda x: ["uitbetalingen", "lijst", "--status", "zz" + x]),
     ("status",)),
    ("uitbetalingen keur-goed", lambda c: fout_id.map(lambda x: ["uitbetalingen", "keur-goed", x,
                                                                 "--door", "teamleider.x"]),
     ("uitbetaling", "ids")),
    ("uitbetalingen afwijzen", lambda c: leeg.map(lambda x: ["uitbetalingen", "afwijzen", str(c.uitbetaling_id),
                                                             "--reden", x, "--door", "teamleider.x"]), ("reden",)),
    ("uitbetalingen afwijzen", lambda c: fout_id.map(lambda x: ["uitbetalingen", "afwijzen", x, "--reden", "nee",
                                                                "--door", "teamleider.x"]), ("uitbetaling",)),
    ("uitbetalingen exporteer", lambda c: naam.map(lambda x: ["uitbetalingen", "exporteer", "--uit",
                                                              str(c.tmp / "geen" / x / "b.xml")]), ("--uit",)),
    ("uitbetalingen betaald", lambda c: fout_id.map(lambda x: ["uitbetalingen", "betaald", x]), ("batch",)),
    ("uitbetalingen batch", lambda c: fout_id.map(lambda x: ["uitbetalingen", "batch", x, "--uit",
                                                             str(c.tmp / "b.xml")]), ("batch",)),
    ("rapportage maand", lambda c: tekst.filter(lambda s: not re.fullmatch(r"\d{4}-\d{2}", s)).map(
        lambda x: ["rapportage", "maand", "--maand", x, "--uit", str(c.tmp / "rapport")]), ("--maand",)),
    ("coach toewijzen", lambda c: fout_id.map(lambda x: ["coach", "toewijzen", x, "--naar", "coach.oost.2",
                                                         "--reden", "werkverdeling"]), ("client", "cliënt")),
    ("overplaatsing accepteer", lambda c: fout_id.map(lambda x: ["overplaatsing", "accepteer", x, "--coach",
                                                                 "coach.oost.2"]), ("overplaatsing",)),
    ("overplaatsing afwijzen", lambda c: fout_id.map(lambda x: ["overplaatsing", "afwijzen", x, "--toelichting",
                                                                "past niet"]), ("overplaatsing",)),
    ("logboek inzage", lambda c: st.one_of(geen_getal, te_groot).map(lambda x: ["logboek", "inzage", "--client", x]),
     ("--client", "client")),
    # distributed mode: nothing may start on broken input (a valid --port would start the web server)
    ("web", lambda c: st.one_of(geen_getal, st.integers(65536, 2**40).map(str), st.integers(-(2**40), -1).map(str))
     .map(lambda x: ["web", "--port", x]), ("--port",)),
    ("cluster start", lambda c: st.one_of(
        tekst.filter(lambda s: not s.lower().startswith("postgres")).map(
            lambda x: ["cluster", "start", "--database-url", x, "--map", str(c.tmp / "cluster")]),
        st.one_of(geen_getal, st.integers(17, 2**40).map(str), st.integers(-(2**40), 0).map(str)).map(
            lambda x: ["cluster", "start", "--workers", x, "--map", str(c.tmp / "cluster")])),
     ("--database-url", "--workers")),
    ("cluster status", lambda c: st.one_of(
        naam.map(lambda x: ["cluster", "status", "--map", str(c.tmp / f"geen-{x}")]),
        geen_getal.map(lambda x: ["cluster", "status", "--runs", x])), ("geen cluster", "--runs")),
    ("cluster stop", lambda c: st.one_of(
        naam.map(lambda x: ["cluster", "stop", "--map", str(c.tmp / f"geen-{x}")]),
        tekst.filter(lambda s: not _is_float(s)).map(lambda x: ["cluster", "stop", "--wachttijd", x])),
     ("geen cluster", "--wachttijd")),
]


def _json_object(s: str) -> bool:
    import json

    try:
        return isinstance(json.loads(s), dict)
    except ValueError:
        return False


def _commands() -> list[str]:
    def walk(cmd, path=()):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + (name,))
        else:
            yield " ".join(path)

    return sorted(walk(get_command(app)))


# --------------------------------------------------------------------------- the database


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{tmp / 'cli.db'}"
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    eng = open_engine(url, clock)
    vul_gebruikers(eng)
    zaak = maak_zaak(eng, clock)
    for row in betalingen.lijst(eng, "voorgesteld"):
        betalingen.keur_goed(eng, row.id, door="teamleider.oost")  # so the export has something to export
    res = betalingen.exporteer(eng, door="financien")
    zaak["premie2"] = eng.start("premie_op_werk", eng.add_client(
        "100000009", naam="Twee", geboortedatum=date(1980, 1, 1), gebied="Oost", coach="coach.oost.1",
        bijstand_sinds=date(2019, 1, 1), iban="NL91ABNA0417164300"), {"werk_start": "2026-03-02", "uren_per_week": 32,
                                                                       "contract_maanden": 12}, actor="coach.oost.1").traject_id
    eng.sweep()
    for row in betalingen.lijst(eng, "voorgesteld"):
        betalingen.keur_goed(eng, row.id, door="teamleider.oost")
    ctx = Ctx(zaak, tmp, res.batch_id or 1)
    ctx.instrumenten = set(eng.register.names())
    import regels

    ctx.regels = set(regels.regel_namen())
    ctx.ib_uitkomst = eng.register.current("intensief_begeleiden").definitie.uitkomsten[0]
    rng = random.Random(5)
    ctx.nieuw_bsn = lambda: synthetisch(rng)
    db = eng.db
    yield url, ctx, db
    db.dispose()


def _run(url: str, argv: list[str]):
    runner = CliRunner()
    return runner.invoke(app, argv, env={"TRAJECTEN_DATABASE_URL": url, "COLUMNS": "200"}, input="\n",
                         catch_exceptions=True)


def _check(url, db, argv, words):
    before = snapshot(db)
    r = _run(url, argv)
    text = (r.stdout or "") + (getattr(r, "stderr", "") or "")
    assert r.exception is None or isinstance(r.exception, SystemExit), (argv, repr(r.exception), text[-1500:])
    assert r.exit_code != 0, (argv, text[-800:])
    assert "Traceback" not in text, (argv, text[-1500:])
    flat = re.sub(r"[\s│╭╮╰╯─]+", " ", text).lower()
    assert any(w.lower() in flat for w in words), (argv, words, text[-800:])
    assert snapshot(db) == before, f"{argv} changed the database"


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_broken_input_is_refused_naming_the_field_and_changes_nothing(cli_db, i):
    url, ctx, db = cli_db
    name, make, words = CASES[i]
    if name not in _commands():
        pytest.skip(f"command {name!r} is not in this build")

    @HS
    @given(make(ctx))
    def prop(argv):
        _check(url, db, argv, words)

    prop()


@given(cmd=st.sampled_from(_commands()), option=naam)
@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_an_unknown_option_is_refused_by_every_command(cli_db, cmd, option):
    url, _, db = cli_db
    _check(url, db, [*cmd.split(), f"--zz-{option}"], (f"--zz-{option}",))


def test_every_command_has_a_case():
    """A new command gets a broken-input case here (only the unknown option covers the ones listed)."""
    covered = {c[0] for c in CASES}
    without = sorted(set(_commands()) - covered)
    # commands that take no input worth breaking (beyond an unknown option) or only free text
    no_input = {"incidenten", "instellingen", "regels lijst", "feed quarantaine", "caseload", "controleer",
                "db migreer"}
    assert set(without) - no_input == set(), f"commands without a broken-input case: {set(without) - no_input}"
