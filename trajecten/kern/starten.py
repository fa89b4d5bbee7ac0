"""Starting trajectories: a start request, its result, and the decision on each request of a batch (who
is eligible, who already has a running trajectory, who may be overruled, when it starts). ``Engine.start_many``
writes what is decided here, in one transaction."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa

from trajecten.basis.fouten import AlLopend, NietGevonden, NietToegelaten, OngeldigeInvoer
from trajecten.kern.planner import as_date, shifted
from trajecten.kern.register import Compiled
from trajecten.opslag.db import in_values
from trajecten.opslag.models import Traject, TrajectStatus

T = Traject.__table__


class StartVerzoek(NamedTuple):  # tuples: a feed batch makes tens of thousands
    client_id: int
    feiten: dict[str, Any]
    overrule_reden: str | None = None


class StartResultaat(NamedTuple):
    traject_id: int
    status: str
    start_datum: date
    stappen: int
    besluit: Any  # the eligibility decision (regels.Decision)
    overruled: bool


TWEEDE = object()  # start_many: a second request for one client in a batch (per_client: een_lopend)


def lopende_trajecten(conn, instrument: str, client_ids: set[int]) -> dict[int, int]:
    """Client -> its running trajectory of ``instrument`` (the oldest, should there be more from before
    the one-running rule), for the clients ``client_ids``."""
    if not client_ids:
        return {}
    return dict(conn.execute(sa.select(T.c.client_id, sa.func.min(T.c.id)).where(
        in_values(T.c.client_id, client_ids, conn), T.c.instrument == instrument,
        T.c.status != TrajectStatus.beeindigd.value).group_by(T.c.client_id)).all())


def beslis_starts(engine, compiled: Compiled, verzoeken, typed: dict[int, dict], clients: dict, shared: dict,
                   per_client: dict, today: date, mag_overrulen: bool, results: list,
                   lopend: dict[int, int] | None) -> list[tuple]:
    """Decide each typed request of a batch: its refusal into ``results``, or an entry of the returned
    list (index, facts, decision, overruled, start date, status). ``lopend`` (per_client: een_lopend;
    None for meerdere): client -> the running trajectory of this instrument; a second request for one
    client in one batch is marked ``TWEEDE`` here and refused naming the first one's trajectory."""
    instrument = compiled.definitie.instrument
    todo: list[tuple] = []
    eerste: dict[int, int] = {}  # client -> index of its request accepted in this batch
    for i, facts in typed.items():
        v = verzoeken[i]
        client = clients.get(v.client_id)
        if client is None:
            results[i] = NietGevonden(f"cliënt {v.client_id} bestaat niet")
            continue
        if lopend is not None:
            if v.client_id in lopend:
                results[i] = AlLopend(instrument, lopend[v.client_id])
                continue
            if v.client_id in eerste:
                results[i] = TWEEDE
                continue
        try:
            extra = {**shared, **per_client.get(v.client_id, {})}
            if "gestart_dit_jaar" in shared:  # with those accepted earlier in this batch
                extra["gestart_dit_jaar"] = shared["gestart_dit_jaar"] + len(todo)
            besluit = engine.decide_toegang(compiled, client, facts, today, extra)
        except OngeldigeInvoer as exc:
            results[i] = exc
            continue
        overruled = False
        if not besluit.uitkomst:
            if v.overrule_reden is None:
                results[i] = NietToegelaten(f"{instrument}: niet toegelaten", besluit)
                continue
            if not mag_overrulen:
                results[i] = NietToegelaten(
                    f"{instrument}: niet toegelaten; alleen een teamleider mag overrulen", besluit)
                continue
            if not v.overrule_reden.strip():
                results[i] = OngeldigeInvoer("overrule_reden", "een reden is verplicht bij overrulen")
                continue
            overruled = True
        start = begin_datum(engine, compiled.definitie, today, facts)
        status = TrajectStatus.gepland.value if start > today else TrajectStatus.actief.value
        eerste[v.client_id] = i
        todo.append((i, facts, besluit, overruled, start, status))
    return todo

def begin_datum(engine, defn, today: date, facts: dict) -> date:
    """The start date: today, or the definition's ``begin`` (e.g. WW end date - 6 months), not before today."""
    if defn.begin is None:
        return today
    anchor = today if defn.begin.anchor == "start" else as_date(facts.get(defn.begin.anchor.split(":", 1)[1]))
    if anchor is None:
        return today
    start = shifted(defn.begin.offset, anchor, engine.plan_context.kalender)
    return max(start, today) if defn.begin.niet_eerder_dan_vandaag else start
