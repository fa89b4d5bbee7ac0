"""How a trajectory ends, the one way for every cause: a person ends it, its end step fires, or an event
ends it. The trajectory gets its outcome and end date; what it left is cancelled (planned steps) or lapses
(open tasks)."""

from __future__ import annotations

from datetime import date, datetime

from trajecten.opslag.db import in_values
from trajecten.opslag.models import GeplandeStap, StapStatus, Taak, TaakStatus, TrajectStatus

S = GeplandeStap.__table__
K = Taak.__table__


def einde(uitkomst: str, datum: date) -> dict:
    """The trajectory's columns once it ended with ``uitkomst`` on ``datum``."""
    return {"status": TrajectStatus.beeindigd.value, "uitkomst": uitkomst, "eind_datum": datum}


def rest_vervalt(conn, traject_ids, *, now: datetime, actor: str) -> int:
    """What the ended trajectories ``traject_ids`` leave: planned steps are cancelled ("traject beëindigd"),
    open tasks lapse (closed by ``actor``). Returns how many steps were cancelled."""
    ids = list(traject_ids)
    n = conn.execute(S.update().where(in_values(S.c.traject_id, ids, conn), S.c.status == StapStatus.gepland.value)
                     .values(status=StapStatus.geannuleerd.value, reden="traject beëindigd", uitgevoerd_op=now)).rowcount
    conn.execute(K.update().where(in_values(K.c.traject_id, ids, conn), K.c.status == TaakStatus.open.value)
                 .values(status=TaakStatus.vervallen.value, gesloten_door=actor, gesloten_op=now))
    return n
