"""The pages: server-rendered Jinja2, Dutch, plain forms (every POST carries the session's CSRF token)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trajecten.privacy import logboek
from trajecten.geld import uitbetalingen as betalingen
from trajecten.basis.fouten import NietGevonden, NietToegelaten, OngeldigeInvoer, OngeldigeToestand, TrajectFout
from trajecten.beheer.koppelingen import uwv_feed
from trajecten.rapportage.monitoring import GRAFIEK_STATUSSEN, STATUS_TEKST, STATUSSEN, Geld, euro, euro_getal, maandcijfers
from trajecten.clienten import ladder as ontwikkelladder
from trajecten.clienten import ontwikkelplan
from trajecten.web import _data as data
from trajecten.web._auth import controleer_wachtwoord, csrf_ok, csrf_token, huidige_gebruiker, log_in
from trajecten.rapportage.svg import staafdiagram, voortgang
from trajecten.web._toegang import EXPORT, Gebruiker, mag

MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Wie = Annotated[Gebruiker, Depends(huidige_gebruiker)]
router = APIRouter(dependencies=[Depends(huidige_gebruiker)], include_in_schema=False)

NAV = [("/", "Mijn werklijst"), ("/clienten", "Cliënten"), ("/uitbetalingen", "Uitbetalingen"),
       ("/quarantaine", "Quarantaine"), ("/monitoring", "Monitoring"),
       ("/caseload", "Caseload")]
ROL_TEKST = {"coach": "coach", "teamleider": "teamleider", "financien": "financiën", "beleid": "beleid",
             "beheerder": "beheerder", "koppeling": "koppeling"}
UITKOMST_TEKST = {"uitgevoerd": "uitgevoerd", "gepland": "gepland", "overgeslagen": "overgeslagen",
                  "geannuleerd": "geannuleerd", "incident": "incident"}


def context(request: Request, **kw) -> dict:
    g: Gebruiker | None = getattr(request.state, "gebruiker", None)
    nav = [(p, label) for p, label in NAV if g is not None and mag(g.rol, "GET", p)]
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    return {"request": request, "g": g, "nav": nav, "pad": request.url.path, "flash": flash,
            "csrf": csrf_token(request) if "session" in request.scope else "", "rol_tekst": ROL_TEKST, **kw}


def render(request: Request, template: str, code: int = 200, **kw):
    return request.app.state.templates.TemplateResponse(request, template, context(request, **kw), status_code=code)


def flash(request: Request, tekst: str, soort: str = "ok") -> None:
    request.session["flash"] = {"tekst": tekst, "soort": soort}


def terug(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _tekst(v) -> str:
    """A form value as text without NUL characters (PostgreSQL refuses them)."""
    return (v if isinstance(v, str) else "").replace("\x00", "")


def _veilig_volgende(v: str | None) -> str:
    return v if v and v.startswith("/") and not v.startswith("//") and "\\" not in v else "/"


# --------------------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, volgende: Annotated[str | None, Query(max_length=500)] = None):
    return render(request, "login.html", volgende=_veilig_volgende(volgende), fout=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request):
    form = await request.form()
    volgende = _veilig_volgende(_tekst(form.get("volgende") or "/")[:500])
    if not await csrf_ok(request):
        return render(request, "login.html", code=403, volgende=volgende,
                      fout="De sessie is verlopen of het formulier is oud; probeer het opnieuw.")
    naam = _tekst(form.get("gebruikersnaam") or "").strip()[:100]
    wachtwoord = _tekst(form.get("wachtwoord") or "")[:200]
    from starlette.concurrency import run_in_threadpool

    uid = await run_in_threadpool(controleer_wachtwoord, request.app.state.engine, naam, wachtwoord) \
        if naam and wachtwoord and "\x00" not in naam else None
    if uid is None:
        return render(request, "login.html", code=401, volgende=volgende, gebruikersnaam=naam,
                      fout="Onbekende gebruikersnaam of onjuist wachtwoord.")
    log_in(request, uid)
    return terug(volgende)


@router.post("/logout")
def logout(request: Request, g: Wie):
    request.session.clear()
    return terug("/login")


# --------------------------------------------------------------------------- worklist


@router.get("/", response_class=HTMLResponse)
def werklijst(request: Request, g: Wie, coach: Annotated[str | None, Query(max_length=100)] = None,
              meer: bool = False):
    if not mag(g.rol, "GET", "/api/werklijst"):
        return terug("/uitbetalingen" if mag(g.rol, "GET", "/uitbetalingen") else "/monitoring")
    if coach is None and g.rol == "coach":
        coach = g.actor
    coach = coach or None
    if coach == "*":
        coach = None
    # 50 per section (the page stays light with tens of thousands of open tasks); "meer" shows 200
    wl = data.werklijst(request.app.state.engine, g, coach if coach and "\x00" not in coach else None,
                        limit=WERKLIJST_MEER if meer else WERKLIJST_PAGINA)
    return render(request, "werklijst.html", wl=wl, coach=coach or "", meer=meer)


WERKLIJST_PAGINA, WERKLIJST_MEER = 50, 200


@router.post("/taken/{taak_id}/afronden")
async def taak_afronden(request: Request, g: Wie, taak_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    uitkomst = _tekst(form.get("uitkomst") or "")[:50] or None
    toelichting = _tekst(form.get("toelichting") or "")[:2000]
    volgende = _veilig_volgende(_tekst(form.get("volgende") or "/"))
    try:
        data.check_taak(eng, g, taak_id)
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(lambda: eng.complete_task(taak_id, actor=g.actor, uitkomst=uitkomst,
                                                          toelichting=toelichting))
        flash(request, f"Taak {taak_id} afgerond" + (f" met uitkomst {uitkomst}" if uitkomst else "") + ".")
    except NietGevonden:
        raise
    except TrajectFout as exc:
        flash(request, f"Taak {taak_id} niet afgerond: {exc}", "fout")
    return terug(volgende)


# --------------------------------------------------------------------------- clients


@router.get("/clienten", response_class=HTMLResponse)
def clienten(request: Request, g: Wie, q: Annotated[str | None, Query(max_length=100)] = None,
             offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    q = q if q and "\x00" not in q else None
    lijst = data.clienten(request.app.state.engine, g, q, 50, offset)
    return render(request, "clienten.html", lijst=lijst, q=q or "", fout=None)


@router.post("/clienten/zoek", response_class=HTMLResponse)
async def client_zoek(request: Request, g: Wie):
    form = await request.form()
    bsn = _tekst(form.get("bsn") or "")[:20]
    try:
        cid = data.zoek_bsn(request.app.state.engine, g, bsn)
    except (OngeldigeInvoer, NietGevonden) as exc:
        lijst = data.clienten(request.app.state.engine, g, None, 50, 0)
        tekst = f"BSN {exc.reden}" if isinstance(exc, OngeldigeInvoer) else "Geen cliënt met dit BSN in uw gebied."
        return render(request, "clienten.html", code=404 if isinstance(exc, NietGevonden) else 422,
                      lijst=lijst, q="", fout=tekst)
    return terug(f"/clienten/{cid}")


@router.get("/clienten/{client_id}", response_class=HTMLResponse)
def client(request: Request, g: Wie, client_id: Id):
    eng = request.app.state.engine
    c = data.client(eng, g, client_id)
    return render(request, "client.html", c=c, plan=ontwikkelplan.plan(eng, client_id),
                  ladder=ontwikkelladder.geschiedenis(eng, client_id))


# --------------------------------------------------------------------------- ontwikkelplan and ontwikkelladder

NIEUWE_STAPPEN = 3  # empty step rows offered by the plan form


def _planstap(eng, client_id: int, stap_id: str) -> dict:
    s = ontwikkelplan.stap(ontwikkelplan.plan(eng, client_id)["inhoud"], stap_id)
    if s is None:
        raise OngeldigeInvoer("planstap", f"stap {stap_id} staat niet in het ontwikkelplan")
    return s


def _plan_formulier(plan: dict) -> dict:
    i = plan["inhoud"]
    return {"versie": plan["versie"] or 0, "doelen": "\n".join(i["doelen"]),
            "afspraken_client": "\n".join(i["afspraken_client"]), "afspraken_coach": "\n".join(i["afspraken_coach"]),
            "stappen": [dict(s) for s in i["stappen"]] + [{} for _ in range(NIEUWE_STAPPEN)], "reden": ""}


def _plan_uit_formulier(form, huidig: dict) -> dict:
    """The form's fields (stap_<n>_id/omschrijving/datum/instrument/status/weg) as plan input."""
    bekend = {s["id"]: s for s in huidig["inhoud"]["stappen"]}
    stappen = []
    n = 0
    while f"stap_{n}_omschrijving" in form and n < 100:
        def veld(k, n=n):
            return _tekst(form.get(f"stap_{n}_{k}") or "").strip()
        sid = veld("id")[:20] or None
        rij = {"id": sid, "omschrijving": veld("omschrijving")[:300], "datum": veld("datum")[:10] or None,
               "instrument": veld("instrument")[:50] or None, "status": veld("status")[:10] or None,
               "weg": bool(form.get(f"stap_{n}_weg"))}
        if sid in bekend:  # what the form does not edit stays as it was
            rij.update(traject_id=bekend[sid].get("traject_id"), uitkomst=bekend[sid].get("uitkomst"))
            if not rij["status"]:
                rij["status"] = bekend[sid]["status"]
        if sid or rij["omschrijving"] or rij["datum"] or rij["instrument"]:
            stappen.append(rij)
        n += 1
    return {"doelen": _tekst(form.get("doelen") or "")[:20000],
            "afspraken_client": _tekst(form.get("afspraken_client") or "")[:20000],
            "afspraken_coach": _tekst(form.get("afspraken_coach") or "")[:20000],
            "stappen": stappen}


