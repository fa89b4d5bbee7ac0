"""The sweep: fire due steps in batches, each at most once.

``fire_due`` claims due steps (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several sweepers share the
work; SQLite: one writer at a time via ``BEGIN IMMEDIATE``), fires them, records an event with the
lateness, plans what follows, and commits once per batch. A step that raises is retried with
exponential backoff; when its attempts run out it becomes an incident for a person. All SQL of the
hot path is in this module.
"""

from __future__ import annotations

import json
import re
import time as _time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trajecten.kern import geheugen
from trajecten.privacy import logboek
from trajecten.kern.definitie import Stap, StapSoort
from trajecten.basis.fouten import DubbeleUitbetaling
from trajecten.opslag.db import in_values
from trajecten.opslag.models import (GeplandeStap, Gebeurtenis, Incident, StapStatus, Taak, Traject, TrajectStatus, Uitbetaling,
                     Client, UTCDateTime)
from trajecten.kern.planner import anchor_date
from trajecten.basis.tijd import TZ
from trajecten.geld.uitbetalingen import eerdere_toekenningen

if TYPE_CHECKING:
    from trajecten.kern.engine import Engine

S = GeplandeStap.__table__
T = Traject.__table__
E = Gebeurtenis.__table__
K = Taak.__table__
I = Incident.__table__
U = Uitbetaling.__table__
C = Client.__table__

