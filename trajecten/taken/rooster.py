"""The schedule: every scheduled job, what it runs, when (from the settings) and whether it is configured.

One table for both triggers. The embedded scheduler (``trajecten/taken/scheduler.py``, APScheduler) builds its
jobs from it; the Prefect flows (``flows/*.py``) ask it whether their job is configured; and
:func:`verschillen` compares ``prefect.yaml`` with it (``tests/test_pariteit.py`` does that for the
defaults: a job or a schedule that differs between the two modes fails there). A schedule is a crontab
in Europe/Amsterdam, or an interval in seconds (the sweep).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trajecten.taken import jobs
from trajecten.basis.config import Settings

TIJDZONE = "Europe/Amsterdam"
Schema = str | int  # crontab (Europe/Amsterdam) or seconds between runs


def _sweep(engine) -> dict:
    # the sweep stops taking new batches after 80 % of its interval: the next run is not kept waiting
    return jobs.sweep(engine, budget_s=max(engine.settings.sweep_interval_s * 0.8, 1))


@dataclass(frozen=True)
class Taak:
    naam: str
    fn: Callable[..., dict]  # takes the engine; counts only (no personal data)
    schema: Callable[[Settings], Schema]
    nodig: tuple[str, ...] = ()  # settings of which one must be set for the job to run (empty: always runs)
    deployment: str = ""  # the Prefect deployment that runs it (default: its own name)
    parameters: dict = field(default_factory=dict)  # that deployment's schedule parameters for this job

    def actief(self, settings: Settings) -> bool:
        return not self.nodig or any(getattr(settings, n) for n in self.nodig)

    def niet_geconfigureerd(self) -> dict:
        """What a job whose connector is not configured returns, at once, instead of running."""
        return {"actief": False, "status": "niet geconfigureerd",
                "nodig": " of ".join(f"TRAJECTEN_{n.upper()}" for n in self.nodig)}


TAKEN: dict[str, Taak] = {t.naam: t for t in (
    Taak("sweep", _sweep, lambda s: s.sweep_interval_s),
    Taak("signalen", jobs.signalen, lambda s: s.schema_signalen, deployment="sweep",
         parameters={"signalen": True}),
    Taak("uwv_feed", jobs.uwv_feed, lambda s: s.schema_feed, nodig=("uwv_feed_map", "uwv_feed_url")),
    Taak("uitbetalingen_export", jobs.uitbetalingen_export, lambda s: s.schema_export),
    Taak("kansen_in_kaart", jobs.kansen_in_kaart, lambda s: s.schema_kansen_in_kaart),
    Taak("anonimiseren", jobs.anonimiseren, lambda s: s.schema_anonimiseer),
    Taak("maandrapportage", lambda e: jobs.maandrapportage(e, map_=e.settings.rapportage_map),
         lambda s: s.schema_rapportage),
    Taak("meldingen", jobs.meldingen, lambda s: s.schema_meldingen, nodig=("smtp_host",)),
    Taak("zgw", jobs.zgw, lambda s: s.schema_zgw, nodig=("zgw_zaken_url",)),
)}


def uit(naam: str, settings: Settings | None = None) -> dict | None:
    """None when job ``naam`` is configured; else its "niet geconfigureerd" result (for a flow to return)."""
    from trajecten.basis.config import load_settings

    taak = TAKEN[naam]
    return None if taak.actief(settings or load_settings()) else taak.niet_geconfigureerd()


def als_cron(schema: Schema) -> str | None:
    """A schedule as a crontab: an interval that divides an hour evenly (60 s, 300 s, ...) becomes
    ``*/N * * * *``; another interval has no crontab (None)."""
    if isinstance(schema, str):
        return " ".join(schema.split())
    minuten, rest = divmod(schema, 60)
    if rest or not minuten or 60 % minuten:
        return None
    return "* * * * *" if minuten == 1 else f"*/{minuten} * * * *"


def verwacht(settings: Settings) -> dict[str, list[tuple[str | int, str, tuple]]]:
    """Per deployment the schedules ``prefect.yaml`` must have: (crontab or seconds, time zone, the
    schedule's own parameters that pick the job, sorted)."""
    out: dict[str, list] = {}
    for t in TAKEN.values():
        schema = t.schema(settings)
        out.setdefault(t.deployment or t.naam, []).append(
            (als_cron(schema) or schema, TIJDZONE, tuple(sorted(t.parameters.items()))))
    return {k: sorted(v, key=str) for k, v in out.items()}


def in_prefect_yaml(path: Path | str) -> dict[str, list[tuple[str | int, str, tuple]]]:
    """The same view of a ``prefect.yaml``: per deployment its schedules (a schedule's parameters only as
    far as they pick a job, like ``signalen: true``)."""
    import yaml

    kiezers = {k for t in TAKEN.values() for k in t.parameters}
    out: dict[str, list] = {}
    for d in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("deployments") or []:
        rijen = []
        for s in d.get("schedules") or []:
            schema = als_cron(s["cron"]) if "cron" in s else s.get("interval")
            if isinstance(schema, int):
                schema = als_cron(schema) or schema
            params = tuple(sorted((k, v) for k, v in (s.get("parameters") or {}).items() if k in kiezers and v))
            rijen.append((schema, s.get("timezone"), params))
        out[d["name"]] = sorted(rijen, key=str)
    return out


def verschillen(path: Path | str, settings: Settings) -> list[str]:
    """Where ``prefect.yaml`` and the embedded schedule (with these settings) differ; empty: they agree.
    After changing a ``TRAJECTEN_SCHEMA_*`` setting, change ``prefect.yaml`` too and deploy again."""
    want, have = verwacht(settings), in_prefect_yaml(path)
    uit = [f"deployment {naam} ontbreekt in prefect.yaml (schema {want[naam]})" for naam in want if naam not in have]
    uit += [f"deployment {naam} staat in prefect.yaml maar niet in het rooster" for naam in have if naam not in want]
    uit += [f"deployment {naam}: prefect.yaml {have[naam]} maar rooster {want[naam]}"
            for naam in want if naam in have and have[naam] != want[naam]]
    return uit
