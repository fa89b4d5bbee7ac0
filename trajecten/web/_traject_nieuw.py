"""The start page (/trajecten/nieuw): choose the instrument, fill in the facts, see the eligibility decision
("Controleer"), start ("Start traject"). Post/Redirect/Get throughout, and one start per form.

- The form carries a one-time token (hidden field ``formulier``, ``secrets.token_urlsafe``), made when the
  page is drawn; both buttons post it.
- Controleer: the POST keeps what was typed as a draft on the server, under (user, ``concept:<token>``) in
  the table ``idempotentie`` (``idempotentie.vervang``; removed after 24 h), and answers 303 to
  ``GET /trajecten/nieuw?client=..&instrument=..&concept=<token>``. That page shows the facts and the
  decision (computed anew on each load; nothing is written). The facts never go into a URL (they can hold
  an IBAN or free text; a BSN never does), and no POST stays in the browser's history.
- Start: the POST claims (user, ``start:<token>``) (``idempotentie.claim``); the trajectory and the stored
  answer ``{"traject_id": ..}`` commit in one transaction, then 303 to ``/trajecten/<id>``. The same token
  again (a reload, the back button, an old form submitted once more, a double click) starts nothing: 303
  to that same trajectory, "Dit traject was al gestart". A refusal (not eligible, a running trajectory of
  the instrument, bad facts) gives the token back and keeps the draft with the reason: 303 to the draft's
  page, nothing typed is lost. Controleer on a form whose token has started a trajectory gives the form a
  new token: that is a new, deliberate start.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from trajecten.opslag import idempotentie
from trajecten.privacy import logboek
from trajecten.clienten import ontwikkelplan
from trajecten.basis.fouten import AlLopend, NietGevonden, NietToegelaten, OngeldigeInvoer, TrajectFout
from trajecten.web import _data as data
from trajecten.web._auth import huidige_gebruiker
from trajecten.web._pages import MAX_ID, _planstap, _tekst, flash, render, terug
from trajecten.web._toegang import Gebruiker, mag_overrulen

Wie = Annotated[Gebruiker, Depends(huidige_gebruiker)]
router = APIRouter(dependencies=[Depends(huidige_gebruiker)], include_in_schema=False)

CONCEPT, START = "traject_nieuw:concept:", "traject_nieuw:start:"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
WACHT_S = 5.0  # a second POST of a start still running (a double click) waits this long for its answer
VEROUDERD = "Het formulier was verouderd; controleer de feiten en start opnieuw."


def nieuw_token() -> str:
    return secrets.token_urlsafe(24)


def _token(v) -> str | None:
    v = _tekst(v)
    return v if _TOKEN.fullmatch(v) else None


def _concept_url(concept: dict, token: str) -> str:
    q = {"client": concept["client_id"], "instrument": concept["instrument"]}
    if concept.get("planstap"):
        q["planstap"] = concept["planstap"]
    return "/trajecten/nieuw?" + urlencode({**q, "concept": token})


def _feiten(concept: dict) -> dict:
    return {k: v for k, v in concept["waarden"].items() if v not in ("", None)}


def _feit_velden(compiled, waarden: dict) -> list[dict]:
    return [{"naam": name, "type": f.type.value, "verplicht": f.verplicht, "omschrijving": f.omschrijving,
             "waarde": waarden.get(name, "")} for name, f in compiled.definitie.feiten.items()]


def _naar_lopend(exc: AlLopend) -> list[str]:
    return [f"/trajecten/{exc.traject_id}", f"Naar het lopende traject {exc.traject_id}"]


def _pagina(request: Request, g: Gebruiker, client_id: int, instrument: str | None, planstap: str | None,
            token: str, concept: dict | None = None, melding: str | None = None):
    """The form; with a draft: its facts, the decision on them, and the reason a start was refused."""
    eng = request.app.state.engine
    c = data.client(eng, g, client_id)
    if concept is not None:
        instrument, planstap = concept["instrument"], concept.get("planstap")
    stap = _planstap(eng, client_id, planstap) if planstap else None
    compiled = data.instrument(eng, instrument) if instrument else None
    waarden = concept["waarden"] if concept else {}
    fout, link = (concept.get("fout"), concept.get("link")) if concept else (melding, None)
    besluit = al_gestart = None
    if compiled is not None and concept is not None:
        gestart = idempotentie.lees(eng, g.actor, START + token)
        al_gestart = gestart.antwoord.get("traject_id") if gestart else None
        feiten = _feiten(concept)
        logboek.noteer([c["id"]], f"instrument:{instrument}")
        try:
            data.controleer_feiten(compiled, feiten)
            besluit = eng.toegang(instrument, c["id"], feiten)
        except AlLopend as exc:  # the one this form started is named above already
            if exc.traject_id != al_gestart and not fout:
                fout, link = str(exc), _naar_lopend(exc)
        except OngeldigeInvoer as exc:
            fout = fout or f"{exc.veld}: {exc.reden}"
        except (OverflowError, ValueError):
            fout = fout or "een datum of getal ligt buiten het bereik"
    return render(request, "traject_nieuw.html", c=c, instrumenten=data.instrumenten(eng),
                  instrument=instrument or "", compiled=compiled,
                  velden=_feit_velden(compiled, waarden) if compiled else [], besluit=besluit, fout=fout,
                  fout_link=link, mag_overrulen=mag_overrulen(g), planstap=stap, formulier=token,
                  overrule_reden=(concept or {}).get("overrule_reden", ""),
                  overrulen=bool((concept or {}).get("overrulen")),
                  al_gestart=al_gestart)


@router.get("/trajecten/nieuw", response_class=HTMLResponse)
def traject_nieuw(request: Request, g: Wie, client: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  instrument: Annotated[str | None, Query(max_length=50)] = None,
                  planstap: Annotated[str | None, Query(max_length=20)] = None,
                  concept: Annotated[str | None, Query(max_length=64)] = None):
    if client is None:
        flash(request, "Kies eerst een cliënt; start daar een traject.", "fout")
        return terug("/clienten")
    instrument, planstap = _tekst(instrument) or None, _tekst(planstap) or None
    if concept is None:
        return _pagina(request, g, client, instrument, planstap, nieuw_token())
    token = _token(concept)
    a = idempotentie.lees(request.app.state.engine, g.actor, CONCEPT + token) if token else None
    if a is None or a.antwoord.get("client_id") != client:
        return _pagina(request, g, client, instrument, planstap, nieuw_token(),
                       melding="Dit concept is verlopen of niet gevonden; vul de feiten opnieuw in.")
    return _pagina(request, g, client, instrument, planstap, token, a.antwoord)


@router.post("/trajecten/nieuw", response_class=HTMLResponse)
async def traject_nieuw_post(request: Request, g: Wie):
    form = await request.form()
    try:
        client_id = int(_tekst(form.get("client_id") or ""))
        if not 1 <= client_id <= MAX_ID:
            raise ValueError
    except ValueError:
        raise NietGevonden("cliënt bestaat niet") from None
    eng = request.app.state.engine
    await run_in_threadpool(data.check_client, eng, g, client_id)  # another area's client: 404 before anything
    instrument = _tekst(form.get("instrument") or "")[:50]
    if not instrument:
        return terug(f"/trajecten/nieuw?client={client_id}")
    concept = {"client_id": client_id, "instrument": instrument,
               "planstap": _tekst(form.get("planstap") or "")[:20] or None,
               "waarden": {k[5:]: _tekst(v)[:200] for k, v in form.items() if k.startswith("feit_") and isinstance(v, str)},
               "overrulen": bool(form.get("overrulen")), "overrule_reden": _tekst(form.get("overrule_reden") or "")[:500]}
    token = _token(form.get("formulier"))
    if _tekst(form.get("actie") or "controleer") == "start" and token is not None:
        return await _start(request, g, token, concept)
    if token is None or await run_in_threadpool(idempotentie.lees, eng, g.actor, START + token) is not None:
        token = nieuw_token()  # no token (an old form), or its start is done: this is a new form
        if _tekst(form.get("actie")) == "start":
            concept["fout"] = VEROUDERD
    return await _naar_concept(request, g, token, concept)


async def _naar_concept(request: Request, g: Gebruiker, token: str, concept: dict):
    await run_in_threadpool(idempotentie.vervang, request.app.state.engine, g.actor, CONCEPT + token, concept)
    return terug(_concept_url(concept, token))


async def _claim(eng, actor: str, sleutel: str, hash_: str):
    """The claim, or the answer of the same start still running (a double click): waits up to ``WACHT_S``."""
    loop = asyncio.get_running_loop()
    einde = loop.time() + WACHT_S
    while True:
        try:
            return await run_in_threadpool(idempotentie.claim, eng, actor, sleutel, hash_)
        except idempotentie.InBehandeling:
            if loop.time() >= einde:
                raise
            await asyncio.sleep(0.1)


async def _start(request: Request, g: Gebruiker, token: str, concept: dict):
    eng = request.app.state.engine
    sleutel = START + token
    try:  # the token stands for one start of this client, instrument and plan step
        c = await _claim(eng, g.actor, sleutel, idempotentie.verzoek_hash(
            {k: concept[k] for k in ("client_id", "instrument", "planstap")}))
    except idempotentie.AnderVerzoek:
        return await _naar_concept(request, g, nieuw_token(), {**concept, "fout": VEROUDERD})
    except idempotentie.InBehandeling:
        return await _naar_concept(request, g, token, {
            **concept, "fout": "Dit traject wordt op dit moment al gestart; kijk zo bij de cliënt of het gelukt is."})
    if isinstance(c, idempotentie.Antwoord):
        tid = c.antwoord["traject_id"]
        flash(request, f"Dit traject was al gestart (traject {tid}); er is niets opnieuw gestart.")
        return terug(f"/trajecten/{tid}")
    link = None
    try:
        res = await run_in_threadpool(_doe_start, eng, g, c, concept)
    except NietGevonden:
        await run_in_threadpool(idempotentie.geef_vrij, eng, c)
        raise
    except (TrajectFout, OverflowError, ValueError) as exc:
        await run_in_threadpool(idempotentie.geef_vrij, eng, c)
        if isinstance(exc, AlLopend):
            fout, link = f"Niet gestart — {exc}", _naar_lopend(exc)
        elif isinstance(exc, OngeldigeInvoer):
            fout = f"Niet gestart — {exc.veld}: {exc.reden}"
        elif isinstance(exc, TrajectFout):
            fout = f"Niet gestart — {exc}"
        else:
            fout = "Niet gestart — een datum of getal ligt buiten het bereik"
        return await _naar_concept(request, g, token, {**concept, "fout": fout, "link": link})
    except BaseException:
        idempotentie.geef_vrij(eng, c)
        raise
    flash(request, f"Traject {res.traject_id} gestart ({res.status}, start {res.start_datum}, "
                   f"{res.stappen} stappen gepland)" + (" — weigering overruled" if res.overruled else ""))
    return terug(f"/trajecten/{res.traject_id}")


def _doe_start(eng, g: Gebruiker, c: idempotentie.Claim, concept: dict):
    """The start and its stored answer, in one transaction."""
    instrument, client_id, planstap = concept["instrument"], concept["client_id"], concept.get("planstap")
    compiled = data.instrument(eng, instrument)
    feiten = data.controleer_feiten(compiled, _feiten(concept))
    logboek.noteer([client_id], f"instrument:{instrument}")
    overrule = concept["overrule_reden"] if concept["overrulen"] else None
    with eng.db.begin() as conn:
        if planstap:  # from a step of the ontwikkelplan: the same start, link recorded
            res = ontwikkelplan.start_traject(eng, client_id, planstap, instrument, feiten, actor=g.actor,
                                              overrule_reden=overrule, mag_overrulen=mag_overrulen(g), conn=conn)
        else:
            res = eng.start(instrument, client_id, feiten, actor=g.actor, overrule_reden=overrule,
                            mag_overrulen=mag_overrulen(g), conn=conn)
        idempotentie.bewaar(eng, c, 303, {"traject_id": res.traject_id}, conn=conn)
    return res
