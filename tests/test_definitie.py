"""Instrument definitions: the shipped files, loud failures for broken ones, the JSON Schema and versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import open_engine
from tests.helpers import ACTOR, FEITEN, at, client, planned, task_for
from trajecten.kern.definitie import (
    INSTRUMENTEN_DIR,
    DefinitieFout,
    Instrument,
    StapSoort,
    json_schema,
    load_dir,
    parse_definitie,
)
from trajecten.opslag.models import InstrumentVersie

REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted(["intensief_begeleiden", "jobcoaching_nazorg", "premie_op_werk", "ww_preventie",
                  # P7: six more instruments from the documents
                  "activeren_27plus", "basisbaan", "jobhunting", "jongeren_in_beeld", "parttime_naar_fulltime",
                  "vouchers",
                  "kansen_in_kaart",  # P7 part B: the yearly contact across the caseload
                  "businesscase"])  # P8: a one-off payment that removes an obstacle to work


def _text(name: str) -> str:
    return (INSTRUMENTEN_DIR / f"{name}.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the shipped files


def test_the_four_shipped_files_validate():
    loaded = load_dir()
    assert sorted(loaded) == SHIPPED
    for name, (inst, text) in loaded.items():
        assert isinstance(inst, Instrument)
        assert inst.instrument == name
        assert text == _text(name)
        assert any(s.kind is StapSoort.end for s in inst.stappen) or any(
            e.beeindigt for e in inst.gebeurtenissen.values())


def test_shipped_files_name_the_rules_that_exist():
    import regels

    for name, (inst, _) in load_dir().items():
        assert inst.regel in regels.RULES, f"{name}: eligibility rule {inst.regel} unknown"
        for s in inst.stappen:
            if s.regel:
                assert s.regel in regels.RULES, f"{name}.{s.key}: rule {s.regel} unknown"


def test_decision_and_wait_steps_get_default_outcomes():
    text = _text("intensief_begeleiden").replace(
        "  - key: nacontrole\n",
        "  - key: besluit_x\n    kind: decision\n    titel: X\n    regel: intensief_begeleiden.toegang\n"
        "  - key: nacontrole\n",
    )
    inst = parse_definitie(text)
    assert inst.stap("besluit_x").uitkomsten == ["ja", "nee"]


# --------------------------------------------------------------------------- broken files fail loudly

IB = "intensief_begeleiden"


def _once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text {old!r} not unique"
    return text.replace(old, new)


BROKEN = [
    # (id, instrument file it is based on, old, new, step key, field)
    ("unknown_kind", IB, "kind: reminder\n    titel: Intake is nog niet gedaan",
     "kind: herinnering\n    titel: Intake is nog niet gedaan", "herinnering_intake", "kind"),
    ("bad_offset", IB, "offset: +4w\n", "offset: +4x\n", "tussenevaluatie", "offset"),
    ("bad_termijn", IB, "termijn: +3wd", "termijn: 3wd", "besluit_week9", "termijn"),
    ("anchor_to_missing_step", IB,
     "uitkomst: afronden}\n    anchor: stap:besluit_week9", "uitkomst: afronden}\n    anchor: stap:bestaat_niet",
     "eindevaluatie", "anchor"),
    ("anchor_to_undeclared_fact", IB, "    anchor: start\n    offset: +4w\n",
     "    anchor: feit:bestaat_niet\n    offset: +4w\n", "tussenevaluatie", "anchor"),
    ("na_outcome_unknown", IB, "na: {stap: besluit_week9, uitkomst: afronden}",
     "na: {stap: besluit_week9, uitkomst: stoppen}", "eindevaluatie", "na.uitkomst"),
    ("duplicate_step_key", IB, "  - key: herinnering_intake\n", "  - key: intake\n", "intake", "key"),
    ("duplicate_yaml_key", IB, "    offset: +4w\n", "    offset: +4w\n    offset: +5w\n", "tussenevaluatie", "offset"),
    ("unknown_field", IB, "    offset: +4w\n", "    offset: +4w\n    ofset: +5w\n", "tussenevaluatie", "ofset"),
    ("reminder_points_at_non_task", IB, "herinnert_aan: intake", "herinnert_aan: coachingscontact",
     "herinnering_intake", "herinnert_aan"),
    ("payout_without_deel", "premie_op_werk", "    deel: 1\n", "", "premie_deel_1", "deel"),
    ("payout_without_regel", "premie_op_werk", "    regel: premie_op_werk\n    deel: 2\n", "    deel: 2\n",
     "premie_deel_2", "regel"),
    ("cancel_by_undeclared_event", "jobcoaching_nazorg", "    herhaal: {elke: +1w, max: 4}\n    vervalt_bij: [werk_beeindigd]",
     "    herhaal: {elke: +1w, max: 4}\n    vervalt_bij: [ontslag]", "checkin_wekelijks", "vervalt_bij"),
    ("repeat_until_without_kind", IB, "tot: stap:besluit_week9", "tot: besluit_week9", "coachingscontact",
     "herhaal.tot"),
    ("repeat_until_undeclared_fact", "ww_preventie", "tot: feit:ww_einddatum", "tot: feit:ww_eind", "contactmoment",
     "herhaal.tot"),
    ("repeat_until_missing_step", IB, "tot: stap:besluit_week9", "tot: stap:besluit_week8", "coachingscontact",
     "herhaal.tot"),
    ("repeat_backwards", IB, "herhaal: {elke: +1w, max: 3}", "herhaal: {elke: -1w, max: 3}", "verlengd_contact",
     "herhaal.elke"),
]


@pytest.mark.parametrize(("base", "old", "new", "step", "field"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_file_names_file_step_and_field(tmp_path, base, old, new, step, field):
    path = tmp_path / f"{base}.yaml"
    path.write_text(_once(_text(base), old, new), encoding="utf-8")
    with pytest.raises(DefinitieFout) as err:
        load_dir(tmp_path)
    msg = str(err.value)
    assert err.value.path == str(path)
    assert msg.startswith(str(path)), msg
    assert f"'{step}'" in msg or f"({step})" in msg, msg
    assert field in msg, msg


def test_duplicate_yaml_key_is_refused_not_silently_overwritten(tmp_path):
    text = _once(_text(IB), "    offset: +4w\n", "    offset: +4w\n    offset: +5w\n")
    lineno = text.splitlines().index("    offset: +5w") + 1
    with pytest.raises(DefinitieFout) as err:
        parse_definitie(text, tmp_path / f"{IB}.yaml")
    assert f"line {lineno}" in str(err.value)
    assert "appears twice" in str(err.value)


def test_file_name_must_match_instrument(tmp_path):
    path = tmp_path / "andere_naam.yaml"
    path.write_text(_text(IB), encoding="utf-8")
    with pytest.raises(DefinitieFout) as err:
        load_dir(tmp_path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert "instrument" in msg and "andere_naam" in msg and IB in msg


def test_yaml_syntax_error_names_the_line(tmp_path):
    text = _once(_text(IB), "titel: Week 9 - afronden", "titel: Week 9: afronden")
    lineno = next(i for i, line in enumerate(text.splitlines(), 1) if "Week 9: afronden" in line)
    path = tmp_path / f"{IB}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitieFout) as err:
        load_dir(tmp_path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert f"line {lineno}" in msg, msg


def test_not_a_mapping(tmp_path):
    with pytest.raises(DefinitieFout, match="mapping"):
        parse_definitie("- just\n- a list\n", tmp_path / "x.yaml")


def test_instrument_level_problems_name_the_field(tmp_path):
    # an ending event with an outcome that is not among the instrument's outcomes
    text = _once(_text(IB), "uitkomst: uitgevallen, beeindigt: true", "uitkomst: verdwenen, beeindigt: true")
    with pytest.raises(DefinitieFout, match=r"gebeurtenissen\.uitgevallen\.uitkomst"):
        parse_definitie(text, tmp_path / f"{IB}.yaml")
    # no way to end
    data = yaml.safe_load(_text(IB))
    data["stappen"] = [s for s in data["stappen"] if s["kind"] != "end"]
    data["gebeurtenissen"] = {}
    with pytest.raises(DefinitieFout, match="could never finish"):
        parse_definitie(yaml.safe_dump(data), tmp_path / f"{IB}.yaml")


def test_begin_must_anchor_on_start_or_a_declared_fact(tmp_path):
    text = _once(_text("ww_preventie"), "begin:\n  anchor: feit:ww_einddatum", "begin:\n  anchor: feit:ww_eind")
    path = tmp_path / "ww_preventie.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitieFout) as err:
        load_dir(tmp_path)
    assert str(err.value).startswith(str(path)) and "begin.anchor" in str(err.value)


def test_all_problems_of_a_step_are_reported_together(tmp_path):
    text = _once(_text(IB), "    offset: +4w\n", "    offset: +4x\n    rol: baas\n")
    with pytest.raises(DefinitieFout) as err:
        parse_definitie(text, tmp_path / f"{IB}.yaml")
    assert len(err.value.problems) == 2
    assert any("offset" in p for p in err.value.problems)
    assert any("rol" in p for p in err.value.problems)


# --------------------------------------------------------------------------- JSON Schema


def test_committed_json_schema_equals_the_code():
    committed = REPO / "docs" / "instrument.schema.json"
    assert committed.exists(), "run: trajecten instruments schema (writes docs/instrument.schema.json)"
    assert json.loads(committed.read_text(encoding="utf-8")) == json_schema(), (
        "docs/instrument.schema.json is stale; regenerate it with write_json_schema"
    )


def test_shipped_files_validate_against_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    for name in SHIPPED:
        jsonschema.validate(yaml.safe_load(_text(name)), schema)
    broken = yaml.safe_load(_text(IB))
    broken["stappen"][0]["kind"] = "herinnering"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


# --------------------------------------------------------------------------- versions


def test_changed_definition_makes_a_new_version_and_running_trajectories_keep_theirs(db_url, clock, tmp_path):
    inst_dir = tmp_path / "instrumenten"
    inst_dir.mkdir()
    path = inst_dir / f"{IB}.yaml"
    shutil.copy(INSTRUMENTEN_DIR / f"{IB}.yaml", path)

    eng = open_engine(db_url, clock, instrument_dir=inst_dir)
    try:
        assert eng.register.current(IB).versie == 1
        cid_a = client(eng, "111222333")
        a = eng.start(IB, cid_a, FEITEN[IB], actor=ACTOR)
        assert planned(eng, a.traject_id)[("intake", 0)] == at(2026, 1, 7)  # v1: +2wd

        # change the file: intake +2wd -> +4wd, eindevaluatie +2wd -> +5wd
        text = path.read_text(encoding="utf-8")
        text = _once(text, "titel: Intake en ontwikkelplan opstellen\n    anchor: start\n    offset: +2wd",
                     "titel: Intake en ontwikkelplan opstellen\n    anchor: start\n    offset: +4wd")
        text = _once(text, "anchor: stap:besluit_week9\n    offset: +2wd", "anchor: stap:besluit_week9\n    offset: +5wd")
        path.write_text(text, encoding="utf-8")
        assert eng.register.sync() == [(IB, 2, True)]

        # A keeps version 1 and its planned steps
        assert eng.timeline(a.traject_id)["traject"].definitie_versie == 1
        assert planned(eng, a.traject_id)[("intake", 0)] == at(2026, 1, 7)
        # B gets version 2 and its timing
        cid_b = client(eng, "123456782")
        b = eng.start(IB, cid_b, FEITEN[IB], actor=ACTOR)
        assert eng.timeline(b.traject_id)["traject"].definitie_versie == 2
        assert planned(eng, b.traject_id)[("intake", 0)] == at(2026, 1, 9)  # Mon 5 + 4wd = Fri 9

        # re-syncing an unchanged file makes no new version
        assert eng.register.sync() == [(IB, 2, False)]
        with eng.db.connect() as conn:
            versies = conn.execute(
                InstrumentVersie.__table__.select().where(InstrumentVersie.__table__.c.instrument == IB)
                .order_by(InstrumentVersie.__table__.c.versie)).all()
        assert [v.versie for v in versies] == [1, 2]
        assert versies[0].inhoud == (INSTRUMENTEN_DIR / f"{IB}.yaml").read_text(encoding="utf-8")
        assert versies[1].inhoud == text
    finally:
        eng.db.dispose()

    # Fresh engines (empty caches, as after a restart) read v1 back from the database: one sweeps,
    # another completes the week-9 tasks; A's new follow-ups get v1 timing, B's v2 timing.
    clock.set(at(2026, 3, 9, 9))
    eng2 = open_engine(db_url, clock, instrument_dir=inst_dir)
    try:
        assert eng2.register.sync() == [(IB, 2, False)]
        res = eng2.sweep()
        assert res.mislukt == 0 and res.incidenten == 0
        assert res.uitgevoerd > 0
    finally:
        eng2.db.dispose()
    eng3 = open_engine(db_url, clock, instrument_dir=inst_dir)
    try:
        for tid in (a.traject_id, b.traject_id):
            eng3.complete_task(task_for(eng3, tid, "besluit_week9").id, actor=ACTOR, uitkomst="afronden")
        assert planned(eng3, a.traject_id)[("eindevaluatie", 0)] == at(2026, 3, 11)  # v1: +2wd
        assert planned(eng3, b.traject_id)[("eindevaluatie", 0)] == at(2026, 3, 16)  # v2: +5wd
    finally:
        eng3.db.dispose()


def test_a_broken_changed_file_stores_no_version(db_url, clock, tmp_path):
    inst_dir = tmp_path / "instrumenten"
    inst_dir.mkdir()
    path = inst_dir / f"{IB}.yaml"
    shutil.copy(INSTRUMENTEN_DIR / f"{IB}.yaml", path)
    eng = open_engine(db_url, clock, instrument_dir=inst_dir)
    try:
        path.write_text(_once(path.read_text(encoding="utf-8"), "offset: +4w\n", "offset: +4x\n"), encoding="utf-8")
        with pytest.raises(DefinitieFout, match="tussenevaluatie"):
            eng.register.sync()
        assert eng.register.current(IB).versie == 1
        with eng.db.connect() as conn:
            n = conn.execute(InstrumentVersie.__table__.select()).all()
        assert len(n) == 1
        with pytest.raises(KeyError, match="no version 7"):
            eng.register.get(IB, 7)
    finally:
        eng.db.dispose()


def test_unknown_instrument_names_the_known_ones(engine):
    with pytest.raises(KeyError, match="premie_op_werk"):
        engine.register.current("bestaat_niet")
