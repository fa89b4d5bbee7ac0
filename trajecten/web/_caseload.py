"""Area teams on the web: the team lead's caseload view (per coach: clients, open and overdue tasks),
rebalancing (moving clients to another coach), transfer proposals (accept/reject), and changing a
client's postcode or target group. API and pages; the operations are in ``trajecten/clienten/caseload.py``.

Access (``_toegang.ROUTE_ROLES``): the caseload and transfers are for team leads and the beheerder; a team
lead works in their own team (a client of another team is 404, a coach of another team is refused).
A transfer proposal is visible to the team leads of both teams; the receiving team accepts it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from trajecten.clienten import caseload as cl
from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer, TrajectFout
from trajecten.clienten.gebieden import centrale_doelgroepen, gebiedsteams
from trajecten.web import _data as data
from trajecten.web._api import Invoer, Tekst
from trajecten.web._auth import huidige_gebruiker
from trajecten.web._pages import _tekst, flash, render, terug
from trajecten.web._toegang import Gebruiker, alle_gebieden

MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="numeriek id")]
Wie = Annotated[Gebruiker, Depends(huidige_gebruiker)]
api = APIRouter(prefix="/api", dependencies=[Depends(huidige_gebruiker)])
pages = APIRouter(dependencies=[Depends(huidige_gebruiker)], include_in_schema=False)


class ClientWijziging(Invoer):
    postcode: Tekst(7) | None = Field(default=None, description="nieuwe postcode (verhuizing)")
    doelgroep: Tekst(50) | None = Field(
        default=None, description="centrale doelgroep (inburgeraar, ex_gedetineerde, doelgroepregister); "
                                  "lege tekst: geen; weglaten: ongewijzigd")
    reden: Tekst(500) = ""


class CoachToewijzing(Invoer):
    coach: Tekst(100, 1)
    reden: Tekst(500, 3)


class Herverdeling(Invoer):
    client_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=500)
    naar: Tekst(100, 1)
    reden: Tekst(500, 3)


class Acceptatie(Invoer):
    coach: Tekst(100, 1)
    toelichting: Tekst(500) = ""


class Afwijzing(Invoer):
    toelichting: Tekst(500, 3)


def _engine(request: Request):
    return request.app.state.engine


def team_van(g: Gebruiker, gebied: str | None) -> str:
    """The team whose caseload ``g`` works on: their own, or (all areas) the one asked for."""
    if not alle_gebieden(g):
        if gebied and gebied != g.gebied:
            raise NietGevonden(f"team {gebied} bestaat niet")
        if not g.gebied:
            raise NietGevonden("geen team")
        return g.gebied
    teams = gebiedsteams()
    if gebied and gebied not in teams:
        raise OngeldigeInvoer("gebied", f"onbekend team; kies een van {', '.join(teams)}")
    return gebied or teams[0]


def _overplaatsing(engine, g: Gebruiker, overplaatsing_id: int, accepteren: bool) -> dict:
    """The open proposal, if ``g`` may act on it (receiving team to accept; either team to reject)."""
    o = cl.overplaatsing(engine, overplaatsing_id)
    if o is None:
        raise NietGevonden(f"overplaatsing {overplaatsing_id} bestaat niet")
    if alle_gebieden(g):
        return o
    teams = {o["naar_gebied"]} if accepteren else {o["naar_gebied"], o["van_gebied"]}
    if g.gebied in teams:
        return o
    if g.gebied == o["van_gebied"]:  # the sending team sees it but does not accept it
        raise OngeldigeInvoer("overplaatsing", f"het ontvangende team ({o['naar_gebied']}) accepteert")
    raise NietGevonden(f"overplaatsing {overplaatsing_id} bestaat niet")


def _toewijzing(t: cl.Toewijzing) -> dict:
    return {"client_id": t.client_id, "van": t.van, "naar": t.naar, "taken_verplaatst": t.taken}


# --------------------------------------------------------------------------- API


@api.patch("/clients/{client_id}", summary="Postcode of doelgroep wijzigen; een ander team wordt een "
                                           "overplaatsingsvoorstel (gebied en coach blijven tot acceptatie)")
def client_wijzigen(request: Request, g: Wie, client_id: Id, body: ClientWijziging):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    kw = {} if body.doelgroep is None else {"doelgroep": body.doelgroep}
    w = cl.wijzig_client(eng, client_id, door=g.actor, postcode=body.postcode, reden=body.reden, **kw)
    return {"client_id": w.client_id, "postcode": w.postcode, "doelgroep": w.doelgroep, "team": w.team,
            "overplaatsing_id": w.overplaatsing_id, "client": data.client(eng, g, client_id)}


@api.post("/clients/{client_id}/coach", summary="Coach toewijzen (een coach van het eigen team; met reden)")
def coach_toewijzen(request: Request, g: Wie, client_id: Id, body: CoachToewijzing):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    return _toewijzing(cl.coach_toewijzen(eng, client_id, body.coach, door=g.actor, reden=body.reden))


@api.get("/caseload", summary="Caseload per coach van het team: cliënten, open en te late taken")
def caseload(request: Request, g: Wie,
             gebied: Annotated[str | None, Query(max_length=50, description="team (alleen zonder eigen team)")] = None):
    eng = _engine(request)
    team = team_van(g, gebied)
    return {**cl.caseload(eng, team), "beschikbare_coaches": cl.coaches_van(eng, team)}


@api.post("/caseload/herverdeel", summary="Herverdelen: cliënten naar een andere coach van het team "
                                          "(elke verplaatsing een gebeurtenis; alles of niets)")
def herverdeel(request: Request, g: Wie, body: Herverdeling):
    eng = _engine(request)
    for cid in body.client_ids:
        data.check_client(eng, g, cid)
    res = cl.herverdeel(eng, body.client_ids, body.naar, door=g.actor, reden=body.reden)
    return {"verplaatst": [_toewijzing(t) for t in res]}


@api.get("/overplaatsingen", summary="Open overplaatsingsvoorstellen van en naar het team")
def overplaatsingen(request: Request, g: Wie):
    return cl.overplaatsingen(_engine(request), None if alle_gebieden(g) else g.gebied)


@api.post("/overplaatsingen/{overplaatsing_id}/accepteer",
          summary="Overplaatsing accepteren (ontvangend team) met de nieuwe coach")
def overplaatsing_accepteer(request: Request, g: Wie, overplaatsing_id: Id, body: Acceptatie):
    eng = _engine(request)
    _overplaatsing(eng, g, overplaatsing_id, True)
    t = cl.accepteer_overplaatsing(eng, overplaatsing_id, door=g.actor, coach=body.coach,
                                   toelichting=body.toelichting)
    return {"id": overplaatsing_id, "status": "geaccepteerd", **_toewijzing(t)}


@api.post("/overplaatsingen/{overplaatsing_id}/afwijzen", summary="Overplaatsing afwijzen met toelichting")
def overplaatsing_afwijzen(request: Request, g: Wie, overplaatsing_id: Id, body: Afwijzing):
    eng = _engine(request)
    _overplaatsing(eng, g, overplaatsing_id, False)
    cl.wijs_overplaatsing_af(eng, overplaatsing_id, door=g.actor, toelichting=body.toelichting)
    return {"id": overplaatsing_id, "status": "afgewezen"}


# --------------------------------------------------------------------------- pages


@pages.get("/caseload", response_class=HTMLResponse)
def caseload_pagina(request: Request, g: Wie, gebied: Annotated[str | None, Query(max_length=50)] = None,
                    coach: Annotated[str | None, Query(max_length=100)] = None):
    eng = _engine(request)
    gebied = gebied if gebied and "\x00" not in gebied else None
    coach = coach if coach is not None and "\x00" not in coach else None
    team = team_van(g, gebied)
    cijfers = cl.caseload(eng, team)
    gekozen = cl.clienten_van_coach(eng, team, coach) if coach is not None else []
    voorstellen = cl.overplaatsingen(eng, None if alle_gebieden(g) else team)
    naar_teams = {o["naar_gebied"] for o in voorstellen}
    coaches_per_team = {t: cl.coaches_van(eng, t) for t in naar_teams | {team}}
    return render(request, "caseload.html", team=team, cijfers=cijfers, coach=coach, gekozen=gekozen,
                  coaches=coaches_per_team[team], coaches_per_team=coaches_per_team, voorstellen=voorstellen,
                  teams=gebiedsteams() if alle_gebieden(g) else [team], alle=alle_gebieden(g))


def _terug_naar(team: str, coach: str | None = None):
    from urllib.parse import urlencode

    q = {"gebied": team, **({"coach": coach} if coach is not None else {})}
    return terug("/caseload?" + urlencode(q))


def _veld(form, naam: str, lengte: int) -> str:
    return _tekst(form.get(naam) or "")[:lengte]


async def _formulier(request: Request, g: Gebruiker, doe, niet: str):
    """A caseload form: ``doe(form)`` acts and returns the confirmation; a refusal is shown with ``niet``
    and its reason (an unknown or invisible item is 404). Back to the team's caseload page."""
    form = await request.form()
    team = team_van(g, _veld(form, "gebied", 50) or None)
    try:
        flash(request, doe(form, team))
    except NietGevonden:
        raise
    except TrajectFout as exc:
        flash(request, f"{niet}: {exc}", "fout")
    return _terug_naar(team, _veld(form, "van", 100) if "van" in form else None)


