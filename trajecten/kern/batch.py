"""What a sweep batch reads beyond its claimed rows: one query per kind of look-up (facts, payout history,
payout keys, task states, coaches, outcomes, planned steps), and only when a claimed step needs it."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from trajecten.basis.tijd import TZ
from trajecten.geld.uitbetalingen import eerdere_toekenningen
from trajecten.kern.motor import Motor
from trajecten.kern.definitie import Stap, StapSoort
from trajecten.kern.feiten import regel_feiten
from trajecten.opslag.db import in_values
from trajecten.opslag.models import Client, GeplandeStap, Taak, Traject, Uitbetaling

S = GeplandeStap.__table__
T = Traject.__table__
K = Taak.__table__
U = Uitbetaling.__table__
C = Client.__table__


class BatchData:
    """Look-ups a batch needs beyond the claimed rows, fetched with one query each, only when needed."""

    def __init__(self, conn, rows, engine: Motor):
        self.conn, self.engine = conn, engine
        self.compiled = {}
        self._task_due: dict[tuple[int, date], datetime] = {}
        self._local: dict[datetime, datetime] = {}
        self.in_batch: set[str] = set()  # payout keys proposed in this batch
        need_facts, need_tasks, need_coach, need_state, need_planned, need_prior = set(), set(), set(), set(), set(), set()
        targets = (need_facts, need_prior, need_tasks, need_coach, need_state, need_planned)
        needs_of: dict[tuple, tuple] = {}  # (instrument, versie, stap) -> the sets this step's trajectory goes in
        for r in rows:
            nk = (r.instrument, r.definitie_versie, r.stap)
            needs = needs_of.get(nk)
            if needs is None:
                needs = needs_of[nk] = self._needs(self._compiled(r), r.stap, targets)
            for target in needs:
                target.add(r.traject_id)
        # Client columns are read by the client ids the claim brought along, not through a join with
        # ``traject``: for a few thousand ids PostgreSQL's planner hashed the whole ``client`` table
        # where primary-key look-ups serve.
        client_of = {r.traject_id: r.client_id for r in rows}
        self.facts: dict[int, dict] = {}
        if need_facts:
            born = self._clients(C.c.geboortedatum, C.c.bijstand_sinds, ids={client_of[t] for t in need_facts})
            for row in conn.execute(sa.select(T.c.id, T.c.feiten).where(in_values(T.c.id, need_facts, self.conn))).all():
                geboortedatum, bijstand_sinds = born[client_of[row.id]]
                self.facts[row.id] = regel_feiten(geboortedatum, bijstand_sinds, row.feiten or {})
        # the engine's own payout history of these clients (a repeat term, one premium per job) and the
        # payout keys of the claimed payout steps that exist already (a second payout for the same thing)
        self.toekenningen: dict[int, list[dict]] = {}
        self.sleutels: dict[int, tuple[str, str] | Exception] = {}  # step id -> (key, subject), or why not
        self.bestaand: dict[str, int] = {}  # key -> the trajectory that holds it
        if need_prior:
            history = eerdere_toekenningen(conn, {client_of[t] for t in need_prior})
            for t in need_prior:  # a trajectory's own payouts are not "earlier"
                self.toekenningen[t] = [x for x in history.get(client_of[t], ()) if x["traject"] != t]
            onderwerp_van = getattr(engine.rules, "onderwerp", None)
            for r in rows:
                if r.traject_id in need_prior:
                    st = self._compiled(r).steps.get(r.stap)
                    if st is not None and st.kind is StapSoort.payout:
                        try:
                            self.sleutels[r.id] = payout_sleutel(onderwerp_van, st, r, self.facts.get(r.traject_id, {}))
                        except Exception as exc:  # noqa: BLE001 - e.g. a missing fact: that step fails, not the batch
                            self.sleutels[r.id] = exc
            if self.sleutels:
                self.bestaand = dict(conn.execute(sa.select(U.c.sleutel, U.c.traject_id).where(
                    in_values(U.c.sleutel, {k[0] for k in self.sleutels.values() if isinstance(k, tuple)}, conn))).all())
        self.task_status: dict[tuple[int, str], str] = {}
        if need_tasks:
            targets_of = sorted({st.herinnert_aan for c in self.compiled.values() for st in c.steps.values()
                                 if st.herinnert_aan})
            for row in conn.execute(sa.select(K.c.traject_id, K.c.stap, K.c.status).where(
                    in_values(K.c.traject_id, need_tasks, self.conn), K.c.stap.in_(targets_of))).all():
                self.task_status[(row.traject_id, row.stap)] = row.status
        self.coach: dict[int, str] = {}
        if need_coach:
            coach_of = self._clients(C.c.coach, ids={client_of[t] for t in need_coach})
            self.coach = {t: coach_of[client_of[t]][0] for t in need_coach}
        self.uitkomst: dict[int, str | None] = {}
        if need_state:
            for row in conn.execute(sa.select(T.c.id, T.c.uitkomst).where(in_values(T.c.id, need_state, self.conn))).all():
                self.uitkomst[row.id] = row.uitkomst
        self.planned: dict[int, dict[str, date]] = {}
        if need_planned:
            # only the steps a repeat runs "tot" (until), not every step of those trajectories
            until = sorted({st.herhaal.tot.split(":", 1)[1] for c in self.compiled.values() for st in c.steps.values()
                            if st.herhaal and st.herhaal.tot and st.herhaal.tot.startswith("stap:")})
            for row in conn.execute(
                sa.select(S.c.traject_id, S.c.stap, S.c.due_at).where(
                    in_values(S.c.traject_id, need_planned, self.conn), S.c.volgnr == 0, S.c.stap.in_(until))
            ).all():
                self.planned.setdefault(row.traject_id, {})[row.stap] = row.due_at.astimezone(TZ).date()

    def _clients(self, *cols, ids: set[int]) -> dict[int, tuple]:
        """``cols`` of the clients ``ids``, by client id."""
        return {r[0]: tuple(r[1:]) for r in self.conn.execute(
            sa.select(C.c.id, *cols).where(in_values(C.c.id, ids, self.conn))).all()}

    def local(self, moment: datetime) -> datetime:
        """``moment`` in Amsterdam time, converted once per distinct value in a batch."""
        got = self._local.get(moment)
        if got is None:
            got = self._local[moment] = moment.astimezone(TZ)
        return got

    def task_due(self, ctx, step: Stap, day: date) -> datetime:
        """``ctx.task_due`` (pure), computed once per step and day in a batch."""
        key = (id(step), day)
        got = self._task_due.get(key)
        if got is None:
            got = self._task_due[key] = ctx.task_due(step, day)
        return got

    @staticmethod
    def _needs(c, stap: str, targets: tuple) -> tuple:
        need_facts, need_prior, need_tasks, need_coach, need_state, need_planned = targets
        st = c.steps.get(stap)
        if st is None:
            return ()
        out = []
        k = st.kind
        if k in (StapSoort.decision, StapSoort.payout) or (
            st.herhaal and st.herhaal.tot and st.herhaal.tot.startswith("feit:")
        ) or any(
            f.anchor_kind == "feit" for f in c.after.get(st.key, ())
        ):
            out.append(need_facts)
        if k is StapSoort.payout:
            out.append(need_prior)
        if k is StapSoort.reminder and st.herinnert_aan:
            out.append(need_tasks)
        if k is StapSoort.task:  # the task is assigned to the client's coach
            out.append(need_coach)
        if k is StapSoort.end:
            out.append(need_state)
        if st.herhaal and st.herhaal.tot and st.herhaal.tot.startswith("stap:"):
            out.append(need_planned)
        return tuple(out)

    def _compiled(self, r):
        key = (r.instrument, r.definitie_versie)
        c = self.compiled.get(key)
        if c is None:
            c = self.compiled[key] = self.engine.register.get(*key, self.conn)
        return c


def payout_sleutel(onderwerp_van, step: Stap, r, facts: dict) -> tuple[str, str]:
    """A payout's idempotency key and subject: what is paid for, not which trajectory asks. The rule names the
    subject (``onderwerp``, e.g. ``werk_start=2026-03-02``: one premium per job); a rule that names none pays
    once per trajectory (``traject=17``). Key: ``c<client>/<regel>/<deel>/<onderwerp>``."""
    onderwerp = onderwerp_van(step.regel, facts) if onderwerp_van is not None else None
    onderwerp = onderwerp or f"traject={r.traject_id}"
    return f"c{r.client_id}/{step.regel}/{step.deel}/{onderwerp}", onderwerp