SWEEP_ACTOR = "systeem:sweep"
# One event per fired step, its type saying what happened: a reminder fired is a ``herinnering``, a
# notification a ``melding`` (the mail job reads these), any other step ``stap_uitgevoerd``; a step that
# no longer made sense ``stap_overgeslagen`` (with its reason). Decisions, payouts and endings add an
# event of their own with the rule's explanation.
STAP_EVENT_TYPES = ("stap_uitgevoerd", "stap_overgeslagen", "herinnering", "melding")
# Plain-str copies of the enum values the per-step code uses (Enum.value is a descriptor call, and the
# hot path reads these several times per fired step).
_GEPLAND, _UITGEVOERD, _GEANNULEERD = StapStatus.gepland.value, StapStatus.uitgevoerd.value, StapStatus.geannuleerd.value
_T_GEPLAND, _T_ACTIEF = TrajectStatus.gepland.value, TrajectStatus.actief.value


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing step is retried: delays double from ``start_s`` up to ``max_s``."""

    start_s: int = 60
    max_s: int = 3600
    max_pogingen: int = 5

    def delay(self, pogingen: int) -> timedelta:
        return timedelta(seconds=min(self.start_s * (2 ** max(pogingen - 1, 0)), self.max_s))


@dataclass
class SweepResult:
    uitgevoerd: int = 0
    overgeslagen: int = 0
    geannuleerd: int = 0
    mislukt: int = 0
    incidenten: int = 0
    te_laat: int = 0
    max_te_laat_s: int = 0
    batches: int = 0
    per_soort: Counter = field(default_factory=Counter)
    betalingen_voorgesteld: int = 0
    seconden: float = 0.0

    @property
    def verwerkt(self) -> int:
        return self.uitgevoerd + self.overgeslagen + self.geannuleerd

    def add(self, other: "SweepResult") -> None:
        for name in ("uitgevoerd", "overgeslagen", "geannuleerd", "mislukt", "incidenten", "te_laat", "batches",
                     "betalingen_voorgesteld"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_te_laat_s = max(self.max_te_laat_s, other.max_te_laat_s)
        self.per_soort.update(other.per_soort)
        self.seconden += other.seconden

    def as_dict(self) -> dict[str, Any]:
        return {
            "uitgevoerd": self.uitgevoerd, "overgeslagen": self.overgeslagen, "geannuleerd": self.geannuleerd,
            "mislukt": self.mislukt, "incidenten": self.incidenten, "te_laat": self.te_laat,
            "max_te_laat_s": self.max_te_laat_s, "batches": self.batches,
            "betalingen_voorgesteld": self.betalingen_voorgesteld, "per_soort": dict(self.per_soort),
            "seconden": round(self.seconden, 3),
        }


class _Out:
    """What firing one step produces; merged into the batch only when the step succeeded."""

    __slots__ = ("status", "uitkomst", "reden", "bericht", "events", "steps", "tasks", "payouts", "traject", "end")

    def __init__(self):
        self.status = _UITGEVOERD
        self.uitkomst: str | None = None
        self.reden: str | None = None
        self.bericht: str | None = None  # herinnering / melding: the type of the step's event
        self.events: list[dict] = []
        self.steps: list[dict] = []
        self.tasks: list[dict] = []
        self.payouts: list[dict] = []
        self.traject: dict | None = None
        self.end = False


class Claimed(NamedTuple):
    """A claimed step with what the sweep needs of its trajectory."""

    id: int
    traject_id: int
    stap: str
    volgnr: int
    kind: str
    due_at: datetime
    pogingen: int
    instrument: str
    definitie_versie: int
    tstatus: str
    client_id: int
    start_datum: date


def _claim(conn, now: datetime, limit: int, pg: bool) -> list[Claimed]:
    # ``status = 'gepland'`` is written as a literal, not a bound parameter: a prepared statement's
    # generic plan (psycopg prepares a statement after 5 runs on a connection) can only use the partial
    # index ix_stap_due when the query itself implies its predicate; with a parameter it scans the table.
    due_now = (S.c.status == sa.literal_column(f"'{_GEPLAND}'"), S.c.due_at <= now,
               sa.or_(S.c.volgende_poging_op.is_(None), S.c.volgende_poging_op <= now))
    if pg:
        # Lock the steps alone (index scan of ix_stap_due in due order, stopping after ``limit``), then
        # read their trajectories by primary key. Joined in one statement, the planner hashed the whole
        # ``traject`` table once thousands of steps were due (docs/benchmarks.md, the PostgreSQL ratio).
        steps = conn.execute(
            sa.select(S.c.id, S.c.traject_id, S.c.stap, S.c.volgnr, S.c.kind, S.c.due_at, S.c.pogingen)
            .where(*due_now).order_by(S.c.due_at, S.c.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if not steps:
            return []
        of = {r[0]: r[1:] for r in conn.execute(
            sa.select(T.c.id, T.c.instrument, T.c.definitie_versie, T.c.status, T.c.client_id, T.c.start_datum)
            .where(in_values(T.c.id, {r[1] for r in steps}, conn))
        ).all()}
        return [Claimed(*r, *of[r[1]]) for r in steps]
    # SQLite: read the stored text and convert it here, once per distinct value (see below)
    q = (
        sa.select(
            S.c.id, S.c.traject_id, S.c.stap, S.c.volgnr, S.c.kind, sa.type_coerce(S.c.due_at, sa.String),
            S.c.pogingen, T.c.instrument, T.c.definitie_versie, T.c.status, T.c.client_id,
            sa.type_coerce(T.c.start_datum, sa.String),
        )
        .join(T, T.c.id == S.c.traject_id)
        .where(*due_now)
        .order_by(S.c.due_at, S.c.id)
        .limit(limit)
    )
    # thousands of claimed steps share a handful of due times and start dates
    moments: dict[str, datetime] = {}
    days: dict[str, date] = {}
    out = []
    for r in conn.execute(q).all():
        d = moments.get(r[5])
        if d is None:
            d = moments[r[5]] = datetime.fromisoformat(r[5]).replace(tzinfo=timezone.utc)
        day = days.get(r[11])
        if day is None:
            day = days[r[11]] = date.fromisoformat(r[11])
        out.append(Claimed(r[0], r[1], r[2], r[3], r[4], d, r[6], r[7], r[8], r[9], r[10], day))
    return out


def insert_ignore(conn, table, rows: list[dict], index: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING (both dialects): re-planning the same occurrence is a no-op."""
    if not rows:
        return
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(mod.insert(table).on_conflict_do_nothing(index_elements=index), rows)


