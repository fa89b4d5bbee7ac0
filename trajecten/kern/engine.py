"""The engine: one object that holds the database, the clock, the definitions and the rules, and
offers the operations staff and flows perform (start, record an event, complete a task, end, sweep).
Prefect flows, the embedded scheduler, the CLI and the web pages all call these same functions.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine as SAEngine

from trajecten.opslag import besluiten
from trajecten.privacy import logboek
from trajecten.privacy import trace
from trajecten.basis.bsn import valideer_bsn, valideer_iban
from trajecten.basis.config import Settings, load_settings
from trajecten.opslag.bulk import allocate_ids, bulk_insert_kolommen, insert_ignore, jsonable
from trajecten.opslag.db import in_values, is_postgres, make_engine, migrate, reader
from trajecten.kern.definitie import INSTRUMENTEN_DIR
from trajecten.kern.einde import einde, rest_vervalt
from trajecten.kern.feiten import regel_feiten, typeer
from trajecten.kern.definitie import Gebeurtenis as DefGebeurtenis
from trajecten.basis.fouten import AlLopend, NietGevonden, OngeldigeInvoer, OngeldigeToestand, TrajectFout
from trajecten.clienten.gebieden import normaliseer_doelgroep, normaliseer_postcode, team_voor
from trajecten.opslag.models import Client, Gebeurtenis, GeplandeStap, StapStatus, Taak, TaakStatus, Traject, TrajectStatus
from trajecten.kern.planner import PlanContext, anchor_date, anchor_on
from trajecten.kern.regelhaak import RegelsHook, RuleHook
from trajecten.kern.register import Compiled, DefinitionRegister
from trajecten.basis.herhalen import RetryPolicy
from trajecten.kern.stap import follow_ups, step_row
from trajecten.kern.starten import TWEEDE, StartResultaat, StartVerzoek, beslis_starts, lopende_trajecten
from trajecten.kern.sweep import SweepResult, fire_due
from trajecten.basis.tijd import Clock, FixedClock, SystemClock, WerkdagKalender, local_date
from trajecten.geld.uitbetalingen import eerdere_toekenningen

S, T, E, K, C = (GeplandeStap.__table__, Traject.__table__, Gebeurtenis.__table__, Taak.__table__,
                 Client.__table__)


# Events every trajectory knows, whatever its instrument.
ALGEMENE_GEBEURTENISSEN = {
    "contact": DefGebeurtenis(titel="Contact met de inwoner vastgelegd"),
}


class Engine:
    def __init__(
        self,
        db: SAEngine,
        clock: Clock | None = None,
        settings: Settings | None = None,
        rules: RuleHook | None = None,
        instrument_dir: Path = INSTRUMENTEN_DIR,
    ):
        self.db = db
        self.settings = settings or load_settings()
        self.clock = clock or (FixedClock(self.settings.nu) if self.settings.nu else SystemClock())
        self.rules = rules or RegelsHook()
        self.register = DefinitionRegister(db, self.clock, instrument_dir)
        s = self.settings
        kalender = WerkdagKalender(
            tellen_mee=frozenset(x.strip() for x in s.feestdagen_tellen_mee.split(",") if x.strip()),
            extra_vrije_dagen=frozenset(date.fromisoformat(x.strip()) for x in s.extra_vrije_dagen.split(",") if x.strip()),
        )
        self.plan_context = PlanContext(kalender, time.fromisoformat(s.dagstart))
        self.retry_policy = RetryPolicy(pogingen=s.max_pogingen, start_s=s.retry_start_s, max_s=s.retry_max_s)
        self.is_postgres = is_postgres(db)
        self.reader = reader(db)  # for pure reads (pages, reports): no write lock on SQLite

    @classmethod
    def open(cls, url: str | None = None, clock: Clock | None = None, settings: Settings | None = None,
             **kwargs) -> "Engine":
        """Connect, create/upgrade the schema and load the instrument definitions."""
        settings = settings or load_settings()
        eng = cls(make_engine(url or settings.database_url), clock=clock, settings=settings, **kwargs)
        migrate(eng.db)
        eng.register.sync()
        return eng

    # ------------------------------------------------------------------ clients

    def add_client(self, bsn: str, *, naam: str = "", geboortedatum: date | None = None, postcode: str = "",
                   gebied: str = "", coach: str = "", bijstand_sinds: date | None = None,
                   iban: str | None = None, doelgroep: str | None = None, conn=None) -> int:
        """Add a client. Without a ``gebied`` the team follows from the postcode or the central target group
        (``gebieden.team_voor``; a postcode outside the municipality is refused, naming the field); a
        ``gebied`` given explicitly (an import, a test) is kept. The API checks that the two agree."""
        bsn = valideer_bsn(bsn)
        if iban:
            iban = valideer_iban(iban)
        postcode = normaliseer_postcode(postcode) if postcode else ""
        doelgroep = normaliseer_doelgroep(doelgroep)
        if not gebied and (postcode or doelgroep):
            gebied = team_voor(postcode, doelgroep)
        with self.transaction(conn) as conn:
            if conn.execute(sa.select(C.c.id).where(C.c.bsn == bsn)).first():
                raise OngeldigeInvoer("bsn", "er bestaat al een cliënt met dit BSN")
            return conn.execute(C.insert().values(
                bsn=bsn, naam=naam, geboortedatum=geboortedatum, postcode=postcode, gebied=gebied, coach=coach,
                doelgroep=doelgroep or None, bijstand_sinds=bijstand_sinds, iban=iban, aangemaakt_op=self.clock.now(),
            )).inserted_primary_key[0]

    def _client(self, conn, client_id: int):
        row = conn.execute(sa.select(C).where(C.c.id == client_id)).first()
        if row is None:
            raise NietGevonden(f"cliënt {client_id} bestaat niet")
        return row

    # ------------------------------------------------------------------ facts and eligibility

    def parse_feiten(self, compiled: Compiled, raw: dict[str, Any]) -> dict[str, Any]:
        """Check and type the facts given for a trajectory; JSON-ready values (dates as ISO text)."""
        return typeer(compiled, raw)

    def toegang(self, instrument: str, client_id: int, feiten: dict[str, Any], peildatum: date | None = None):
        """The eligibility decision for starting ``instrument`` for a client (nothing is written). Refuses
        with :class:`AlLopend` when the instrument allows one running trajectory and the client has one."""
        compiled = self.register.current(instrument)
        typed = self.parse_feiten(compiled, feiten)
        peildatum = peildatum or local_date(self.clock.now())
        with self.db.connect() as conn:
            client = self._client(conn, client_id)
            if compiled.definitie.per_client == "een_lopend":
                lopend = lopende_trajecten(conn, instrument, {client_id})
                if client_id in lopend:
                    raise AlLopend(instrument, lopend[client_id])
            shared, per_client = self.engine_feiten(compiled, peildatum, conn, {client_id}, lock=False)
        return self.decide_toegang(compiled, client, typed, peildatum, {**shared, **per_client.get(client_id, {})})

    def engine_feiten(self, compiled: Compiled, peildatum: date, conn, client_ids: set[int],
                      lock: bool = True) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
        """Facts only the engine knows, given to an eligibility rule that declares them: (facts of the
        batch, facts per client).

        - ``gestart_dit_jaar``: trajectories of this instrument already started in the calendar year of
          ``peildatum``, for a yearly capacity (``start_many`` adds those it accepts itself). Inside a start
          on PostgreSQL (``lock``) an advisory lock per instrument serialises concurrent starts.
        - ``eerdere_toekenningen``: every earlier payout of the client that was not rejected, from the
          engine's own records (``uitbetalingen.eerdere_toekenningen``), e.g. for a repeat term."""
        names = getattr(self.rules, "fact_names", None)
        regel = compiled.definitie.regel
        if names is None or not self.rules.known(regel):
            return {}, {}
        wanted = names(regel)
        shared: dict[str, Any] = {}
        if "gestart_dit_jaar" in wanted:
            instrument = compiled.definitie.instrument
            year = (date(peildatum.year, 1, 1), date(peildatum.year, 12, 31))
            if lock and self.is_postgres:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                             {"k": zlib.crc32(f"gestart:{instrument}".encode())})
            shared["gestart_dit_jaar"] = conn.execute(sa.select(sa.func.count()).select_from(T).where(
                T.c.instrument == instrument, T.c.start_datum.between(*year))).scalar_one()
        per_client: dict[int, dict[str, Any]] = {}
        if "eerdere_toekenningen" in wanted and client_ids:
            history = eerdere_toekenningen(conn, client_ids)
            per_client = {cid: {"eerdere_toekenningen": history.get(cid, [])} for cid in client_ids}
        return shared, per_client

    def decide_toegang(self, compiled: Compiled, client, typed: dict, peildatum: date, engine_facts: dict):
        try:
            facts = regel_feiten(client.geboortedatum, client.bijstand_sinds, typed)
            facts.update(engine_facts)
            return self.rules.decide(compiled.definitie.regel, facts, peildatum)
        except ValueError as exc:  # bad or missing facts for the rule
            veld = getattr(exc, "veld", "feiten")
            raise OngeldigeInvoer(f"feit {veld}" if veld != "feiten" else veld, str(getattr(exc, "reden", exc))) from None

    # ------------------------------------------------------------------ start

    @contextmanager
    def transaction(self, conn=None):
        """The caller's transaction if it passes one (so several operations commit together), else a new one."""
        if conn is not None:
            yield conn
        else:
            with self.db.begin() as new:
                yield new

    def start(self, instrument: str, client_id: int, feiten: dict[str, Any] | None = None, *, actor: str,
              overrule_reden: str | None = None, mag_overrulen: bool = False, conn=None,
              client=None) -> StartResultaat:
        """Start a trajectory: check eligibility (refuse with the reasons, unless a person allowed to
        overrule gives a reason), write the trajectory and its planned steps. ``client``: the client's row,
        when the caller has read it in ``conn`` already (the API: its area check)."""
        (res,) = self.start_many(instrument, [StartVerzoek(client_id, feiten or {}, overrule_reden)], actor=actor,
                                 mag_overrulen=mag_overrulen, conn=conn,
                                 gelezen={client_id: client} if client is not None else None)
        if isinstance(res, Exception):
            raise res
        return res

    def start_many(self, instrument: str, verzoeken: list["StartVerzoek"], *, actor: str,
                   mag_overrulen: bool = False, conn=None,
                   gelezen: dict[int, Any] | None = None) -> list["StartResultaat | TrajectFout"]:
        """Start many trajectories of one instrument in one transaction (the feed's bulk path; ``start``
        is this with one request). Each request gets its result or the refusal, in order: one refused
        request never stops the others."""
        if not actor:
            raise OngeldigeInvoer("actor", "wie start het traject?")
        compiled = self.register.current(instrument)
        defn = compiled.definitie
        now = self.clock.now()
        today = local_date(now)
        results: list[Any] = [None] * len(verzoeken)
        typed: dict[int, dict] = {}
        for i, v in enumerate(verzoeken):
            try:
                typed[i] = self.parse_feiten(compiled, v.feiten)
            except OngeldigeInvoer as exc:
                results[i] = exc
        with self.transaction(conn) as conn:
            ids = {verzoeken[i].client_id for i in typed}
            clients = dict(gelezen or {})  # client rows the caller read in this transaction (id -> row)
            if ids - clients.keys():
                clients.update((row.id, row) for row in conn.execute(
                    sa.select(C.c.id, C.c.geboortedatum, C.c.bijstand_sinds)
                    .where(in_values(C.c.id, ids - clients.keys(), conn))))
            # counted once per batch (one query, one lock), not once per request
            shared, per_client = self.engine_feiten(compiled, today, conn, ids) if typed else ({}, {})
            een_lopend = defn.per_client == "een_lopend"
            for _ in range(20):  # a start that met a concurrent one (PostgreSQL) decides again
                todo = beslis_starts(self, compiled, verzoeken, typed, clients, shared, per_client, today,
                                           mag_overrulen, results,
                                           lopende_trajecten(conn, instrument, ids) if een_lopend else None)
                if not todo:
                    return results
                tids = allocate_ids(conn, T, len(todo))
                cids = [verzoeken[i].client_id for i, *_ in todo]
                kolommen = {"id": tids, "client_id": cids, "status": [t[5] for t in todo],
                            "start_datum": [t[4] for t in todo], "feiten": [t[1] for t in todo]}
                gedeeld = {"instrument": instrument, "definitie_versie": compiled.versie, "gestart_door": actor,
                           "aangemaakt_op": now, "een_lopend": een_lopend}
                if not (een_lopend and self.is_postgres):
                    bulk_insert_kolommen(conn, T, kolommen, gedeeld)
                    break
                try:
                    # uq_traject_een_lopend: a concurrent start of the same client and instrument committed
                    # first (or holds the index entry): undo this insert only, then decide again with it seen
                    with conn.begin_nested():
                        bulk_insert_kolommen(conn, T, kolommen, gedeeld)
                    break
                except sa.exc.DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) not in ("23505", "40P01"):  # unique, deadlock
                        raise
            else:
                raise OngeldigeToestand(f"{instrument}: te veel gelijktijdige starts; probeer opnieuw")
            # the planned steps and events as tuples, written column by column (a feed batch: tens of thousands)
            steps: list[tuple] = []  # (trajectory, step, kind, due)
            events: list[tuple] = []  # (trajectory, client, type, payload, rule, rule version)
            plan = [(st, st.key, st.kind.value, st.anchor_kind, st.anchor_name) for st in compiled.at_start]
            due_of: dict[tuple[str, date], datetime] = {}  # a batch shares a few hundred anchor dates
            nieuw = besluiten.Nieuw()  # and its decisions: one stored explanation each (a feed: per WW end date)
            for tid, cid, (i, facts, besluit, overruled, start, status) in zip(tids, cids, todo):
                n = 0
                for st, key, kind, anchor_kind, anchor_name in plan:
                    ad = anchor_on(anchor_kind, anchor_name, start, facts)
                    if ad is None:  # a fact not known yet, an event: planned when it comes
                        continue
                    due = due_of.get((key, ad))
                    if due is None:
                        due = due_of[key, ad] = max(self.plan_context.due(st, ad), now)
                    steps.append((tid, key, kind, due))
                    n += 1
                if overruled:
                    events.append((tid, cid, "toegang_overruled", {"reden": verzoeken[i].overrule_reden}, None, None))
                # one event: the start with the eligibility decision that allowed it (rule and version in
                # the event's own columns, the explanation stored once and referred to: trajecten/opslag/besluiten.py)
                events.append((tid, cid, "traject_gestart", {
                    "instrument": instrument, "versie": compiled.versie, "start_datum": start.isoformat(),
                    "status": status, "stappen": n, besluiten.REF: nieuw.ref(besluit)},
                    defn.regel, besluit.versie))
                results[i] = StartResultaat(tid, status, start, n, besluit, overruled)
            if TWEEDE in results:  # a second request for a client whose first one this batch started
                traject_van = dict(zip(cids, tids))
                for i, res in enumerate(results):
                    if res is TWEEDE:
                        results[i] = AlLopend(instrument, traject_van[verzoeken[i].client_id])
            if steps:
                bulk_insert_kolommen(conn, S, dict(zip(("traject_id", "stap", "kind", "due_at"),
                                                              map(list, zip(*steps)))),
                                            {"volgnr": 0, "status": StapStatus.gepland.value, "pogingen": 0})
            nieuw.bewaar(conn, defn.regel)
            bulk_insert_kolommen(conn, E, dict(zip(("traject_id", "client_id", "type", "payload", "regel",
                                                           "regel_versie"), map(list, zip(*events)))),
                                        {"stap_id": None, "actor": actor, "op": now, "datum": None})
        return results

    # ------------------------------------------------------------------ events, tasks, end

    def _traject(self, conn, traject_id: int, lock: bool = True):
        q = sa.select(T).where(T.c.id == traject_id)
        if lock and self.is_postgres:
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise NietGevonden(f"traject {traject_id} bestaat niet")
        logboek.noteer([row.client_id], f"instrument:{row.instrument}")  # Logboek Dataverwerkingen (if one runs)
        return row

    def record_event(self, traject_id: int, event: str, *, actor: str, datum: date | None = None,
                     payload: dict | None = None, conn=None, door_engine: bool = False) -> None:
        """Record an event (e.g. ``werk_gestart`` on a date): sets its fact, re-plans the steps anchored
        on it, cancels the steps it cancels, satisfies the steps waiting for it. An event the definition
        reserves for the engine (``door_engine``: a payout's approval) needs ``door_engine=True``."""
        now = self.clock.now()
        datum = datum or local_date(now)
        with self.transaction(conn) as conn:
            tr = self._traject(conn, traject_id)
            if tr.status == TrajectStatus.beeindigd.value:
                raise OngeldigeToestand(f"traject {traject_id} is al beëindigd")
            compiled = self.register.get(tr.instrument, tr.definitie_versie, conn)
            spec = compiled.definitie.gebeurtenissen.get(event) or ALGEMENE_GEBEURTENISSEN.get(event)
            if spec is None or (spec.door_engine and not door_engine):
                known = ", ".join(sorted({*(k for k, g in compiled.definitie.gebeurtenissen.items() if not g.door_engine),
                                          *ALGEMENE_GEBEURTENISSEN}))
                waarom = "legt de engine zelf vast" if spec is not None else f"hoort niet bij {tr.instrument}"
                raise OngeldigeInvoer("event", f"{event!r} {waarom}; bekend: {known}")
            feiten = dict(tr.feiten or {})
            values: dict[str, Any] = {}
            if spec.zet_feit:
                feiten[spec.zet_feit] = datum.isoformat()
                values["feiten"] = feiten
            if spec.uitkomst:
                values["uitkomst"] = spec.uitkomst
            if values:
                conn.execute(T.update().where(T.c.id == traject_id).values(**values))
            events = [_ev(traject_id, tr.client_id, event, actor, now, payload or {}, datum=datum)]
            # cancel what this event makes pointless
            for st in compiled.cancelled_by.get(event, ()):
                n = conn.execute(S.update().where(S.c.traject_id == traject_id, S.c.stap == st.key,
                                                  S.c.status == StapStatus.gepland.value)
                                 .values(status=StapStatus.geannuleerd.value, reden=f"vervallen door {event}",
                                         uitgevoerd_op=now)).rowcount
                if n:
                    events.append(_ev(traject_id, tr.client_id, "stap_geannuleerd", actor, now,
                                      {"stap": st.key, "reden": f"vervallen door {event}"}))
            # (re)plan steps anchored on this event or on the fact it sets
            for st in compiled.on_event.get(event, ()):
                if event in st.vervalt_bij:
                    continue
                ad = datum if st.anchor_kind == "event" else anchor_date(st, tr.start_datum, feiten)
                if ad is None:
                    continue
                self._plan_or_move(conn, traject_id, st, max(self.plan_context.due(st, ad), now))
            # satisfy the steps waiting for this event
            for st in compiled.waiting_for.get(event, ()):
                n = conn.execute(S.update().where(S.c.traject_id == traject_id, S.c.stap == st.key,
                                                  S.c.status == StapStatus.gepland.value)
                                 .values(status=StapStatus.uitgevoerd.value, uitkomst="ontvangen", uitgevoerd_op=now,
                                         te_laat_s=0, reden=f"{event} ontvangen")).rowcount
                if n:
                    rows = _not_before(follow_ups(self.plan_context, compiled, st, "ontvangen", datum, traject_id,
                                                  tr.start_datum, feiten), now)
                    insert_ignore(conn, S, rows, ["traject_id", "stap", "volgnr"])
            conn.execute(E.insert(), events)
            if spec.beeindigt:
                self._end(conn, tr, actor, spec.uitkomst or tr.uitkomst or compiled.definitie.uitkomsten[-1],
                          f"gebeurtenis {event}", now, datum)

    def _plan_or_move(self, conn, traject_id: int, st, due: datetime) -> None:
        existing = conn.execute(sa.select(S.c.id, S.c.status).where(
            S.c.traject_id == traject_id, S.c.stap == st.key, S.c.volgnr == 0)).first()
        if existing is None:
            conn.execute(S.insert().values(**step_row(traject_id, st, due, 0)))
        elif existing.status == StapStatus.gepland.value:
            conn.execute(S.update().where(S.c.id == existing.id).values(due_at=due))
        # a step that already fired is history: it is not re-fired

    def complete_task(self, taak_id: int, *, actor: str, uitkomst: str | None = None, toelichting: str = "") -> None:
        """Close a task (with an outcome where the step asks for one) and plan the steps that follow it."""
        now = self.clock.now()
        with self.db.begin() as conn:
            q = sa.select(K).where(K.c.id == taak_id)
            if self.is_postgres:
                q = q.with_for_update()
            task = conn.execute(q).first()
            if task is None:
                raise NietGevonden(f"taak {taak_id} bestaat niet")
            if task.status != TaakStatus.open.value:
                raise OngeldigeToestand(f"taak {taak_id} is al {task.status}")
            tr = self._traject(conn, task.traject_id)
            compiled = self.register.get(tr.instrument, tr.definitie_versie, conn)
            st = compiled.steps[task.stap]
            if st.uitkomsten:
                if uitkomst not in st.uitkomsten:
                    raise OngeldigeInvoer("uitkomst", f"kies een van {', '.join(st.uitkomsten)}")
            elif uitkomst:
                raise OngeldigeInvoer("uitkomst", f"taak {st.key} kent geen uitkomsten")
            conn.execute(K.update().where(K.c.id == taak_id).values(
                status=TaakStatus.afgerond.value, uitkomst=uitkomst, gesloten_door=actor, gesloten_op=now))
            conn.execute(S.update().where(S.c.id == task.stap_id).values(uitkomst=uitkomst))
            values: dict[str, Any] = {}
            feiten = dict(tr.feiten or {})
            if st.zet_uitkomst and uitkomst:
                values["uitkomst"] = uitkomst
            if uitkomst in st.zet_feit:
                feiten[st.zet_feit[uitkomst]] = local_date(now).isoformat()
                values["feiten"] = feiten
            if values:
                conn.execute(T.update().where(T.c.id == tr.id).values(**values))
            conn.execute(E.insert().values(**_ev(tr.id, tr.client_id, "taak_afgerond", actor, now,
                                                 {"taak": taak_id, "stap": st.key, "uitkomst": uitkomst,
                                                  "toelichting": toelichting})))
            rows = _not_before(follow_ups(self.plan_context, compiled, st, uitkomst, local_date(now), tr.id,
                                          tr.start_datum, feiten), now)
            insert_ignore(conn, S, rows, ["traject_id", "stap", "volgnr"])

    def end(self, traject_id: int, *, actor: str, uitkomst: str, reden: str) -> None:
        """End a trajectory by hand: what is left is cancelled, open tasks lapse."""
        now = self.clock.now()
        with self.db.begin() as conn:
            tr = self._traject(conn, traject_id)
            if tr.status == TrajectStatus.beeindigd.value:
                raise OngeldigeToestand(f"traject {traject_id} is al beëindigd")
            compiled = self.register.get(tr.instrument, tr.definitie_versie, conn)
            if uitkomst not in compiled.definitie.uitkomsten:
                raise OngeldigeInvoer("uitkomst", f"kies een van {', '.join(compiled.definitie.uitkomsten)}")
            if not reden.strip():
                raise OngeldigeInvoer("reden", "geef een reden")
            self._end(conn, tr, actor, uitkomst, reden, now, local_date(now))

    def _end(self, conn, tr, actor, uitkomst, reden, now, datum) -> None:
        conn.execute(T.update().where(T.c.id == tr.id).values(**einde(uitkomst, datum)))
        n = rest_vervalt(conn, [tr.id], now=now, actor=actor)
        conn.execute(E.insert().values(**_ev(tr.id, tr.client_id, "traject_beeindigd", actor, now,
                                             {"uitkomst": uitkomst, "reden": reden, "geannuleerd": n})))

    # ------------------------------------------------------------------ sweep and reading

    def sweep(self, now: datetime | None = None, **kwargs) -> SweepResult:
        # Logboek Dataverwerkingen: each batch writes one record per client and instrument it processed
        with trace.in_trace(trace.huidige_trace()):
            return fire_due(self, now, **kwargs)

    def timeline(self, traject_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            tr = self._traject(conn, traject_id, lock=False)
            steps = conn.execute(sa.select(S).where(S.c.traject_id == traject_id)
                                 .order_by(S.c.due_at, S.c.id)).all()
            events = conn.execute(sa.select(E).where(E.c.traject_id == traject_id).order_by(E.c.id)).all()
            tasks = conn.execute(sa.select(K).where(K.c.traject_id == traject_id).order_by(K.c.id)).all()
        return {"traject": tr, "stappen": steps, "gebeurtenissen": events, "taken": tasks}

    def open_tasks(self, traject_id: int | None = None, assignee: str | None = None):
        q = sa.select(K).where(K.c.status == TaakStatus.open.value).order_by(K.c.due_at, K.c.id)
        if traject_id is not None:
            q = q.where(K.c.traject_id == traject_id)
        if assignee is not None:
            q = q.where(K.c.toegewezen_aan == assignee)
        with self.db.connect() as conn:
            return conn.execute(q).all()


def _not_before(rows: list[dict], now: datetime) -> list[dict]:
    """Steps planned by a person's action are never due before that action: a follow-up planned
    "+0d" at 14:00 is due at 14:00, not at 08:00, so its lateness measures the engine, not the plan."""
    for row in rows:
        if row["due_at"] < now:
            row["due_at"] = now
    return rows


def _ev(traject_id, client_id, type_, actor, now, payload, *, datum=None) -> dict:
    """An event row of a person's action (no rule decided it)."""
    return {"traject_id": traject_id, "client_id": client_id, "stap_id": None, "type": type_, "actor": actor,
            "op": now, "datum": datum, "payload": jsonable(payload), "regel": None, "regel_versie": None}
