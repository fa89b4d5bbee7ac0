"""Area teams at work: one coach per client, reassigning a coach, a team's caseload, and transfers.

Since 1 November 2022 every client has one generalist coach in the team of their area (or in a central
specialist team for their target group, see ``gebieden.py``). The coach is a property of the client, not
of a trajectory: starting, ending or starting another trajectory never changes it, and tasks go to the
client's coach when they fall due. The coach changes only through :func:`coach_toewijzen` (one event with
who, from, to and why), which a team lead also uses to rebalance their team (:func:`herverdeel`).

A move to a postcode of another area (or a new central target group) does not move the client: it
records a transfer *proposal* (:func:`wijzig_client`); the client's team and coach change only when a team
lead accepts it (:func:`accepteer_overplaatsing`), or stay when it is rejected. Each step is an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from trajecten.privacy import logboek
from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer, OngeldigeToestand
from trajecten.clienten.gebieden import normaliseer_doelgroep, normaliseer_postcode, team_voor
from trajecten.opslag.models import (Client, Gebeurtenis, Gebruiker, Overplaatsing, OverplaatsingStatus, Taak, TaakStatus,
                     Traject)
from trajecten.basis.tijd import TZ, local_date

C, E, G, O, K, T = (Client.__table__, Gebeurtenis.__table__, Gebruiker.__table__, Overplaatsing.__table__,
                    Taak.__table__, Traject.__table__)
MIN_REDEN = 3  # characters: "why" is part of every reassignment
_ONGEWIJZIGD: Any = object()


@dataclass(frozen=True)
class Toewijzing:
    client_id: int
    van: str
    naar: str
    taken: int  # open tasks moved from the old coach to the new one


@dataclass(frozen=True)
class Wijziging:
    client_id: int
    postcode: str
    doelgroep: str | None
    team: str  # the team the client belongs to by postcode/target group
    overplaatsing_id: int | None  # the open transfer proposal, when the team differs from the current one


def _reden(reden: str | None, veld: str = "reden") -> str:
    reden = (reden or "").strip()
    if len(reden) < MIN_REDEN:
        raise OngeldigeInvoer(veld, f"geef een reden (ten minste {MIN_REDEN} tekens)")
    return reden[:500]


def _ev(client_id: int, type_: str, door: str, now: datetime, payload: dict) -> dict:
    return {"traject_id": None, "client_id": client_id, "stap_id": None, "type": type_, "actor": door, "op": now,
            "datum": local_date(now), "payload": payload, "regel": None, "regel_versie": None}


def _client(engine, conn, client_id: int):
    q = sa.select(C.c.id, C.c.gebied, C.c.coach, C.c.postcode, C.c.doelgroep, C.c.naam,
                  C.c.geboortedatum).where(C.c.id == client_id)
    if engine.is_postgres:
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NietGevonden(f"cliënt {client_id} bestaat niet")
    return row


def coaches_van(engine, gebied: str, conn=None) -> list[str]:
    """The active coaches (users with role coach) of a team, by user name."""
    q = (sa.select(G.c.gebruikersnaam).where(G.c.gebied == gebied, G.c.rol == "coach", G.c.actief.is_(True))
         .order_by(G.c.gebruikersnaam))
    if conn is not None:
        return list(conn.execute(q).scalars())
    with engine.db.connect() as c:
        return list(c.execute(q).scalars())


def _controleer_coach(conn, coach: str, gebied: str) -> str:
    coach = (coach or "").strip()
    if not coach:
        raise OngeldigeInvoer("coach", "kies de nieuwe coach")
    row = conn.execute(sa.select(G.c.rol, G.c.gebied, G.c.actief).where(G.c.gebruikersnaam == coach)).first()
    if row is None or row.rol != "coach" or not row.actief:
        raise OngeldigeInvoer("coach", f"{coach[:100]!r} is geen actieve coach")
    if row.gebied != gebied:
        raise OngeldigeInvoer("coach", f"{coach} is coach van team {row.gebied or '(geen)'}, niet van team {gebied}: "
                                       "een cliënt krijgt een coach van het eigen team")
    return coach


def _verhuis_taken(conn, client_id: int, van: str, naar: str) -> int:
    """Open tasks of the client's trajectories that were the old coach's go to the new coach."""
    if not van:
        return 0
    trajecten = sa.select(T.c.id).where(T.c.client_id == client_id).scalar_subquery()
    return conn.execute(K.update().where(K.c.traject_id.in_(trajecten), K.c.status == TaakStatus.open.value,
                                         K.c.toegewezen_aan == van).values(toegewezen_aan=naar)).rowcount


def _wissel(conn, client, naar: str, door: str, reden: str, now: datetime, extra: dict | None = None) -> Toewijzing:
    n = _verhuis_taken(conn, client.id, client.coach, naar)
    conn.execute(C.update().where(C.c.id == client.id).values(coach=naar))
    conn.execute(E.insert().values(**_ev(client.id, "coach_toegewezen", door, now,
                                         {"van": client.coach, "naar": naar, "reden": reden, "taken": n,
                                          "gebied": client.gebied, **(extra or {})})))
    return Toewijzing(client.id, client.coach, naar, n)


def coach_toewijzen(engine, client_id: int, naar: str, *, door: str, reden: str, conn=None) -> Toewijzing:
    """Give a client another coach of their own team: the client's open tasks of the old coach move along,
    and one ``coach_toegewezen`` event records who, from, to and why."""
    if not door:
        raise OngeldigeInvoer("door", "wie wijst de coach toe?")
    reden = _reden(reden)
    now = engine.clock.now()
    with engine.transaction(conn) as conn:
        client = _client(engine, conn, client_id)
        naar = _controleer_coach(conn, naar, client.gebied)
        if naar == client.coach:
            raise OngeldigeInvoer("coach", f"{naar} is al de coach van cliënt {client_id}")
        return _wissel(conn, client, naar, door, reden, now)


def herverdeel(engine, client_ids: list[int], naar: str, *, door: str, reden: str,
               gebied: str | None = None) -> list[Toewijzing]:
    """Rebalance: move several clients to one coach, each move its own event, all or nothing. With
    ``gebied`` (the team lead's team) a client of another team is refused as unknown."""
    if not client_ids:
        raise OngeldigeInvoer("client_ids", "kies ten minste één cliënt")
    if len(set(client_ids)) != len(client_ids):
        raise OngeldigeInvoer("client_ids", "een cliënt staat er twee keer in")
    out = []
    with engine.db.begin() as conn:
        for cid in client_ids:
            if gebied is not None:
                row = conn.execute(sa.select(C.c.gebied).where(C.c.id == cid)).first()
                if row is None or row.gebied != gebied:
                    raise NietGevonden(f"cliënt {cid} bestaat niet")
            out.append(coach_toewijzen(engine, cid, naar, door=door, reden=reden, conn=conn))
    return out


# --------------------------------------------------------------------------- caseload


def caseload(engine, gebied: str) -> dict:
    """Per coach of a team: clients, open tasks and overdue tasks (overdue: due before today)."""
    now = engine.clock.now()
    start_today = datetime.combine(local_date(now), datetime.min.time(), tzinfo=TZ)
    with engine.db.connect() as conn:
        per: dict[str, dict] = {c: {"coach": c, "clienten": 0, "open_taken": 0, "te_laat": 0, "gebruiker": True}
                                for c in coaches_van(engine, gebied, conn)}
        for coach, n in conn.execute(sa.select(C.c.coach, sa.func.count()).where(C.c.gebied == gebied)
                                     .group_by(C.c.coach)):
            per.setdefault(coach, {"coach": coach, "clienten": 0, "open_taken": 0, "te_laat": 0,
                                   "gebruiker": False})["clienten"] = n
        q = (sa.select(K.c.toegewezen_aan, sa.func.count(),
                       sa.func.sum(sa.case((K.c.due_at < start_today, 1), else_=0)))
             .join(T, T.c.id == K.c.traject_id).join(C, C.c.id == T.c.client_id)
             .where(C.c.gebied == gebied, K.c.status == TaakStatus.open.value).group_by(K.c.toegewezen_aan))
        for who, n, late in conn.execute(q):
            if who in per:
                per[who]["open_taken"] = n
                per[who]["te_laat"] = int(late or 0)
    zonder = per.pop("", None)
    rows = sorted(per.values(), key=lambda r: r["coach"])
    return {"gebied": gebied, "datum": local_date(now).isoformat(), "coaches": rows,
            "zonder_coach": zonder["clienten"] if zonder else 0,
            "clienten": sum(r["clienten"] for r in rows) + (zonder["clienten"] if zonder else 0)}


def clienten_van_coach(engine, gebied: str, coach: str, limit: int = 500) -> list[dict]:
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(C.c.id, C.c.naam, C.c.postcode, C.c.doelgroep)
                            .where(C.c.gebied == gebied, C.c.coach == coach).order_by(C.c.naam, C.c.id)
                            .limit(limit)).all()
    logboek.noteer(r.id for r in rows)  # Logboek Dataverwerkingen (when a processing runs)
    return [dict(r._mapping) for r in rows]