def _insert_ignore_count(conn, table, rows: list[dict], key: str, chunk: int = 500) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key, a few hundred rows per statement: how many
    rows were stored (fewer than given: some key existed)."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    n = 0
    for i in range(0, len(rows), chunk):
        q = mod.insert(table).values(rows[i:i + chunk]).on_conflict_do_nothing(index_elements=[key])
        n += len(conn.execute(q.returning(table.c[key])).all())
    return n


# --------------------------------------------------------------------------- bulk writes of the hot path
# The sweep writes thousands of rows per batch. Going through SQLAlchemy's executemany costs a
# per-row parameter dict, per-row type processing and (PostgreSQL) one statement per row. These
# helpers write the same values with one statement per batch on PostgreSQL (arrays + unnest) and a
# plain driver executemany on SQLite. Values are converted with the columns' own bind processors
# (UTCDateTime refuses naive datetimes, SQLite gets SQLAlchemy's text formats), so what is stored is
# identical to the SQLAlchemy path.

_BULK_SQL: dict = {}


def _bulk_plan(conn, table, keys: tuple, conflict: tuple | None):
    ck = (conn.dialect.name, table.name, keys, conflict)
    got = _BULK_SQL.get(ck)
    if got is not None:
        return got
    dialect = conn.dialect
    pg = dialect.name == "postgresql"
    cols = [table.c[k] for k in keys]
    json_dumps = dialect._json_serializer or json.dumps
    procs = []
    for c in cols:
        if pg and isinstance(c.type, sa.JSON):
            procs.append(lambda v, _d=json_dumps: None if v is None else _d(v))
        else:
            procs.append(c.type._cached_bind_processor(dialect))
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in cols)
    tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    if pg:
        arrays = ", ".join(f"%b::{_pg_array_type(c, dialect)}[]" for c in cols)
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){tail}"
    else:
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(cols))}){tail}"
    got = _BULK_SQL[ck] = (sql, procs, pg)
    return got


def _pg_array_type(col, dialect) -> str:
    if isinstance(col.type, sa.JSON):
        return "json"
    name = col.type.compile(dialect=dialect)
    if name.upper().startswith("VARCHAR"):
        # no length: an explicit cast to varchar(n) would silently truncate, while storing into the
        # column refuses a too long value, as the row-by-row INSERT did
        return "varchar"
    return name


def allocate_ids(conn, table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``, so bulk inserts need no RETURNING (which SQLite would do
    row by row). PostgreSQL: from the column's sequence; SQLite: after the current maximum, safe because
    a write transaction holds the database's only write lock (BEGIN IMMEDIATE)."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(  # one array, not n rows to fetch
            f"SELECT array_agg(nextval(pg_get_serial_sequence('{table.name}', 'id'))) FROM generate_series(1, %s)",
            (n,)).scalar_one()
    start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar()
    return list(range(start + 1, start + n + 1))


def bulk_insert(conn, table, rows: list[dict], conflict: tuple | None = None) -> None:
    """INSERT ``rows`` (dicts with the first row's keys) into ``table``; ``conflict``: ON CONFLICT DO NOTHING."""
    if not rows:
        return
    try:  # a row without one of the first row's keys: SQLAlchemy's path (and its error), as before
        kolommen = {k: list(map(itemgetter(k), rows)) for k in rows[0]}
    except KeyError:
        return _insert_sa(conn, table, rows, conflict)
    if _python_defaults(table, kolommen):
        return _insert_sa(conn, table, rows, conflict)
    bulk_insert_kolommen(conn, table, kolommen, conflict=conflict)


def _python_defaults(table, given) -> list:
    """Columns without a value whose default SQLAlchemy must compute per row (a callable)."""
    return [c.key for c in table.c if c.key not in given and c.default is not None and not c.default.is_scalar]


