"""The REST API (JSON, under /api) for the case work: who am I, instruments, clients (with ontwikkelplan and
ontwikkelladder), trajectories and the worklist; and the input types every API module shares (``Tekst``,
``Id``, ``Invoer``, ``Wie``). Payouts: ``_api_geld``; feed, monitoring, users and tokens: ``_api_beheer``.
Access: ``_toegang.ROUTE_ROLES``; errors: ``_fouten``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from trajecten.opslag import idempotentie
from trajecten.privacy import logboek
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer
from trajecten.clienten.gebieden import normaliseer_postcode, team_voor
from trajecten.basis.tijd import TZ
from trajecten.clienten import ladder as ontwikkelladder
from trajecten.clienten import ontwikkelplan
from trajecten.web import _data as data
from trajecten.web._auth import huidige_gebruiker
from trajecten.web._toegang import COACH, TEAMLEIDER, Gebruiker, mag_overrulen
from trajecten.web._verwerkingen import transactie

MAX_ID = 2_147_483_647


def _geen_nul(v: Any) -> Any:
    """No NUL characters anywhere (PostgreSQL refuses them in text)."""
    if isinstance(v, str):
        if "\x00" in v:
            raise ValueError("bevat een NUL-teken")
    elif isinstance(v, dict):
        for k, x in v.items():
            _geen_nul(k)
            _geen_nul(x)
    elif isinstance(v, list):
        for x in v:
            _geen_nul(x)
    return v


def Tekst(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_geen_nul)]


Id = Annotated[int, Path(ge=1, le=MAX_ID, description="numeriek id")]
Feitwaarde = bool | Annotated[int, Field(ge=-10**9, le=10**9)] | Annotated[float, Field(ge=-1e9, le=1e9)] | \
    Annotated[str, Field(max_length=2000), AfterValidator(_geen_nul)] | None
Feiten = Annotated[dict[Annotated[str, Field(max_length=50), AfterValidator(_geen_nul)], Feitwaarde],
                   Field(max_length=50)]
Datum = Annotated[date, Field(ge=data.MIN_DATUM, le=data.MAX_DATUM)]


class Invoer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NieuweClient(Invoer):
    bsn: Tekst(20, 1)
    naam: Tekst(200) = ""
    geboortedatum: Datum | None = None
    postcode: Tekst(7) = ""
    gebied: Tekst(50) = Field(default="", description="gebiedsteam; leeg: uit de postcode (of de centrale "
                                                       "doelgroep), anders uw eigen gebied")
    doelgroep: Tekst(50) | None = Field(default=None, description="centrale doelgroep (inburgeraar, ex_gedetineerde, "
                                                                  "doelgroepregister): het specialistische team")
    coach: Tekst(100) = ""
    bijstand_sinds: Datum | None = None
    iban: Tekst(34) | None = None


class BsnZoek(Invoer):
    bsn: Tekst(20, 1)


class ToegangVraag(Invoer):
    instrument: Tekst(50, 1)
    client_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    feiten: Feiten = Field(default_factory=dict)


class StartVraag(ToegangVraag):
    overrule_reden: Tekst(500) | None = Field(default=None, description="alleen teamleider/beheerder; verplicht bij overrulen")
    planstap: Tekst(20, 1) | None = Field(default=None, description="start vanuit deze stap van het ontwikkelplan (bv. s2)")


class PlanStapInvoer(Invoer):
    id: Tekst(20, 1) | None = Field(default=None, description="bestaande stap (leeg: nieuwe stap)")
    omschrijving: Tekst(300, 1)
    datum: Datum | None = Field(default=None, description="afgesproken datum")
    instrument: Tekst(50, 1) | None = Field(default=None, description="instrument waarmee de stap een traject kan starten")
    status: Literal["open", "gestart", "afgerond"] | None = None


class PlanInvoer(Invoer):
    doelen: Annotated[list[Tekst(500)], Field(max_length=20)] = Field(default_factory=list)
    afspraken_client: Annotated[list[Tekst(500)], Field(max_length=20)] = Field(default_factory=list)
    afspraken_coach: Annotated[list[Tekst(500)], Field(max_length=20)] = Field(default_factory=list)
    stappen: Annotated[list[PlanStapInvoer], Field(max_length=30)] = Field(default_factory=list)
    reden: Tekst(500) = Field(description="waarom het plan wijzigt (verplicht; staat in de versiegeschiedenis)")
    versie: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        default=None, description="de versie waarop de wijziging is gebaseerd (0: nog geen plan); anders 409")


class TredeInvoer(Invoer):
    trede: Annotated[int, Field(ge=1, le=100)]
    datum: Datum | None = Field(default=None, description="datum van de vaststelling (standaard vandaag)")
    toelichting: Tekst(500) = ""


class GebeurtenisInvoer(Invoer):
    event: Tekst(50, 1)
    datum: Datum | None = None
    toelichting: Tekst(2000) = ""


class Beeindig(Invoer):
    uitkomst: Tekst(50, 1)
    reden: Tekst(500, 1)


class Afronden(Invoer):
    uitkomst: Tekst(50) | None = None
    toelichting: Tekst(2000) = ""


class Afwijzing(Invoer):  # of a payout (_api_geld); its OpenAPI name: trajecten__web___api__Afwijzing
    reden: Tekst(500, 1)


def _engine(request: Request):
    return request.app.state.engine


Wie = Annotated[Gebruiker, Depends(huidige_gebruiker)]
router = APIRouter(prefix="/api", dependencies=[Depends(huidige_gebruiker)])


def _besluit(b) -> dict:
    return {"toegelaten": bool(b.uitkomst), "besluit": b.to_json(), "uitleg": b.uitleg()}


# --------------------------------------------------------------------------- who am I, instruments


@router.get("/ik", summary="Wie ben ik (rol, gebied, CSRF-token voor JSON-aanroepen vanuit een sessie)")
def ik(g: Wie):
    return {"gebruikersnaam": g.gebruikersnaam, "naam": g.naam, "rol": g.rol, "gebied": g.gebied, "via": g.via,
            "csrf_token": g.csrf}


@router.get("/instrumenten", summary="De instrumenten met hun feiten, uitkomsten en gebeurtenissen")
def instrumenten(request: Request, g: Wie):
    return data.instrumenten(_engine(request))


# --------------------------------------------------------------------------- clients


@router.get("/clients", summary="Cliënten die u mag zien (BSN gemaskeerd)")
def clients(request: Request, g: Wie,
            q: Annotated[str | None, Query(max_length=100, description="filter op naam"),
                         AfterValidator(_geen_nul)] = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    return data.clienten(_engine(request), g, q, limit, offset)


@router.post("/clients", status_code=201, summary="Cliënt toevoegen")
def client_toevoegen(request: Request, g: Wie, body: NieuweClient):
    eng = _engine(request)
    postcode = normaliseer_postcode(body.postcode) if body.postcode else ""
    gebied = body.gebied.strip()
    if postcode or body.doelgroep:  # the team follows from them; outside the municipality: refused
        gebied = team_voor(postcode, body.doelgroep)
        if body.gebied.strip() and body.gebied.strip() != gebied:
            raise OngeldigeInvoer("gebied", f"{body.gebied.strip()!r} klopt niet: de cliënt hoort bij team {gebied}")
    if not gebied:
        gebied = g.gebied or ""
    if not gebied:
        raise OngeldigeInvoer("gebied", "geef het gebiedsteam (of een postcode in de gemeente)")
    if g.rol in (COACH, TEAMLEIDER) and g.gebied and gebied != g.gebied:
        raise HTTPException(403, f"u kunt alleen cliënten van gebiedsteam {g.gebied} toevoegen")
    cid = eng.add_client(body.bsn, naam=body.naam, geboortedatum=body.geboortedatum, postcode=postcode,
                         gebied=gebied, coach=body.coach or (g.actor if g.rol == COACH else ""),
                         bijstand_sinds=body.bijstand_sinds, iban=body.iban or None, doelgroep=body.doelgroep or None)
    return data.client(eng, g, cid)


@router.post("/clients/zoek", summary="Cliënt zoeken op BSN (het BSN gaat in de body, nooit in een URL)")
def client_zoek(request: Request, g: Wie, body: BsnZoek):
    return {"id": data.zoek_bsn(_engine(request), g, body.bsn)}


@router.get("/clients/{client_id}", summary="Eén cliënt: gegevens (BSN gemaskeerd), trajecten en tijdlijn")
def client_detail(request: Request, g: Wie, client_id: Id):
    return data.client(_engine(request), g, client_id)


@router.get("/clients/{client_id}/verwerkingen",
            summary="Inzageverzoek: de verwerkingen van de gegevens van deze cliënt (Logboek Dataverwerkingen)")
def client_verwerkingen(request: Request, g: Wie, client_id: Id):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    return {"client_id": client_id, "verwerkingen": [
        {**r, "start_tijd": r["start_tijd"].astimezone(TZ).isoformat(timespec="seconds"),
         "eind_tijd": r["eind_tijd"].astimezone(TZ).isoformat(timespec="seconds")}
        for r in logboek.inzage(eng, client_id=client_id)]}


# --------------------------------------------------------------------------- ontwikkelplan and ontwikkelladder


def _plan(eng, g: Gebruiker, client_id: int) -> dict:
    c = data.client_kort(eng, g, client_id)
    return {**ontwikkelplan.plan(eng, client_id), "eigenaar": {"client_id": c["id"], "naam": c["naam"]},
            "coach": c["coach"]}


@router.get("/clients/{client_id}/ontwikkelplan",
            summary="Het ontwikkelplan van de cliënt (huidige versie) met alle versies: wie, wanneer, waarom")
def plan_lezen(request: Request, g: Wie, client_id: Id):
    return _plan(_engine(request), g, client_id)


@router.post("/clients/{client_id}/ontwikkelplan", status_code=201,
             summary="Nieuwe versie van het ontwikkelplan (reden verplicht; 409 als het intussen gewijzigd is)")
def plan_wijzigen(request: Request, g: Wie, client_id: Id, body: PlanInvoer):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    invoer = body.model_dump(mode="json", exclude={"reden", "versie"})
    ontwikkelplan.opslaan(eng, client_id, invoer, door=g.actor, reden=body.reden, basis_versie=body.versie)
    return _plan(eng, g, client_id)


@router.get("/clients/{client_id}/ontwikkelladder",
            summary="De ontwikkelladder: de treden, de huidige trede en de geschiedenis met datum en beoordelaar")
def ladder_lezen(request: Request, g: Wie, client_id: Id):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    return ontwikkelladder.geschiedenis(eng, client_id)


@router.post("/clients/{client_id}/ontwikkelladder", status_code=201,
             summary="Trede vastleggen (datum niet in de toekomst; u bent de beoordelaar)")
def ladder_vastleggen(request: Request, g: Wie, client_id: Id, body: TredeInvoer):
    eng = _engine(request)
    data.check_client(eng, g, client_id)
    ontwikkelladder.trede_vastleggen(eng, client_id, body.trede, door=g.actor, datum=body.datum,
                                     toelichting=body.toelichting)
    return ontwikkelladder.geschiedenis(eng, client_id)


# --------------------------------------------------------------------------- trajectories


@router.post("/trajecten/toegang", summary="Toegangsbesluit met uitleg (er wordt niets vastgelegd)",
             responses={409: {"description": "de cliënt heeft al een lopend traject van dit instrument "
                                             "(met `traject_id`)"}})
def toegang(request: Request, g: Wie, body: ToegangVraag):
    eng = _engine(request)
    data.check_client(eng, g, body.client_id)
    data.controleer_feiten(data.instrument(eng, body.instrument), body.feiten)
    logboek.noteer([body.client_id], f"instrument:{body.instrument}")
    b = eng.toegang(body.instrument, body.client_id, body.feiten)
    return {**_besluit(b), "mag_overrulen": mag_overrulen(g)}


IDEMPOTENCY_KEY = "Idempotency-Key"
IdempotencyKey = Annotated[str | None, Header(
    alias=IDEMPOTENCY_KEY, min_length=1, max_length=100, pattern=r"^[!-~]+$",
    description="Optioneel; aanbevolen voor een programma dat na een time-out of verbroken verbinding opnieuw "
                "probeert: een nieuwe, unieke sleutel per start (bv. een UUID; 1-100 zichtbare ASCII-tekens). "
                "Een herhaling met dezelfde sleutel door dezelfde gebruiker start niets en krijgt het eerste "
                "antwoord terug (dezelfde statuscode en inhoud, met de header `Idempotent-Replayed: true`). "
                "Alleen een geslaagde start (201) wordt bewaard, 24 uur: een weigering (4xx) legt niets vast en "
                "geeft de sleutel vrij, dus dezelfde vraag opnieuw krijgt het antwoord van dat moment. Dezelfde "
                "sleutel met een andere inhoud: 422; terwijl het eerste verzoek nog loopt: 409 (met Retry-After).")]


@router.post("/trajecten", status_code=201,
             summary="Traject starten (409 met de redenen als de regel weigert, 409 met traject_id als er al een "
                     "loopt; herhaalbaar met Idempotency-Key)",
             responses={409: {"description": "niet toegelaten (met het besluit en de redenen); de cliënt heeft al "
                                             "een lopend traject van dit instrument (met `traject_id`); of een "
                                             "verzoek met dezelfde Idempotency-Key is nog in behandeling"}})
def traject_start(request: Request, g: Wie, body: StartVraag, idempotency_key: IdempotencyKey = None):
    eng = _engine(request)
    if idempotency_key is None:
        return _start(request, g, body, None)
    data.check_client(eng, g, body.client_id)  # the area rule also before a replay (404, nothing revealed)
    try:
        c = idempotentie.claim(eng, g.actor, f"POST /api/trajecten {idempotency_key}",
                               idempotentie.verzoek_hash(body.model_dump(mode="json")))
    except idempotentie.AnderVerzoek:
        return JSONResponse({"detail": [{"loc": ["header", IDEMPOTENCY_KEY], "type": "idempotentie_ander_verzoek",
                                         "msg": "deze Idempotency-Key is al gebruikt voor een verzoek met een andere "
                                                "inhoud; gebruik een nieuwe sleutel"}]}, status_code=422)
    except idempotentie.InBehandeling:
        return JSONResponse({"detail": "een verzoek met deze Idempotency-Key is nog in behandeling; probeer het zo "
                                       "opnieuw"}, status_code=409, headers={"Retry-After": "1"})
    if isinstance(c, idempotentie.Antwoord):
        logboek.noteer([body.client_id], f"instrument:{body.instrument}")
        return JSONResponse(c.antwoord, status_code=c.status_code, headers={"Idempotent-Replayed": "true"})
    try:
        antwoord = _start(request, g, body, c)
    except BaseException:
        idempotentie.geef_vrij(eng, c)  # refused or failed: nothing was started, the key is free again
        raise
    if antwoord.status_code != 201:
        idempotentie.geef_vrij(eng, c)
    return antwoord


def _start(request: Request, g: Gebruiker, body: StartVraag, c: idempotentie.Claim | None) -> JSONResponse:
    """The start; with a claimed Idempotency-Key its answer is stored in the start's own transaction."""
    eng = _engine(request)

    def antwoord(res, conn) -> JSONResponse:
        # JSON-ready already (the decision as stored in its event): answered as is, without FastAPI's encoder
        inhoud = {"traject_id": res.traject_id, "status": res.status, "start_datum": res.start_datum.isoformat(),
                  "stappen": res.stappen, "besluit": res.besluit.to_json(), "overruled": res.overruled}
        if c is not None:
            idempotentie.bewaar(eng, c, 201, inhoud, conn=conn)
        return JSONResponse(inhoud, status_code=201)

    try:
        if body.planstap:  # from a step of the ontwikkelplan: the same start, and the link recorded
            data.check_client(eng, g, body.client_id)
            data.controleer_feiten(data.instrument(eng, body.instrument), body.feiten)
            logboek.noteer([body.client_id], f"instrument:{body.instrument}")
            with eng.db.begin() as conn:
                res = ontwikkelplan.start_traject(eng, body.client_id, body.planstap, body.instrument, body.feiten,
                                                  actor=g.actor, overrule_reden=body.overrule_reden,
                                                  mag_overrulen=mag_overrulen(g), conn=conn)
                return antwoord(res, conn)
        # one transaction: the client (404 outside the own area), the start and its Logboek record
        eng.register.names()  # the definitions loaded (the first time: in a transaction of their own)
        with transactie(request) as (conn, bekend):
            client = data.client_rij(conn, g, body.client_id)
            bekend[client.id] = client.bsn
            data.controleer_feiten(data.instrument(eng, body.instrument), body.feiten)
            logboek.noteer([body.client_id], f"instrument:{body.instrument}")
            res = eng.start(body.instrument, body.client_id, body.feiten, actor=g.actor,
                            overrule_reden=body.overrule_reden, mag_overrulen=mag_overrulen(g), conn=conn,
                            client=client)
            uit = antwoord(res, conn)
        return uit
    except NietToegelaten as exc:
        if body.overrule_reden is not None and not mag_overrulen(g) and exc.besluit is not None:
            return JSONResponse({"detail": "alleen een teamleider (of beheerder) mag een weigering overrulen",
                                 **_besluit(exc.besluit)}, status_code=403)
        raise