# --------------------------------------------------------------------------- transfers


def wijzig_client(engine, client_id: int, *, door: str, postcode: str | None = None,
                  doelgroep: str | None = _ONGEWIJZIGD, geboortedatum: date | None = None,
                  reden: str = "") -> Wijziging:
    """Record a new postcode, target group and/or date of birth (a rule such as Premie op Werk's needs it).
    The postcode is checked (outside the municipality: refused); when it puts the client in another team,
    a transfer proposal is recorded for a team lead to accept: the client's team and coach do not change
    here."""
    if not door:
        raise OngeldigeInvoer("door", "wie wijzigt de cliënt?")
    nieuw_pc = normaliseer_postcode(postcode) if postcode not in (None, "") else None
    nieuwe_dg = normaliseer_doelgroep(doelgroep) if doelgroep is not _ONGEWIJZIGD else _ONGEWIJZIGD
    if nieuw_pc is None and nieuwe_dg is _ONGEWIJZIGD and geboortedatum is None:
        raise OngeldigeInvoer("postcode", "geef een nieuwe postcode, doelgroep of geboortedatum")
    if geboortedatum is not None and geboortedatum > local_date(engine.clock.now()):
        raise OngeldigeInvoer("geboortedatum", "ligt in de toekomst")
    now = engine.clock.now()
    with engine.db.begin() as conn:
        client = _client(engine, conn, client_id)
        pc = nieuw_pc if nieuw_pc is not None else client.postcode
        dg = client.doelgroep if nieuwe_dg is _ONGEWIJZIGD else nieuwe_dg
        team = team_voor(pc, dg)
        veranderd = {}
        if pc != client.postcode:
            veranderd["postcode"] = {"van": client.postcode, "naar": pc}
        if dg != client.doelgroep:
            veranderd["doelgroep"] = {"van": client.doelgroep, "naar": dg}
        gd = geboortedatum or client.geboortedatum
        if gd != client.geboortedatum:
            veranderd["geboortedatum"] = {"van": client.geboortedatum and client.geboortedatum.isoformat(),
                                          "naar": gd.isoformat()}
        events = []
        if veranderd:
            conn.execute(C.update().where(C.c.id == client_id).values(postcode=pc, doelgroep=dg, geboortedatum=gd))
            events.append(_ev(client_id, "client_gewijzigd", door, now, {**veranderd, "reden": reden.strip()[:500]}))
        open_ = conn.execute(sa.select(O.c.id, O.c.naar_gebied).where(
            O.c.client_id == client_id, O.c.status == OverplaatsingStatus.open.value)).all()
        voorstel = None
        for o in open_:
            if o.naar_gebied == team and team != client.gebied:
                voorstel = o.id  # the same proposal still stands
                continue
            conn.execute(O.update().where(O.c.id == o.id).values(
                status=OverplaatsingStatus.vervallen.value, beoordeeld_door=door, beoordeeld_op=now,
                toelichting="vervangen door een nieuwere wijziging"))
            events.append(_ev(client_id, "overplaatsing_vervallen", door, now,
                              {"overplaatsing": o.id, "naar_gebied": o.naar_gebied}))
        if team != client.gebied and voorstel is None:
            waarom = (f"postcode {pc} hoort bij team {team}" if dg is None
                      else f"doelgroep {dg} hoort bij team {team}")
            voorstel = conn.execute(O.insert().values(
                client_id=client_id, van_gebied=client.gebied, naar_gebied=team, postcode=pc,
                reden=(waarom + (f"; {reden.strip()}" if reden.strip() else ""))[:500],
                status=OverplaatsingStatus.open.value, voorgesteld_door=door, voorgesteld_op=now,
            )).inserted_primary_key[0]
            events.append(_ev(client_id, "overplaatsing_voorgesteld", door, now,
                              {"overplaatsing": voorstel, "van_gebied": client.gebied, "naar_gebied": team,
                               "reden": waarom}))
        if events:
            conn.execute(E.insert(), events)
    return Wijziging(client_id, pc, dg, team, voorstel)


