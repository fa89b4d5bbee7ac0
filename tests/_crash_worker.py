"""Child process for the crash tests: sweep (proposing payouts), approve, export - until killed.

Prints ``ready`` once the engine is open, so the parent kills it while it works, not while it imports.
"""

import sys
from datetime import datetime
from pathlib import Path

from trajecten import uitbetalingen
from trajecten.config import load_settings
from trajecten.engine import Engine
from trajecten.tijd import TZ, FixedClock

url, out_dir = sys.argv[1], Path(sys.argv[2])
eng = Engine.open(url, clock=FixedClock(datetime(2026, 1, 12, 9, 0, tzinfo=TZ)),
                  settings=load_settings(database_url=url, batch_size=2))
print("ready", flush=True)
eng.sweep()
for row in uitbetalingen.lijst(eng, "voorgesteld"):
    uitbetalingen.keur_goed(eng, row.id, door="teamleider.crash")
res = uitbetalingen.exporteer(eng, door="financien.crash")
if res.batch_id is not None:
    (out_dir / f"batch-{res.batch_id}.xml").write_bytes(res.xml)
print("done", flush=True)
