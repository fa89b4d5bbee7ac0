"""The garbage-collector pause of the bulk paths: shared by nested and concurrent blocks, and restored."""

from __future__ import annotations

import gc
import threading

from trajecten.kern import geheugen


def test_pause_is_shared_and_restored():
    assert gc.isenabled()
    with geheugen.bulk():
        assert not gc.isenabled()
        with geheugen.bulk():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_concurrent_blocks_end_the_pause_only_when_the_last_ends():
    inside, release = threading.Event(), threading.Event()

    def other():
        with geheugen.bulk():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with geheugen.bulk():
        pass
    assert not gc.isenabled()  # the other thread's block is still running
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with geheugen.bulk():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_sweep_and_feed_run_with_the_collector_paused(engine, monkeypatch):
    from connectors.uwv import verwerk

    seen = []
    real = geheugen.bulk

    def spy():
        seen.append("bulk")
        return real()

    monkeypatch.setattr(geheugen, "bulk", spy)
    engine.sweep()
    verwerk(engine, [], "leeg")
    assert seen == ["bulk", "bulk"] and gc.isenabled()