def bulk_insert_kolommen(conn, table, kolommen: dict[str, list], gedeeld: dict | None = None,
                         conflict: tuple | None = None) -> None:
    """INSERT rows given column by column: ``kolommen`` maps a column to its values (one per row, all of
    the same length), ``gedeeld`` a column to the one value every row has (a batch's moment, actor,
    status). The hot paths build these directly: no dict per row, and a shared value converted once."""
    gedeeld = gedeeld or {}
    n = len(next(iter(kolommen.values()))) if kolommen else 0
    if not n:
        return
    computed = _python_defaults(table, {**kolommen, **gedeeld})
    if computed:
        raise ValueError(f"{table.name}: no value for {', '.join(computed)}, "
                         "whose default SQLAlchemy computes per row (use bulk_insert)")
    missing = [c for c in table.c if c.key not in kolommen and c.key not in gedeeld and c.default is not None]
    gedeeld = {**{c.key: c.default.arg for c in missing}, **gedeeld}
    keys = tuple(kolommen) + tuple(gedeeld)
    sql, procs, pg = _bulk_plan(conn, table, keys, conflict)
    columns = []  # column by column: map() over a column is far cheaper than a tuple per row
    for i, (key, proc) in enumerate(zip(keys, procs)):
        if i < len(kolommen):
            vals = kolommen[key]
            if proc is not None:
                vals = _per_value(proc, vals) if isinstance(table.c[key].type, (sa.Date, UTCDateTime)) \
                    else list(map(proc, vals))
        else:
            v = gedeeld[key]
            vals = [v if proc is None else proc(v)] * n
        columns.append(vals)
    if pg and conflict is None and n >= COPY_FROM:
        # binary COPY: about twice as fast as INSERT ... unnest for many rows, but a few more round trips
        _copy_rows(conn, table, keys, zip(*columns))
    else:
        conn.exec_driver_sql(sql, tuple(columns) if pg else list(zip(*columns)))


COPY_FROM = 100  # rows: from here on a plain append uses COPY on PostgreSQL (a web request writes a handful)


def _copy_rows(conn, table, keys: tuple, rows) -> None:
    """``COPY table (keys) FROM STDIN (FORMAT BINARY)`` of ``rows`` (tuples of bind-processed values),
    in the caller's transaction (the same driver connection)."""
    dialect = conn.dialect
    # a JSON value arrives here as its text already; json's binary form is that text, so send it as text
    types = ["text" if isinstance(table.c[k].type, sa.JSON)
             else re.sub(r"\(.*\)", "", _pg_array_type(table.c[k], dialect)).strip().lower() for k in keys]
    names = ", ".join(dialect.identifier_preparer.quote(table.c[k].name) for k in keys)
    with conn.connection.dbapi_connection.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def _insert_sa(conn, table, rows: list[dict], conflict: tuple | None) -> None:
    if conflict:
        insert_ignore(conn, table, rows, list(conflict))
    else:
        conn.execute(table.insert(), rows)


def _per_value(proc, values: list) -> list:
    """``proc`` over ``values``, called once per distinct value: the rows of a batch share a few hundred
    moments and days (``now``, due times, start dates)."""
    return list(map({v: proc(v) for v in set(values)}.__getitem__, values))


def _mark_steps(conn, rows: list[dict]) -> None:
    """Record the outcome of fired/cancelled steps: per row sid -> status st, uitgevoerd_op op,
    te_laat_s late, uitkomst u, reden r; pogingen + 1."""
    dialect = conn.dialect
    ops = _per_value(S.c.uitgevoerd_op.type._cached_bind_processor(dialect), [r["op"] for r in rows])
    if dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE geplande_stap AS s SET status = v.st, uitgevoerd_op = v.op, te_laat_s = v.late, "
            "uitkomst = v.u, reden = v.r, pogingen = s.pogingen + 1 "
            "FROM unnest(%b::integer[], %b::varchar[], %b::timestamptz[], %b::integer[], %b::varchar[], "
            "%b::varchar[]) AS v(sid, st, op, late, u, r) WHERE s.id = v.sid",
            ([r["sid"] for r in rows], [r["st"] for r in rows], ops, [r["late"] for r in rows],
             [r["u"] for r in rows], [r["r"] for r in rows]),
        )
    else:
        conn.exec_driver_sql(
            "UPDATE geplande_stap SET status = ?, uitgevoerd_op = ?, te_laat_s = ?, uitkomst = ?, reden = ?, "
            "pogingen = pogingen + 1 WHERE id = ?",
            [(r["st"], op, r["late"], r["u"], r["r"], r["sid"]) for r, op in zip(rows, ops)],
        )