@pages.post("/caseload/herverdeel")
async def herverdeel_pagina(request: Request, g: Wie):
    eng = _engine(request)

    def doe(form, team):
        van, naar = _veld(form, "van", 100), _veld(form, "naar", 100)
        try:
            ids = [int(_tekst(v)) for v in form.getlist("client_id")][:500]
        except ValueError:
            raise OngeldigeInvoer("client_id", "ongeldige cliëntkeuze") from None
        for cid in ids:
            if not 1 <= cid <= MAX_ID:
                raise OngeldigeInvoer("client_id", "ongeldige cliëntkeuze")
            data.check_client(eng, g, cid)
        res = cl.herverdeel(eng, ids, naar, door=g.actor, reden=_veld(form, "reden", 500), gebied=team)
        return (f"{len(res)} cliënt(en) van {van or '(geen coach)'} naar {naar} verplaatst"
                f" ({sum(t.taken for t in res)} open taken mee).")

    return await _formulier(request, g, doe, "Niet herverdeeld")


@pages.post("/overplaatsingen/{overplaatsing_id}/accepteer")
async def accepteer_pagina(request: Request, g: Wie, overplaatsing_id: Id):
    eng = _engine(request)

    def doe(form, team):
        o = _overplaatsing(eng, g, overplaatsing_id, True)
        cl.accepteer_overplaatsing(eng, overplaatsing_id, door=g.actor, coach=_veld(form, "coach", 100),
                                   toelichting=_veld(form, "toelichting", 500))
        return f"Overplaatsing {overplaatsing_id} geaccepteerd: {o['client_naam']} gaat naar team {o['naar_gebied']}."

    return await _formulier(request, g, doe, "Niet geaccepteerd")