def _overplaatsing(engine, conn, overplaatsing_id: int):
    q = sa.select(O).where(O.c.id == overplaatsing_id)
    if engine.is_postgres:
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NietGevonden(f"overplaatsing {overplaatsing_id} bestaat niet")
    logboek.noteer([row.client_id])  # Logboek Dataverwerkingen (when a processing runs)
    if row.status != OverplaatsingStatus.open.value:
        raise OngeldigeToestand(f"overplaatsing {overplaatsing_id} is al {row.status}")
    return row


def accepteer_overplaatsing(engine, overplaatsing_id: int, *, door: str, coach: str, toelichting: str = "") -> Toewijzing:
    """Accept a transfer: the client joins the new team with a coach of that team (events for both)."""
    if not door:
        raise OngeldigeInvoer("door", "wie accepteert de overplaatsing?")
    now = engine.clock.now()
    with engine.db.begin() as conn:
        o = _overplaatsing(engine, conn, overplaatsing_id)
        client = _client(engine, conn, o.client_id)
        if client.gebied != o.van_gebied:
            raise OngeldigeToestand(f"overplaatsing {overplaatsing_id}: de cliënt zit niet meer in team {o.van_gebied}")
        coach = _controleer_coach(conn, coach, o.naar_gebied)
        conn.execute(O.update().where(O.c.id == o.id).values(
            status=OverplaatsingStatus.geaccepteerd.value, beoordeeld_door=door, beoordeeld_op=now,
            toelichting=toelichting.strip()[:500] or None, nieuwe_coach=coach))
        conn.execute(C.update().where(C.c.id == client.id).values(gebied=o.naar_gebied))
        conn.execute(E.insert().values(**_ev(client.id, "overplaatsing_geaccepteerd", door, now, {
            "overplaatsing": o.id, "van_gebied": o.van_gebied, "naar_gebied": o.naar_gebied,
            "coach": coach, "toelichting": toelichting.strip()[:500]})))
        return _wissel(conn, client, coach, door, f"overplaatsing {o.id} naar team {o.naar_gebied}", now,
                       {"gebied": o.naar_gebied, "overplaatsing": o.id})