class _BatchData:
    """Look-ups a batch needs beyond the claimed rows, fetched with one query each, only when needed."""

    def __init__(self, conn, rows, engine: "Engine"):
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
                merged = {"geboortedatum": geboortedatum, "bijstand_sinds": bijstand_sinds}
                merged.update(row.feiten or {})
                self.facts[row.id] = merged
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


def fire_due(
    engine: "Engine",
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    budget_s: float | None = None,
) -> SweepResult:
    """Fire every step due at ``now`` (default: the clock) until none is left, ``max_batches`` batches
    ran or ``budget_s`` seconds are spent. Returns the counts."""
    now = now or engine.clock.now()
    batch_size = batch_size or engine.settings.batch_size
    total = SweepResult()
    started = _time.perf_counter()
    logged: set[tuple[int, str]] = set()  # (client, instrument) already in the Logboek for this sweep
    with geheugen.bulk():
        while True:
            try:
                res = fire_batch(engine, now, batch_size, logged)
            except _Botsing:
                continue
            total.add(res)
            if res.verwerkt + res.mislukt + res.incidenten == 0:
                break
            if max_batches is not None and total.batches >= max_batches:
                break
            if budget_s is not None and _time.perf_counter() - started >= budget_s:
                break
    total.seconden = _time.perf_counter() - started
    return total