@pages.post("/overplaatsingen/{overplaatsing_id}/afwijzen")
async def afwijzen_pagina(request: Request, g: Wie, overplaatsing_id: Id):
    eng = _engine(request)

    def doe(form, team):
        _overplaatsing(eng, g, overplaatsing_id, False)
        cl.wijs_overplaatsing_af(eng, overplaatsing_id, door=g.actor, toelichting=_veld(form, "toelichting", 500))
        return f"Overplaatsing {overplaatsing_id} afgewezen; de cliënt blijft in het team."

    return await _formulier(request, g, doe, "Niet afgewezen")


@pages.post("/clienten/{client_id}/wijzig")
async def client_wijzigen_pagina(request: Request, g: Wie, client_id: Id):
    form = await request.form()
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    postcode = _tekst(form.get("postcode") or "")[:20] or None
    kw = {"doelgroep": _tekst(form.get("doelgroep") or "")[:50]} if "doelgroep" in form else {}
    try:
        w = cl.wijzig_client(eng, client_id, door=g.actor, postcode=postcode,
                             reden=_tekst(form.get("reden") or "")[:500], **kw)
        if w.overplaatsing_id:
            flash(request, f"Gewijzigd. Deze cliënt hoort nu bij team {w.team}: er staat een "
                           f"overplaatsingsvoorstel ({w.overplaatsing_id}) klaar voor de teamleider; team en coach "
                           "blijven tot het is geaccepteerd.")
        else:
            flash(request, f"Gewijzigd; de cliënt blijft in team {w.team}.")
    except TrajectFout as exc:
        flash(request, f"Niet gewijzigd: {exc}", "fout")
    return terug(f"/clienten/{client_id}")


def installeer(app) -> None:
    """Add these routes to the app, and the central target groups to the templates (client page form)."""
    app.include_router(api)
    app.include_router(pages)
    app.state.templates.env.globals["centrale_doelgroepen"] = centrale_doelgroepen()