def wijs_overplaatsing_af(engine, overplaatsing_id: int, *, door: str, toelichting: str) -> None:
    """Reject a transfer (with a reason): the client stays in their team with their coach."""
    if not door:
        raise OngeldigeInvoer("door", "wie wijst de overplaatsing af?")
    toelichting = _reden(toelichting, "toelichting")
    now = engine.clock.now()
    with engine.db.begin() as conn:
        o = _overplaatsing(engine, conn, overplaatsing_id)
        conn.execute(O.update().where(O.c.id == o.id).values(
            status=OverplaatsingStatus.afgewezen.value, beoordeeld_door=door, beoordeeld_op=now,
            toelichting=toelichting))
        conn.execute(E.insert().values(**_ev(o.client_id, "overplaatsing_afgewezen", door, now, {
            "overplaatsing": o.id, "van_gebied": o.van_gebied, "naar_gebied": o.naar_gebied,
            "toelichting": toelichting})))


def overplaatsing(engine, overplaatsing_id: int) -> dict | None:
    """One transfer proposal (any status), or None."""
    rows = _overplaatsingen(engine, O.c.id == overplaatsing_id)
    return rows[0] if rows else None


def overplaatsingen(engine, gebied: str | None = None, status: str | None = OverplaatsingStatus.open.value) -> list[dict]:
    """Transfer proposals into or out of a team (all teams without ``gebied``), oldest first."""
    where = []
    if gebied is not None:
        where.append(sa.or_(O.c.van_gebied == gebied, O.c.naar_gebied == gebied))
    if status:
        where.append(O.c.status == status)
    return _overplaatsingen(engine, *where)


def _overplaatsingen(engine, *where) -> list[dict]:
    q = (sa.select(O, C.c.naam.label("client_naam"), C.c.coach.label("huidige_coach"))
         .join(C, C.c.id == O.c.client_id).where(*where).order_by(O.c.id))
    with engine.db.connect() as conn:
        rows = conn.execute(q).all()
    logboek.noteer(r.client_id for r in rows)  # Logboek Dataverwerkingen (when a processing runs)
    return [{"id": r.id, "client_id": r.client_id, "client_naam": r.client_naam, "huidige_coach": r.huidige_coach,
             "van_gebied": r.van_gebied, "naar_gebied": r.naar_gebied, "postcode": r.postcode, "reden": r.reden,
             "status": r.status, "voorgesteld_door": r.voorgesteld_door,
             "voorgesteld_op": r.voorgesteld_op.astimezone(TZ).isoformat(timespec="minutes"),
             "beoordeeld_door": r.beoordeeld_door, "toelichting": r.toelichting, "nieuwe_coach": r.nieuwe_coach}
            for r in rows]