def fire_batch(engine: "Engine", now: datetime, batch_size: int,
               logged: set[tuple[int, str]] | None = None) -> SweepResult:
    res = SweepResult()
    t0 = _time.perf_counter()
    started = logboek.nu()
    pg = engine.is_postgres
    with engine.db.begin() as conn:
        rows = _claim(conn, now, batch_size, pg)
        if not rows:
            return res
        res.batches = 1
        data = _BatchData(conn, rows, engine)
        fired, events, new_steps, tasks, payouts, failures = [], [], [], [], [], []
        traject_updates: dict[int, dict] = {}
        ended: set[int] = set()
        # Catching up, a fired step may plan a next occurrence or follow-up that is itself already due:
        # that trajectory's later rows in this batch wait for the next batch, which claims them together
        # with the new row in due order, so a trajectory's steps fire in their planned order.
        later: set[int] = set()
        cancelled_in_batch = []
        for r in rows:
            if r.traject_id in ended:
                cancelled_in_batch.append({"sid": r.id, "st": _GEANNULEERD, "op": now,
                                           "late": None, "u": None, "r": "traject beëindigd"})
                res.geannuleerd += 1
                continue
            if r.traject_id in later:
                continue
            compiled = data._compiled(r)
            step = compiled.steps.get(r.stap)
            late = max(int((now - r.due_at).total_seconds()), 0)
            try:
                if step is None:
                    raise LookupError(f"step {r.stap!r} is not in {r.instrument} v{r.definitie_versie}")
                out = _fire_one(engine, compiled, step, r, now, data)
            except Exception as exc:  # noqa: BLE001 - any failure of one step is retried, never stops the batch
                failures.append((r, exc))
                continue
            fired.append({"sid": r.id, "st": out.status, "op": now, "late": late, "u": out.uitkomst, "r": out.reden})
            payload = {"stap": r.stap, "volgnr": r.volgnr, "te_laat_s": late, "uitkomst": out.uitkomst}
            if out.reden:
                payload["reden"] = out.reden
            if out.bericht:
                payload["titel"] = step.titel
            events.append({
                "traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id,
                "type": out.bericht or "stap_" + out.status, "actor": SWEEP_ACTOR, "op": now, "datum": None,
                "payload": payload, "regel": None, "regel_versie": None,
            })
            events.extend(out.events)
            new_steps.extend(out.steps)
            if out.steps and any(st["due_at"] <= now for st in out.steps):
                later.add(r.traject_id)
            tasks.extend(out.tasks)
            payouts.extend(out.payouts)
            upd = dict(out.traject or {})
            if r.tstatus == _T_GEPLAND and r.traject_id not in traject_updates:
                upd.setdefault("status", _T_ACTIEF)
            if upd:
                traject_updates.setdefault(r.traject_id, {}).update(upd)
            if out.end:
                ended.add(r.traject_id)
            if out.status == _UITGEVOERD:
                res.uitgevoerd += 1
            else:
                res.overgeslagen += 1
            res.per_soort[r.kind] += 1
            if late > engine.settings.te_laat_marge_s:
                res.te_laat += 1
                res.max_te_laat_s = max(res.max_te_laat_s, late)
        res.betalingen_voorgesteld = len(payouts)

        if fired or cancelled_in_batch:
            _mark_steps(conn, fired + cancelled_in_batch)
        if failures:
            _record_failures(engine, conn, failures, now, res, events)
        if tasks:
            bulk_insert(conn, K, tasks)
        if payouts:
            if _insert_ignore_count(conn, U, payouts, "sleutel") != len(payouts):
                # a concurrent sweeper committed a payout with one of these keys after this batch looked:
                # undo the batch; the next one claims these steps again and meets the key (an incident)
                raise _Botsing()
        # one UPDATE per distinct set of values (mostly {status: actief} when first steps fire), not per trajectory
        same: dict[tuple, list[int]] = {}
        for tid, values in traject_updates.items():
            same.setdefault(tuple(sorted(values.items())), []).append(tid)
        for values, tids in same.items():
            conn.execute(T.update().where(in_values(T.c.id, tids, conn)).values(**dict(values)))
        if ended:
            ids = list(ended)
            res.geannuleerd += conn.execute(
                S.update().where(S.c.traject_id.in_(ids), S.c.status == StapStatus.gepland.value)
                .values(status=StapStatus.geannuleerd.value, reden="traject beëindigd", uitgevoerd_op=now)
            ).rowcount
            conn.execute(K.update().where(K.c.traject_id.in_(ids), K.c.status == "open")
                         .values(status="vervallen", gesloten_door=SWEEP_ACTOR, gesloten_op=now))
            new_steps = [s for s in new_steps if s["traject_id"] not in ended]
        if new_steps:
            bulk_insert(conn, S, new_steps, conflict=("traject_id", "stap", "volgnr"))
        if events:
            bulk_insert(conn, E, events)
        _log_processing(engine, conn, rows, started, logged if logged is not None else set())
    res.seconden = _time.perf_counter() - t0
    return res


def _log_processing(engine, conn, rows: list[Claimed], started: datetime,
                    logged: set[tuple[int, str]]) -> None:
    """Logboek Dataverwerkingen: one record per client and instrument a sweep processed, written in the
    transaction of the first batch that did (so it holds exactly what committed, concurrent sweepers never
    log each other's, and a catch-up spread over many batches logs each client once)."""
    pairs = {(r.client_id, r.instrument) for r in rows} - logged
    if not pairs:
        return
    logged |= pairs
    logboek.schrijf(engine, logboek.rijen_voor_clients(
        engine, conn, {(cid, f"instrument:{instrument}") for cid, instrument in pairs}, SWEEP_ACTOR,
        naam="sweep: stappen uitvoeren", component="sweep", start=started), conn)


class _Botsing(Exception):
    """fire_batch: a payout key met a concurrent sweeper's committed payout; the batch is undone and retried."""


