"""Bulk work and Python's cyclic garbage collector.

A sweep or a feed import creates and keeps hundreds of thousands of small objects (rows, decisions,
parameters) until its transaction commits. Each time enough new objects have survived, the collector
walks all of them again (in a profile the time lands on whichever line allocated when a collection
started; bench/feed.py and bench/sweep.py show what pausing it gained). The engine's bulk paths make no
reference cycles of their own, so the collector is paused while they run and resumes afterwards
(reference counting frees almost everything the moment a batch is done either way).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_users = 0
_was_enabled = False


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block. Nested and concurrent blocks (a web push while
    the scheduler sweeps) share one pause: it ends when the last block ends, and only re-enables the
    collector if it was enabled when the first began."""
    global _users, _was_enabled
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _was_enabled:
                gc.enable()
