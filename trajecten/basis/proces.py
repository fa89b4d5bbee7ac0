"""Tuning of a whole process, set once when it starts: never switched inside library code.

A sweep, a feed import or Kansen in Kaart keeps hundreds of thousands of small objects (rows, decisions,
parameters) until its transaction commits. With Python's default thresholds the cyclic garbage
collector walks them again each time 700 more objects survived, and the objects loaded at start
(modules, definitions, rules, the web app) with every full collection. So every process that runs the
engine (``trajecten serve`` and ``web``, a Prefect flow run, a worker, a sweeper, the command line)
calls :func:`stem_af` once at start:

* ``gc.freeze()``: what exists now stays out of the collector's sight (it lives as long as the process);
* ``gc.set_threshold(*GC_DREMPELS)``: a young collection per 50,000 surviving objects instead of 700.
  Reference counting still frees almost everything the moment a batch is done; the collector only has
  cycles to find, and the engine's bulk paths make none of their own.

The benchmarks (bench/) call it as the processes they stand for do, so bench/feed.py and bench/sweep.py
measure the engine as it runs.
"""

from __future__ import annotations

import gc

GC_DREMPELS = (50_000, 20, 100)


def stem_af() -> None:
    """Tune this process for the engine (see the module text). Safe to call more than once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_DREMPELS)
