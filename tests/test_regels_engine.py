"""The rules wired into the engine: the CLI contract, signals decided by rules, and the what-if."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from trajecten.basis.bsn import synthetisch
from trajecten.opslag.models import Gebeurtenis, Taak
from trajecten.kern.signalen import signaleer
from trajecten.basis.tijd import TZ
from trajecten.rapportage.watals import wat_als

ROOT = Path(__file__).resolve().parent.parent
FACTS = {"bijstand_sinds": "2019-01-01", "werk_start": "2026-01-12", "uren_per_week": 20, "contract_maanden": 12,
         "geboortedatum": "1980-01-01", "lks_indicatie": False, "werk_nog_op": None, "eerdere_premie_op": None}


def _cli(*args, stdin: str | None = None, env=None):
    return subprocess.run([sys.executable, "-m", "trajecten.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=60)


def test_cli_contract_json():
    res = _cli("regels", "beslis", "premie_op_werk", "--feiten", "-", "--peildatum", "2026-01-12", "--json",
               stdin=json.dumps(FACTS))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"regel", "versie", "peildatum", "uitkomst", "betalingen", "redenen"}
    assert (out["regel"], out["versie"], out["peildatum"], out["uitkomst"]) == (
        "premie_op_werk", "2023-04-01", "2026-01-12", True)
    assert out["betalingen"] == [{"deel": 1, "bedrag": "300.00", "opeisbaar_op": "2026-01-12"}]
    for reden in out["redenen"]:
        assert set(reden) == {"voorwaarde", "waarde", "norm", "voldaan", "bron"}


def test_cli_contract_text_and_bad_facts(tmp_path):
    f = tmp_path / "feiten.json"
    f.write_text(json.dumps(FACTS))
    text = _cli("regels", "beslis", "premie_op_werk", "--feiten", str(f), "--peildatum", "2026-01-12")
    assert text.returncode == 0 and "€ 300,00" in text.stdout
    for field, value in (("uren_per_week", -3), ("werk_start", "2023-02-30")):
        bad = _cli("regels", "beslis", "premie_op_werk", "--feiten", "-", "--peildatum", "2026-01-12", "--json",
                   stdin=json.dumps({**FACTS, field: value}))
        assert bad.returncode == 2 and field in bad.stderr and bad.stdout == ""
    missing = {k: v for k, v in FACTS.items() if k != "werk_start"}
    bad = _cli("regels", "beslis", "premie_op_werk", "--feiten", "-", "--peildatum", "2026-01-12", stdin=json.dumps(missing))
    assert bad.returncode == 2 and "werk_start" in bad.stderr


def test_escalation_decided_by_rule(engine, clock):
    rng = random.Random(3)
    cid = engine.add_client(synthetisch(rng), bijstand_sinds=date(2024, 1, 1), coach="coach.a")
    tid = engine.start("intensief_begeleiden", cid, {"variant": "richting_werk"}, actor="coach.a").traject_id
    clock.set(clock.now() + timedelta(days=2))  # Wed 2026-01-07: the intake task appears, due +5wd
    engine.sweep()
    intake = [t for t in engine.open_tasks(tid) if t.stap == "intake"][0]
    assert intake.due_at.astimezone(TZ).date() == date(2026, 1, 14)
    clock.set(datetime(2026, 1, 21, 7, 0, tzinfo=TZ))  # 5 working days after the deadline: not yet
    assert signaleer(engine).escalaties == 0
    clock.set(datetime(2026, 1, 22, 7, 0, tzinfo=TZ))  # 6 working days late
    assert signaleer(engine).escalaties == 1
    assert signaleer(engine).escalaties == 0  # once
    with engine.db.connect() as conn:
        task = conn.execute(sa.select(Taak.__table__).where(Taak.__table__.c.id == intake.id)).one()
        ev = conn.execute(sa.select(Gebeurtenis.__table__).where(
            Gebeurtenis.__table__.c.type == "taak_geescaleerd")).one()
    assert task.geescaleerd_naar == "teamleider"
    assert (ev.regel, ev.payload["besluit"]["uitkomst"]) == ("escalatie.taak_te_laat", True)


def test_no_contact_reminder_resets_on_contact(engine, clock):
    rng = random.Random(4)
    cid = engine.add_client(synthetisch(rng), bijstand_sinds=date(2024, 1, 1), coach="coach.a")
    tid = engine.start("intensief_begeleiden", cid, {"variant": "richting_werk"}, actor="coach.a").traject_id
    clock.set(clock.now() + timedelta(days=6))
    assert signaleer(engine).herinneringen == 0  # intensief: 1 week
    clock.set(clock.now() + timedelta(days=1))
    assert signaleer(engine).herinneringen == 1
    assert signaleer(engine).herinneringen == 0  # the reminder itself counts as the new reference
    clock.set(clock.now() + timedelta(days=3))
    engine.record_event(tid, "contact", actor="coach.a")
    clock.set(clock.now() + timedelta(days=6))
    assert signaleer(engine).herinneringen == 0


def test_what_if_counts_gain_and_loss(engine, clock):
    rng = random.Random(5)
    today = clock.now().date()
    ids = {}
    for months in (8, 20, 30, 40):
        ids[months] = engine.add_client(synthetisch(rng), geboortedatum=date(1980, 1, 1),
                                        bijstand_sinds=today - timedelta(days=months * 30.5))
    res = wat_als(engine, "premie_op_werk", {"premie_op_werk.min_bijstand_maanden": 24}, today,
                  {"uren_per_week": 20, "contract_maanden": 6})
    assert (res.aantal, res.ja_voor, res.ja_na) == (4, 4, 2)
    assert set(res.verloren) == {ids[8], ids[20]} and res.gewonnen == ()
    assert res.geldeffect == -600  # two clients lose part 1 (EUR 300 each)
