"""What the operator sets up once per Prefect server (docs/deploy-herstel.md): the automation that marks a
flow run whose worker died as Crashed (its concurrency slot comes free), and the one that alerts on failed
or crashed runs. Also the environment every worker needs for it.

    python -m flows.automatiseringen herstel [--binnen 90]
    python -m flows.automatiseringen alert --webhook https://alerts.example/hook

Prefect is imported inside the functions. ``WORKER_ENV`` (the heartbeats) lives in ``trajecten.beheer.cluster_omgeving``.
"""

from __future__ import annotations

import argparse
import sys
from uuid import UUID

from trajecten.beheer.cluster_omgeving import HEARTBEAT_S
HERSTEL_NAAM = "trajecten: vastgelopen flow run wordt Crashed"
ALERT_NAAM = "trajecten: melding bij mislukte of gecrashte flow run"
ALERT_BLOK = "trajecten-alert"
# A heartbeat, or the run's end, must follow every heartbeat. Not "Cancelling": a run whose worker died
# and that someone then cancels must still become final.
_NA_HARTSLAG = ("prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed")


def _opslaan_automatisering(automation) -> UUID:
    """Create ``automation``, or replace the one(s) with its name: running it twice gives one automation."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        bestaand = client.read_automations_by_name(automation.name)
        if not bestaand:
            return client.create_automation(automation)
        for oud in bestaand[1:]:
            client.delete_automation(oud.id)
        client.update_automation(bestaand[0].id, automation)
        return bestaand[0].id


def herstelautomatisering(within_s: float = 3 * HEARTBEAT_S, *, name: str = HERSTEL_NAAM) -> UUID:
    """Create (or update) the server automation that marks a flow run **Crashed** when its heartbeats
    stop: no heartbeat and no final state within ``within_s`` seconds after a heartbeat. Going to Crashed
    releases the run's deployment concurrency slot (``ReleaseFlowConcurrencySlots``), so the schedule
    goes on without a person. Needs ``WORKER_ENV`` on every worker; runs without heartbeats (no setting)
    are never touched. ``within_s`` must stay below 300 s: after that the run's concurrency lease has
    expired and Prefect 3.8 would release its slot a second time when the run turns Crashed.
    Returns the automation's id; safe to run again (it replaces the automation of the same name)."""
    from datetime import timedelta

    from prefect.automations import AutomationCore, ChangeFlowRunState, EventTrigger, Posture
    from prefect.client.schemas.objects import StateType
    from prefect.events.schemas.events import ResourceSpecification

    if not 2 * HEARTBEAT_S <= within_s < 300:
        raise ValueError(f"within_s={within_s}: kies tussen {2 * HEARTBEAT_S} en 300 s (aanbevolen {3 * HEARTBEAT_S})")
    return _opslaan_automatisering(AutomationCore(
        name=name,
        description=(f"Een flow run zonder hartslag of eindtoestand binnen {within_s:g} s na zijn laatste hartslag "
                     "(werker of machine weg) wordt Crashed; zijn concurrency-slot komt vrij. Zie docs/deploy-herstel.md."),
        trigger=EventTrigger(
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            after={"prefect.flow-run.heartbeat"},
            expect=set(_NA_HARTSLAG),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_s),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED, force=True,
            message=f"Geen hartslag meer binnen {within_s:g} s: werker of machine gestopt (herstelautomatisering).")],
    ))


def alertautomatisering(webhook_url: str | None = None, *, block_document_id: UUID | None = None,
                        states: tuple[str, ...] = ("Failed", "Crashed"), name: str = ALERT_NAAM) -> UUID:
    """Create (or update) the server automation that sends a notification for every flow run that ends
    in one of ``states``. Either ``webhook_url``: a ``Custom Webhook`` block named ``trajecten-alert`` is
    saved that POSTs ``{"subject": ..., "body": ...}`` as JSON there (an alerting system, a mail relay,
    a chat webhook); or ``block_document_id`` of a notification block made beforehand (Slack, Microsoft
    Teams, Mattermost, PagerDuty, Opsgenie, SendGrid e-mail; ``prefect block create ...``). The text holds
    names, the state and ids only: never a state message (it could quote data). Returns the automation's id."""
    from datetime import timedelta

    from prefect.automations import AutomationCore, EventTrigger, Posture, SendNotification
    from prefect.events.schemas.events import ResourceSpecification

    if (webhook_url is None) == (block_document_id is None):
        raise ValueError("geef webhook_url of block_document_id (precies een van beide)")
    if webhook_url is not None:
        from prefect.blocks.notifications import CustomWebhookNotificationBlock

        blok = CustomWebhookNotificationBlock(name=ALERT_BLOK, url=webhook_url,
                                              json_data={"subject": "{{subject}}", "body": "{{body}}"})
        block_document_id = blok.save(ALERT_BLOK, overwrite=True)
    return _opslaan_automatisering(AutomationCore(
        name=name,
        description="Melding (notification block) voor elke flow run die eindigt als " + ", ".join(states),
        trigger=EventTrigger(
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            expect={f"prefect.flow-run.{s}" for s in states},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(seconds=0),
        ),
        actions=[SendNotification(
            block_document_id=block_document_id,
            subject="trajecten: flow run {{ flow_run.state.name }}: {{ flow.name }}/{{ flow_run.name }}",
            body=("Flow run {{ flow_run.name }} ({{ flow_run.id }}) van {{ flow.name }}"
                  "{% if deployment %} (deployment {{ deployment.name }}){% endif %} "
                  "eindigde als {{ flow_run.state.name }} om {{ flow_run.state.timestamp }}."),
        )],
    ))


def main(argv: list[str] | None = None) -> int:
    """Create or replace the automations on the server named by ``PREFECT_API_URL``; prints their ids."""
    parser = argparse.ArgumentParser(prog="python -m flows.automatiseringen", description="Automatiseringen op de Prefect-server: herstel na een "
                                     "weggevallen worker, meldingen bij mislukte of gecrashte flow runs")
    sub = parser.add_subparsers(dest="wat", required=True)
    h = sub.add_parser("herstel", help="een flow run zonder hartslag wordt Crashed (concurrency-slot vrij)")
    h.add_argument("--binnen", type=float, default=3 * HEARTBEAT_S, help="seconden na de laatste hartslag")
    a = sub.add_parser("alert", help="melding bij elke mislukte of gecrashte flow run")
    doel = a.add_mutually_exclusive_group(required=True)
    doel.add_argument("--webhook", help="URL die de melding als JSON {subject, body} ontvangt")
    doel.add_argument("--blok", type=UUID, help="id van een Prefect notification block")
    args = parser.parse_args(argv)
    if args.wat == "herstel":
        print(herstelautomatisering(args.binnen))
    else:
        print(alertautomatisering(args.webhook, block_document_id=args.blok))
    return 0


if __name__ == "__main__":
    sys.exit(main())
