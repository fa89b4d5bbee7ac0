"""Process tuning is set once at process start (trajecten.basis.proces); library code never switches the
garbage collector."""

from __future__ import annotations

import gc
import subprocess
import sys

from trajecten.basis.proces import GC_DREMPELS


def test_stem_af_freezes_what_was_loaded_and_raises_the_thresholds():
    code = ("import gc; from trajecten.basis import proces; proces.stem_af(); "
            "print(gc.get_threshold(), gc.get_freeze_count() > 1000, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"{GC_DREMPELS} True True"


def test_the_sweep_the_feed_and_kansen_in_kaart_leave_the_collector_alone(engine, monkeypatch):
    from connectors.uwv import verwerk
    from trajecten.taken.kansen import bijwerken

    switched = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "set_threshold", lambda *a: switched.append("set_threshold"))
    engine.sweep()
    verwerk(engine, [], "leeg")
    bijwerken(engine)
    assert switched == [] and gc.isenabled()


def test_a_flow_run_and_a_sweeper_process_tune_themselves(monkeypatch, tmp_path):
    import flows._common as common
    from trajecten import load_settings
    from trajecten.basis import proces
    from trajecten.taken import sweepers

    calls = []
    monkeypatch.setattr(proces, "stem_af", lambda: calls.append("sweeper"))
    monkeypatch.setattr(common, "stem_af", lambda: calls.append("flow"))
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    with common.engine() as eng:
        assert eng.sweep().verwerkt == 0
    sweepers._een(load_settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"), None, None)  # what each process runs
    assert calls == ["flow", "sweeper"]
