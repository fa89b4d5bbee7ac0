"""Child process of the crash harness: run the scheduled work until done or killed (SIGKILL).

``python -m tests.reliability.worker URL NOW MIX OUT_DIR``. Prints ``ready`` once the engine is open, so
the parent kills it while it works, not while it imports, then ``stage <name>`` as it moves on (the
parent reports where the kills landed). MIX ``uitbetalingen``: sweep (proposing
payouts), approve, export. MIX ``alles``: the same plus notifications (collect the mail outbox from the
events, send it through an in-memory sender) between the sweep and the payouts. Small batches, so a run
commits many times and a kill lands between, or inside, many transactions.
"""

import sys
from datetime import datetime
from pathlib import Path

from trajecten.geld import uitbetalingen
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.basis.tijd import FixedClock

APPROVER = "teamleider.crash"  # neither the proposer (the sweep) nor who started the trajectories


def main(url: str, now: datetime, mix: str, out_dir: Path) -> None:
    eng = Engine.open(url, clock=FixedClock(now),
                      settings=load_settings(database_url=url, batch_size=2, meldingen_modus="per_gebeurtenis"))
    print("ready", flush=True)
    eng.sweep()
    print("stage meldingen" if mix == "alles" else "stage uitbetalingen", flush=True)
    if mix == "alles":
        from connectors.notificaties import GeheugenVerzender, verstuur, verzamel

        verzamel(eng, now)
        verstuur(eng, GeheugenVerzender(), now)
        print("stage uitbetalingen", flush=True)
    for row in uitbetalingen.lijst(eng, "voorgesteld"):
        uitbetalingen.keur_goed(eng, row.id, door=APPROVER)
    print("stage export", flush=True)
    res = uitbetalingen.exporteer(eng, door="financien.crash")
    if res.batch_id is not None:
        (out_dir / f"batch-{res.batch_id}.xml").write_bytes(res.xml)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