def _plan_pagina(request: Request, g: Gebruiker, client_id: int, code: int = 200, formulier: dict | None = None,
                 fout: str | None = None):
    eng = request.app.state.engine
    c = data.client_kort(eng, g, client_id)
    plan = ontwikkelplan.plan(eng, client_id)
    formulier = formulier or _plan_formulier(plan)
    if len([s for s in formulier["stappen"] if not s.get("id")]) < NIEUWE_STAPPEN:
        formulier["stappen"] += [{} for _ in range(NIEUWE_STAPPEN)]
    return render(request, "ontwikkelplan.html", code=code, c=c, plan=plan, formulier=formulier, fout=fout,
                  instrumenten=data.instrumenten(eng))


@router.get("/clienten/{client_id}/ontwikkelplan", response_class=HTMLResponse)
def plan_pagina(request: Request, g: Wie, client_id: Id):
    return _plan_pagina(request, g, client_id)


@router.post("/clienten/{client_id}/ontwikkelplan", response_class=HTMLResponse)
async def plan_opslaan(request: Request, g: Wie, client_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    data.check_client(eng, g, client_id)
    huidig = ontwikkelplan.plan(eng, client_id)
    invoer = _plan_uit_formulier(form, huidig)
    reden = _tekst(form.get("reden") or "")[:2000]
    try:
        basis = int(_tekst(form.get("versie") or "0"))
    except ValueError:
        basis = -1
    try:
        versie = ontwikkelplan.opslaan(
            eng, client_id, {**invoer, "stappen": [{k: v for k, v in st.items() if k in ("id", "omschrijving", "datum",
                                                                                          "instrument", "status")}
                                                    for st in invoer["stappen"] if not st["weg"]]},
            door=g.actor, reden=reden, basis_versie=basis)
    except (OngeldigeInvoer, OngeldigeToestand) as exc:
        formulier = {**invoer, "versie": basis, "reden": reden}
        tekst = f"{exc.veld}: {exc.reden}" if isinstance(exc, OngeldigeInvoer) else str(exc)
        return _plan_pagina(request, g, client_id, 422 if isinstance(exc, OngeldigeInvoer) else 409, formulier,
                            f"Niet opgeslagen — {tekst}")
    flash(request, f"Ontwikkelplan opgeslagen als versie {versie}.")
    return terug(f"/clienten/{client_id}/ontwikkelplan")


def _ladder_pagina(request: Request, g: Gebruiker, client_id: int, code: int = 200, waarden: dict | None = None,
                   fout: str | None = None):
    eng = request.app.state.engine
    c = data.client_kort(eng, g, client_id)
    lad = ontwikkelladder.geschiedenis(eng, client_id)
    waarden = waarden or {"trede": lad["huidig"]["trede"] if lad["huidig"] else "",
                          "datum": data.vandaag(eng).isoformat(), "toelichting": ""}
    return render(request, "ontwikkelladder.html", code=code, c=c, lad=lad, waarden=waarden, fout=fout,
                  vandaag=data.vandaag(eng).isoformat())


@router.get("/clienten/{client_id}/ontwikkelladder", response_class=HTMLResponse)
def ladder_pagina(request: Request, g: Wie, client_id: Id):
    return _ladder_pagina(request, g, client_id)


@router.post("/clienten/{client_id}/ontwikkelladder", response_class=HTMLResponse)
async def ladder_vastleggen(request: Request, g: Wie, client_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    data.check_client(eng, g, client_id)
    waarden = {k: _tekst(form.get(k) or "").strip()[:500] for k in ("trede", "datum", "toelichting")}
    try:
        try:
            trede = int(waarden["trede"])
        except ValueError:
            raise OngeldigeInvoer("trede", "kies een trede") from None
        try:
            datum = data.controleer_datum(date.fromisoformat(waarden["datum"]), "datum") if waarden["datum"] else None
        except ValueError as exc:
            raise OngeldigeInvoer("datum", getattr(exc, "reden", None) or "datum JJJJ-MM-DD") from None
        ontwikkelladder.trede_vastleggen(eng, client_id, trede, door=g.actor, datum=datum,
                                         toelichting=waarden["toelichting"])
    except OngeldigeInvoer as exc:
        return _ladder_pagina(request, g, client_id, 422, waarden, f"Niet vastgelegd — {exc.veld}: {exc.reden}")
    flash(request, f"Trede {trede} vastgelegd.")
    return terug(f"/clienten/{client_id}/ontwikkelladder")


# --------------------------------------------------------------------------- trajectories
# (the start page, /trajecten/nieuw, one start per form token: _traject_nieuw.py)


@router.get("/trajecten/{traject_id}", response_class=HTMLResponse)
def traject(request: Request, g: Wie, traject_id: Id):
    t = data.traject(request.app.state.engine, g, traject_id)
    return render(request, "traject.html", t=t, vandaag=data.vandaag(request.app.state.engine).isoformat())


@router.post("/trajecten/{traject_id}/gebeurtenissen")
async def traject_gebeurtenis(request: Request, g: Wie, traject_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    data.check_traject(eng, g, traject_id)
    event = _tekst(form.get("event") or "")[:50]
    toelichting = _tekst(form.get("toelichting") or "")[:2000]
    try:
        raw = _tekst(form.get("datum") or "")
        datum = data.controleer_datum(date.fromisoformat(raw), "datum") if raw else None
        eng.record_event(traject_id, event, actor=g.actor, datum=datum,
                         payload={"toelichting": toelichting} if toelichting else None)
        flash(request, f"Gebeurtenis {event} vastgelegd.")
    except ValueError as exc:
        flash(request, f"Niet vastgelegd: {getattr(exc, 'reden', None) or 'datum JJJJ-MM-DD'}", "fout")
    except TrajectFout as exc:
        flash(request, f"Niet vastgelegd: {exc}", "fout")
    return terug(f"/trajecten/{traject_id}")


@router.post("/trajecten/{traject_id}/beeindig")
async def traject_beeindig(request: Request, g: Wie, traject_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    data.check_traject(eng, g, traject_id)
    try:
        eng.end(traject_id, actor=g.actor, uitkomst=_tekst(form.get("uitkomst") or "")[:50],
                reden=_tekst(form.get("reden") or "")[:500])
        flash(request, f"Traject {traject_id} beëindigd.")
    except TrajectFout as exc:
        flash(request, f"Niet beëindigd: {exc}", "fout")
    return terug(f"/trajecten/{traject_id}")


# --------------------------------------------------------------------------- payouts


@router.get("/uitbetalingen", response_class=HTMLResponse)
def uitbetalingen(request: Request, g: Wie, status: Annotated[str | None, Query(max_length=20)] = "voorgesteld",
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    statussen = ["voorgesteld", "goedgekeurd", "geexporteerd", "betaald", "afgewezen"]
    if status not in statussen:
        status = None
    eng = request.app.state.engine
    lijst = data.uitbetalingen(eng, g, status, 200, offset)
    export = g.rol in EXPORT
    return render(request, "uitbetalingen.html", lijst=lijst, status=status or "", statussen=statussen,
                  export=export, batches=data.batches(eng) if export else [])


@router.post("/uitbetalingen/{uitbetaling_id}/goedkeuren")
def goedkeuren(request: Request, g: Wie, uitbetaling_id: Id):
    eng = request.app.state.engine
    data.check_uitbetaling(eng, g, uitbetaling_id)
    try:
        betalingen.keur_goed(eng, uitbetaling_id, door=g.actor)
        flash(request, f"Uitbetaling {uitbetaling_id} goedgekeurd.")
    except (NietToegelaten, OngeldigeToestand, OngeldigeInvoer) as exc:
        flash(request, f"Niet goedgekeurd: {exc}", "fout")
    return terug("/uitbetalingen")


@router.post("/uitbetalingen/{uitbetaling_id}/afwijzen")
async def afwijzen(request: Request, g: Wie, uitbetaling_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    data.check_uitbetaling(eng, g, uitbetaling_id)
    try:
        betalingen.wijs_af(eng, uitbetaling_id, door=g.actor, reden=_tekst(form.get("reden") or "")[:500])
        flash(request, f"Uitbetaling {uitbetaling_id} afgewezen.")
    except (NietToegelaten, OngeldigeToestand, OngeldigeInvoer) as exc:
        flash(request, f"Niet afgewezen: {exc}", "fout")
    return terug("/uitbetalingen")


@router.post("/uitbetalingen/export")
def export(request: Request, g: Wie):
    res = betalingen.exporteer(request.app.state.engine, door=g.actor)
    logboek.noteer_uitbetalingen(request.app.state.engine, res.batch_id, [i for i, _ in res.overgeslagen])
    if res.batch_id is None:
        flash(request, "Niets te exporteren: er zijn geen goedgekeurde uitbetalingen"
              + (f" ({len(res.overgeslagen)} zonder geldig IBAN)" if res.overgeslagen else "") + ".", "fout")
    else:
        flash(request, f"Batch {res.batch_id} gemaakt: {res.aantal} betalingen, € {res.totaal:.2f}. "
                       f"Download het SEPA-bestand hieronder.")
    return terug("/uitbetalingen?status=goedgekeurd")


# --------------------------------------------------------------------------- quarantine


def _voorstel(inhoud: str, velden) -> str:
    try:
        obj = json.loads(inhoud)
        if isinstance(obj, dict):
            return json.dumps(obj, ensure_ascii=False, indent=2)
    except ValueError:
        pass
    return json.dumps({k: "" for k in velden}, ensure_ascii=False, indent=2)  # a CSV line: the feed's fields


@router.get("/quarantaine", response_class=HTMLResponse)
def quarantaine(request: Request, g: Wie, alles: bool = False):
    eng = request.app.state.engine
    q = data.quarantaine(eng, alles)
    velden = getattr(uwv_feed(eng.settings), "VELDEN", ())  # the connector is loaded by name
    for r in q["records"]:
        r["voorstel"] = _voorstel(r["inhoud"], velden)
    return render(request, "quarantaine.html", q=q, alles=alles)


@router.post("/quarantaine/{quarantaine_id}/herverwerk")
async def herverwerk(request: Request, g: Wie, quarantaine_id: Id):
    form = await request.form()
    eng = request.app.state.engine
    try:
        record = json.loads(_tekst(form.get("record") or ""))
        if not isinstance(record, dict) or "\\u0000" in json.dumps(record):
            raise ValueError
    except ValueError:
        flash(request, f"Quarantaine {quarantaine_id}: geef één JSON-object, bv. {{\"bsn\": \"...\"}}.", "fout")
        return terug("/quarantaine")
    try:
        s = uwv_feed(eng.settings).herverwerk(eng, quarantaine_id, record, door=g.actor)
        if s.quarantaine:
            flash(request, f"Quarantaine {quarantaine_id} nog steeds afgekeurd: "
                           + ", ".join(s.per_reden) + ". Zie de nieuwe redenen.", "fout")
        else:
            flash(request, f"Quarantaine {quarantaine_id} verwerkt: {s.tekst()}")
    except TrajectFout as exc:
        flash(request, f"Quarantaine {quarantaine_id}: {exc}", "fout")
    return terug("/quarantaine")


# --------------------------------------------------------------------------- monitoring

MAANDEN = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring(request: Request, g: Wie, jaar: Annotated[int | None, Query(ge=2000, le=2100)] = None,
               maand: Annotated[int | None, Query(ge=1, le=12)] = None):
    eng = request.app.state.engine
    today = data.vandaag(eng)
    jaar = jaar or today.year
    laatste = today.month if jaar == today.year else 12
    maand = maand or laatste
    per_maand = {m: {x.instrument: x for x in maandcijfers(eng, jaar, m)} for m in range(1, laatste + 1)} \
        if jaar <= today.year else {}
    huidig = maandcijfers(eng, jaar, maand)
    grafieken = []
    for m in huidig:
        reeks = [(MAANDEN[k - 1], v[m.instrument].gestart if m.instrument in v else 0) for k, v in per_maand.items()]
        actief = [(MAANDEN[k - 1], v[m.instrument].actief_einde_maand if m.instrument in v else 0)
                  for k, v in per_maand.items()]
        geld = {s: [(MAANDEN[k - 1], v[m.instrument].geld[s] if m.instrument in v else Geld())
                    for k, v in per_maand.items()] for s in GRAFIEK_STATUSSEN}
        try:
            omschrijving = eng.register.current(m.instrument).definitie.jaardoel.omschrijving
        except KeyError:
            omschrijving = ""
        grafieken.append({
            "m": m, "omschrijving": omschrijving,
            "gestart": staafdiagram(reeks, titel=f"{m.naam}: gestart per maand in {jaar}"),
            "actief": staafdiagram(actief, titel=f"{m.naam}: actief aan het eind van de maand", kleur="#4a6b8a"),
            "geld": [(STATUS_TEKST[s], staafdiagram([(k, euro_getal(x.bedrag)) for k, x in rij], kleur="#7a5a00",
                                                     titel=f"{m.naam}: {STATUS_TEKST[s]} per maand (euro)"))
                     for s, rij in geld.items() if any(x.aantal for _, x in rij)],
            "doel": voortgang(m.gestart_dit_jaar, m.jaardoel, titel=f"{m.naam}: gestart dit jaar tegen jaardoel")
            if m.heeft_jaardoel else None,  # 0: geen jaardoel, no chart
            "succes": voortgang(m.succes_pct or 0, 100, doel=m.succes_doel_pct, eenheid="%",
                                titel=f"{m.naam}: succes dit jaar (doel {m.succes_doel_pct}%)")
            if m.succes_doel_pct and m.succes_uitkomsten else None,
        })
    totaal = {s: sum((m.geld[s] for m in huidig), Geld()) for s in STATUSSEN}
    ladder = ontwikkelladder.beweging_maand_en_jaar(eng, jaar, maand)
    leeg = {"omhoog": 0, "gelijk": 0, "omlaag": 0, "zonder_nulmeting": 0}
    maand_rijen = {r["instrument"]: r for r in ladder["maand"]}
    ladder["rijen"] = [(maand_rijen.get(j["instrument"], {**j, **leeg}), j) for j in ladder["dit_jaar"]]
    return render(request, "monitoring.html", jaar=jaar, maand=maand, maanden=MAANDEN, grafieken=grafieken,
                  ladder=ladder, statussen=STATUSSEN, status_tekst=STATUS_TEKST, totaal=totaal, euro=euro,
                  csv_url="/api/monitoring.csv?" + urlencode({"jaar": jaar, "maand": maand}),
                  jaren=list(range(today.year - 3, today.year + 1)))