def _record_failures(engine, conn, failures, now, res: SweepResult, events: list[dict]) -> None:
    policy = engine.retry_policy
    for r, exc in failures:
        attempts = r.pogingen + 1
        msg = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= policy.max_pogingen or not getattr(exc, "herhalen", True):  # e.g. DubbeleUitbetaling
            conn.execute(S.update().where(S.c.id == r.id).values(
                status=StapStatus.incident.value, pogingen=attempts, laatste_fout=msg))
            conn.execute(I.insert().values(stap_id=r.id, traject_id=r.traject_id, fout=msg, pogingen=attempts,
                                           aangemaakt_op=now))
            events.append({"traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id, "type": "incident",
                           "actor": SWEEP_ACTOR, "op": now, "datum": None, "regel": None, "regel_versie": None,
                           "payload": {"stap": r.stap, "pogingen": attempts, "fout": msg}})
            res.incidenten += 1
        else:
            conn.execute(S.update().where(S.c.id == r.id).values(
                pogingen=attempts, laatste_fout=msg, volgende_poging_op=now + policy.delay(attempts)))
            res.mislukt += 1


def _fire_one(engine: "Engine", compiled, step: Stap, r, now: datetime, data: _BatchData) -> _Out:
    out = _Out()
    local_due = data.local(r.due_at)
    due_day = local_due.date()
    kind = step.kind
    ctx = engine.plan_context
    if kind is StapSoort.reminder:
        if step.herinnert_aan and data.task_status.get((r.traject_id, step.herinnert_aan)) in ("afgerond", "vervallen"):
            out.status = StapStatus.overgeslagen.value
            out.reden = f"taak {step.herinnert_aan} is al afgerond"
        else:
            # the recipient (the client's coach, or the team lead) is decided when the mail is made
            out.bericht = "herinnering"
    elif kind is StapSoort.notify:
        out.bericht = "melding"
    elif kind is StapSoort.task:
        assignee = data.coach.get(r.traject_id, "") if step.rol == "coach" else step.rol
        out.tasks.append({
            "traject_id": r.traject_id, "stap_id": r.id, "stap": step.key, "titel": step.titel, "rol": step.rol,
            "toegewezen_aan": assignee, "due_at": data.task_due(ctx, step, max(due_day, data.local(now).date())),
            "status": "open", "aangemaakt_op": now,
        })
    elif kind is StapSoort.wait_event:
        out.uitkomst = "verlopen"
    elif kind is StapSoort.decision:
        besluit = engine.rules.decide(step.regel, data.facts.get(r.traject_id, {}), due_day)
        out.uitkomst = besluit.uitkomst if isinstance(besluit.uitkomst, str) else ("ja" if besluit.uitkomst else "nee")
        out.events.append(_event(r, "besluit", now, besluit.to_json(), regel=step.regel, versie=besluit.versie))
    elif kind is StapSoort.payout:
        sleutel = data.sleutels[r.id]
        if isinstance(sleutel, Exception):
            raise sleutel  # retried, then an incident naming the fact
        sleutel, onderwerp = sleutel
        houder = data.bestaand.get(sleutel)
        if houder is not None and houder != r.traject_id:
            raise DubbeleUitbetaling(sleutel, houder)  # an incident at once: retrying cannot help
        if sleutel in data.in_batch:
            raise DubbeleUitbetaling(sleutel, None)
        facts = {**data.facts.get(r.traject_id, {}), "eerdere_toekenningen": data.toekenningen.get(r.traject_id, [])}
        besluit = engine.rules.decide(step.regel, facts, due_day)
        parts = [b for b in besluit.betalingen if b.deel == step.deel]
        if besluit.uitkomst and parts and houder is None:
            b = parts[0]
            data.in_batch.add(sleutel)
            out.uitkomst = "voorgesteld"
            out.payouts.append({
                "sleutel": sleutel, "onderwerp": onderwerp, "traject_id": r.traject_id, "deel": b.deel,
                "bedrag": Decimal(b.bedrag), "opeisbaar_op": b.opeisbaar_op, "status": "voorgesteld",
                "regel": step.regel, "regel_versie": besluit.versie, "voorgesteld_door": SWEEP_ACTOR,
                "voorgesteld_op": now,
                "ontvanger_naam": facts.get(f"{step.ontvanger}_naam") if step.ontvanger else None,
                "ontvanger_iban": facts.get(f"{step.ontvanger}_iban") if step.ontvanger else None,
            })
            out.events.append(_event(r, "uitbetaling_voorgesteld", now,
                                     {"deel": b.deel, "bedrag": f"{Decimal(b.bedrag):.2f}", "onderwerp": onderwerp,
                                      "besluit": besluit.to_json()},
                                     regel=step.regel, versie=besluit.versie))
        elif houder is not None:  # this trajectory's own payout, proposed before (a replayed step)
            out.uitkomst = "voorgesteld"
        else:
            out.uitkomst = "vervallen"
            out.events.append(_event(r, "uitbetaling_vervallen", now, {"deel": step.deel, "besluit": besluit.to_json()},
                                     regel=step.regel, versie=besluit.versie))
    elif kind is StapSoort.end:
        current = data.uitkomst.get(r.traject_id)
        uitkomst = current or step.uitkomst or compiled.definitie.uitkomsten[-1]
        out.uitkomst = uitkomst
        out.traject = {"status": TrajectStatus.beeindigd.value, "uitkomst": uitkomst, "eind_datum": due_day}
        out.end = True
        out.events.append(_event(r, "traject_beeindigd", now, {"uitkomst": uitkomst, "stap": step.key}))
    if step.zet_uitkomst and out.uitkomst and kind is not StapSoort.end:
        out.traject = {"uitkomst": out.uitkomst}

    if not out.end:
        facts = data.facts.get(r.traject_id, {})
        if kind is not StapSoort.task:  # a task is done when a person completes it (Engine.complete_task)
            for row in follow_ups(ctx, compiled, step, out.uitkomst, due_day, r.traject_id, r.start_datum, facts):
                row["due_at"] = max(row["due_at"], r.due_at)  # never before the step it follows
                out.steps.append(row)
        nxt = ctx.next_occurrence(step, r.volgnr, local_due, facts, data.planned.get(r.traject_id, {}))
        if nxt is not None:
            out.steps.append(step_row(r.traject_id, step, nxt[1], nxt[0]))
    return out