@router.get("/trajecten/{traject_id}", summary="Traject met stappen, gebeurtenissen en taken")
def traject_detail(request: Request, g: Wie, traject_id: Id):
    return data.traject(_engine(request), g, traject_id)


@router.post("/trajecten/{traject_id}/gebeurtenissen", summary="Gebeurtenis vastleggen (bv. werk_gestart op een datum)")
def gebeurtenis(request: Request, g: Wie, traject_id: Id, body: GebeurtenisInvoer):
    eng = _engine(request)
    data.check_traject(eng, g, traject_id)
    eng.record_event(traject_id, body.event, actor=g.actor, datum=body.datum,
                     payload={"toelichting": body.toelichting} if body.toelichting else None)
    return data.traject(eng, g, traject_id)


@router.post("/trajecten/{traject_id}/beeindig", summary="Traject beëindigen met uitkomst en reden")
def beeindig(request: Request, g: Wie, traject_id: Id, body: Beeindig):
    eng = _engine(request)
    data.check_traject(eng, g, traject_id)
    eng.end(traject_id, actor=g.actor, uitkomst=body.uitkomst, reden=body.reden)
    return data.traject(eng, g, traject_id)


# --------------------------------------------------------------------------- worklist and tasks


@router.get("/werklijst", summary="Open taken: te laat, vandaag, later (coach: eigen gebied; teamleider: het team)")
def werklijst(request: Request, g: Wie,
              coach: Annotated[str | None, Query(max_length=100, description="alleen taken van deze coach"),
                               AfterValidator(_geen_nul)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    return data.werklijst(_engine(request), g, coach, limit)


@router.post("/taken/{taak_id}/afronden", summary="Taak afronden (met uitkomst waar de stap die vraagt)")
def taak_afronden(request: Request, g: Wie, taak_id: Id, body: Annotated[Afronden | None, Body()] = None):
    eng = _engine(request)
    body = body or Afronden()
    data.check_taak(eng, g, taak_id)
    eng.complete_task(taak_id, actor=g.actor, uitkomst=body.uitkomst or None, toelichting=body.toelichting)
    return {"taak_id": taak_id, "status": "afgerond", "uitkomst": body.uitkomst or None}
