"""Firing one due step: what each kind of step does (reminder, notification, task, decision, payout,
end), and the rows that follow it (follow-up steps, the next occurrence of a repeat, events). Pure
apart from the batch's look-ups: the sweep (``kern/sweep.py``) writes what this returns."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from trajecten.basis.fouten import DubbeleUitbetaling
from trajecten.kern.batch import BatchData
from trajecten.kern.motor import Motor
from trajecten.kern.definitie import Stap, StapSoort
from trajecten.kern.einde import einde
from trajecten.kern.planner import anchor_date
from trajecten.opslag.bulk import jsonable
from trajecten.opslag.models import StapStatus


SWEEP_ACTOR = "systeem:sweep"
# Plain-str copies of the enum values the per-step code uses (Enum.value is a descriptor call, and the
# hot path reads these several times per fired step).
GEPLAND, UITGEVOERD = StapStatus.gepland.value, StapStatus.uitgevoerd.value


class Uitkomst:
    """What firing one step produces; merged into the batch only when the step succeeded."""

    __slots__ = ("status", "uitkomst", "reden", "bericht", "events", "steps", "tasks", "payouts", "traject", "end")

    def __init__(self):
        self.status = UITGEVOERD
        self.uitkomst: str | None = None
        self.reden: str | None = None
        self.bericht: str | None = None  # herinnering / melding: the type of the step's event
        self.events: list[dict] = []
        self.steps: list[dict] = []
        self.tasks: list[dict] = []
        self.payouts: list[dict] = []
        self.traject: dict | None = None
        self.end = False


def fire_one(engine: Motor, compiled, step: Stap, r, now: datetime, data: BatchData) -> Uitkomst:
    """Fire step ``step`` of claimed row ``r``: what it produces (merged into the batch only if it succeeds)."""
    out = Uitkomst()
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
        out.events.append(event_row(r, "besluit", now, besluit.to_json(), regel=step.regel, versie=besluit.versie))
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
            out.events.append(event_row(r, "uitbetaling_voorgesteld", now,
                                     {"deel": b.deel, "bedrag": f"{Decimal(b.bedrag):.2f}", "onderwerp": onderwerp,
                                      "besluit": besluit.to_json()},
                                     regel=step.regel, versie=besluit.versie))
        elif houder is not None:  # this trajectory's own payout, proposed before (a replayed step)
            out.uitkomst = "voorgesteld"
        else:
            out.uitkomst = "vervallen"
            out.events.append(event_row(r, "uitbetaling_vervallen", now, {"deel": step.deel, "besluit": besluit.to_json()},
                                     regel=step.regel, versie=besluit.versie))
    elif kind is StapSoort.end:
        current = data.uitkomst.get(r.traject_id)
        uitkomst = current or step.uitkomst or compiled.definitie.uitkomsten[-1]
        out.uitkomst = uitkomst
        out.traject = einde(uitkomst, due_day)
        out.end = True
        out.events.append(event_row(r, "traject_beeindigd", now, {"uitkomst": uitkomst, "stap": step.key}))
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


def step_row(traject_id: int, step: Stap, due: datetime, volgnr: int) -> dict:
    return {"traject_id": traject_id, "stap": step.key, "volgnr": volgnr, "kind": step.kind.value, "due_at": due,
            "status": GEPLAND, "pogingen": 0}


def event_row(r, type_: str, now: datetime, payload: dict, regel: str | None = None, versie: str | None = None) -> dict:
    return {"traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id, "type": type_,
            "actor": SWEEP_ACTOR, "op": now, "datum": None, "payload": jsonable(payload), "regel": regel,
            "regel_versie": versie}