def follow_ups(ctx, compiled, step: Stap, uitkomst: str | None, done_on: date, traject_id: int,
               start: date, facts: dict) -> list[dict]:
    """Rows for the steps that wait for ``step`` to be done (with ``uitkomst``)."""
    rows = []
    for f in compiled.after.get(step.key, ()):
        if f.na is not None and (f.na.stap != step.key or uitkomst not in f.na.uitkomst):
            continue
        if f.anchor_kind == "stap":
            anchor = done_on if f.anchor_name == step.key else None
        else:
            anchor = anchor_date(f, start, facts)
        if anchor is None:
            continue
        rows.append(step_row(traject_id, f, ctx.due(f, anchor), 0))
    return rows


def payout_sleutel(onderwerp_van, step: Stap, r, facts: dict) -> tuple[str, str]:
    """A payout's idempotency key and subject: what is paid for, not which trajectory asks. The rule names the
    subject (``onderwerp``, e.g. ``werk_start=2026-03-02``: one premium per job); a rule that names none pays
    once per trajectory (``traject=17``). Key: ``c<client>/<regel>/<deel>/<onderwerp>``."""
    onderwerp = onderwerp_van(step.regel, facts) if onderwerp_van is not None else None
    onderwerp = onderwerp or f"traject={r.traject_id}"
    return f"c{r.client_id}/{step.regel}/{step.deel}/{onderwerp}", onderwerp


def step_row(traject_id: int, step: Stap, due: datetime, volgnr: int) -> dict:
    return {"traject_id": traject_id, "stap": step.key, "volgnr": volgnr, "kind": step.kind.value, "due_at": due,
            "status": _GEPLAND, "pogingen": 0}


def _event(r, type_: str, now: datetime, payload: dict, regel: str | None = None, versie: str | None = None) -> dict:
    return {"traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id, "type": type_,
            "actor": SWEEP_ACTOR, "op": now, "datum": None, "payload": _jsonable(payload), "regel": regel,
            "regel_versie": versie}


_PLAIN = (str, int, float, bool, type(None))


def _jsonable(value):
    if isinstance(value, dict):
        if all(isinstance(v, _PLAIN) for v in value.values()):
            return value  # the common case (step events): nothing to convert
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
