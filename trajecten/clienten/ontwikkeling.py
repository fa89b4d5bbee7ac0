"""Trajectory outcomes into the ontwikkelplan and the ontwikkelladder: ``bijwerken_uit_trajecten``.

Called by the sweep job (``jobs.sweep``) after each sweep, and safe to call at any time: it is idempotent.
Each handled (trajectory, kind) gets a row in ``ontwikkeling_verwerkt`` in the same transaction as its
effect; its primary key makes a second run (or a second sweep running at the same moment) a no-op.

- plan: a trajectory started from a plan step that has ended -> the step becomes ``afgerond`` with the
  outcome (a new plan version by ``systeem:uitkomst``).
- ladder: a trajectory whose outcome is listed under ``omhoog_bij`` in the ladder file (by default
  intensief begeleiden ``volgende_trede``, ter ontwikkeling) -> one rung up, dated the day the outcome is
  seen (the trajectory's end date if it has ended), assessed by ``systeem:uitkomst``. Without an earlier
  rung there is nothing to step up from: the outcome is marked handled and the coach records the rung.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trajecten.clienten import ladder as ladder_mod
from trajecten.clienten import ontwikkelplan
from trajecten.opslag.models import OntwikkelingVerwerkt, OntwikkelplanTraject, Traject, TrajectStatus
from trajecten.basis.tijd import local_date

T, PT, W = Traject.__table__, OntwikkelplanTraject.__table__, OntwikkelingVerwerkt.__table__
SYSTEEM = "systeem:uitkomst"
BATCH = 500


@dataclass
class Bijgewerkt:
    plannen: int = 0  # plan versions written for finished linked trajectories
    treden_omhoog: int = 0  # rungs up from outcomes
    zonder_trede: int = 0  # outcomes that would step up, but the client had no rung yet

    def as_dict(self) -> dict:
        return asdict(self)


def bijwerken_uit_trajecten(engine, ladder: ladder_mod.Ladder | None = None) -> Bijgewerkt:
    """Write what newly finished trajectories mean for plans and ladders (idempotent; counts only)."""
    ladder = ladder or ladder_mod.laad_ladder()
    res = Bijgewerkt()
    _plannen(engine, res)
    _ladder(engine, ladder, res)
    return res


def _niet_verwerkt(soort: str):
    return ~sa.exists().where(W.c.traject_id == T.c.id, W.c.soort == soort)


def _claim(conn, traject_id: int, soort: str, now) -> bool:
    """Mark (trajectory, kind) handled; False when it already was (another run got there first)."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(W).values(traject_id=traject_id, soort=soort, verwerkt_op=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["traject_id", "soort"]).returning(W.c.traject_id)
    return conn.execute(stmt).first() is not None


def _verwerk(engine, q, soort: str, handle) -> None:
    """The rows of ``q`` in batches; each is claimed for ``soort`` and handled in its batch's transaction."""
    q = q.where(_niet_verwerkt(soort)).order_by(T.c.id).limit(BATCH)
    while True:
        with engine.db.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        with engine.db.begin() as conn:
            for r in rows:
                if _claim(conn, r.id, soort, engine.clock.now()):
                    handle(conn, r)
        if len(rows) < BATCH:
            return


def _plannen(engine, res: Bijgewerkt) -> None:
    def handle(conn, r):
        if ontwikkelplan.traject_afgerond(engine, conn, r.client_id, r.id, r.instrument, r.uitkomst) is not None:
            res.plannen += 1

    _verwerk(engine, sa.select(T.c.id, T.c.client_id, T.c.instrument, T.c.uitkomst)
             .join(PT, PT.c.traject_id == T.c.id).where(T.c.status == TrajectStatus.beeindigd.value), "plan", handle)


def _ladder(engine, ladder: ladder_mod.Ladder, res: Bijgewerkt) -> None:
    conds = [sa.and_(T.c.instrument == instrument, T.c.uitkomst.in_(sorted(uitkomsten)))
             for instrument, uitkomsten in ladder.omhoog_bij.items() if uitkomsten]
    if not conds:
        return

    def handle(conn, r):
        vorige = ladder_mod.huidige_trede(conn, r.client_id)
        if vorige is None:
            res.zonder_trede += 1
            return
        today = local_date(engine.clock.now())
        datum = max(min(r.eind_datum or today, today), vorige.datum)  # never before the rung it steps up from
        nieuw = min(vorige.trede + 1, ladder.hoogste)
        ladder_mod.trede_vastleggen(
            engine, r.client_id, nieuw, door=SYSTEEM, datum=datum, traject_id=r.id, ladder=ladder, conn=conn,
            toelichting=f"uitkomst {r.uitkomst} van traject {r.id} ({r.instrument}): een trede omhoog"
            + (" (al op de hoogste trede)" if nieuw == vorige.trede else ""))
        res.treden_omhoog += 1

    _verwerk(engine, sa.select(T.c.id, T.c.client_id, T.c.instrument, T.c.uitkomst, T.c.eind_datum)
             .where(sa.or_(*conds)), "ladder", handle)
