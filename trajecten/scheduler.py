"""The embedded trigger: APScheduler in the same process as the engine (``trajecten serve``).

The same job functions as the Prefect deployments (``trajecten.jobs``), on the same schedules, in
Europe/Amsterdam. Jobs are kept in the engine database (SQLAlchemyJobStore), so a restart resumes: a
run missed while the process was down runs once on start (coalesce, no misfire limit). APScheduler 3 is
one process per job store (its FAQ): this is the single-process mode; several processes use Prefect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import jobs
from .engine import Engine
from .koppelingen import laad, uwv_feed
from .tijd import TZ

log = logging.getLogger("trajecten.scheduler")
_ENGINE: Engine | None = None  # the process's engine; jobs are stored by name, not by object


def run(name: str) -> dict:
    """Run one job by name (what the job store keeps); its counts go to the log, never personal data."""
    eng = _ENGINE
    if eng is None:  # pragma: no cover - set by start()
        raise RuntimeError("scheduler started without an engine")
    result = JOBS[name].fn(eng)
    log.info("job %s: %s", name, {k: v for k, v in result.items() if not isinstance(v, (list, dict))})
    return result


@dataclass(frozen=True)
class JobSpec:
    fn: Callable[[Engine], dict]
    trigger: Callable[[Engine], object]
    enabled: Callable[[Engine], bool] = lambda eng: True


def _feed(eng: Engine) -> dict:
    """Files that arrived in the feed folder, then (if a URL is set) the pages behind the HTTP cursor."""
    feed = uwv_feed(eng.settings)
    out: dict = {}
    if eng.settings.uwv_feed_map:
        out["map"] = feed.verwerk_map(eng, eng.settings.uwv_feed_map)
    if eng.settings.uwv_feed_url:
        out["http"] = feed.haal_op_volgens_instellingen(eng)
    return out


JOBS: dict[str, JobSpec] = {
    "sweep": JobSpec(lambda e: jobs.sweep(e, budget_s=max(e.settings.sweep_interval_s * 0.8, 1)),
                     lambda e: IntervalTrigger(seconds=e.settings.sweep_interval_s, timezone=TZ)),
    "signalen": JobSpec(jobs.signalen, lambda e: CronTrigger.from_crontab(e.settings.schema_signalen, timezone=TZ)),
    "uwv_feed": JobSpec(_feed, lambda e: CronTrigger.from_crontab(e.settings.schema_feed, timezone=TZ),
                        enabled=lambda e: bool(e.settings.uwv_feed_map or e.settings.uwv_feed_url)),
    "uitbetalingen_export": JobSpec(
        lambda e: jobs.uitbetalingen_export(e, Path(e.settings.export_map) / "betalingen"),
        lambda e: CronTrigger.from_crontab(e.settings.schema_export, timezone=TZ)),
    "kansen_in_kaart": JobSpec(jobs.kansen_in_kaart,
                               lambda e: CronTrigger.from_crontab(e.settings.schema_kansen_in_kaart, timezone=TZ)),
    "anonimiseren": JobSpec(jobs.anonimiseren,
                            lambda e: CronTrigger.from_crontab(e.settings.schema_anonimiseer, timezone=TZ)),
    "maandrapportage": JobSpec(
        lambda e: jobs.maandrapportage(e, map_=Path(e.settings.export_map) / "rapportage"),
        lambda e: CronTrigger.from_crontab(e.settings.schema_rapportage, timezone=TZ)),
    "meldingen": JobSpec(lambda e: laad(e.settings.meldingen_koppeling).meldingen_job(e),
                         lambda e: CronTrigger.from_crontab(e.settings.schema_meldingen, timezone=TZ),
                         enabled=lambda e: bool(e.settings.smtp_host)),
    "zgw": JobSpec(lambda e: laad(e.settings.zgw_koppeling).job(e),
                   lambda e: CronTrigger.from_crontab(e.settings.schema_zgw, timezone=TZ),
                   enabled=lambda e: bool(e.settings.zgw_zaken_url)),
}


def build(engine: Engine) -> BaseScheduler:
    """A scheduler (in a background thread) whose jobs live in the engine database."""
    global _ENGINE
    _ENGINE = engine
    sched = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine.db, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=TZ,
    )
    return sched


def register_jobs(sched: BaseScheduler, engine: Engine) -> list[str]:
    """Add the jobs that are missing or whose schedule changed; keep the others (and their next run)."""
    names = []
    for name, spec in JOBS.items():
        existing = sched.get_job(name)
        if not spec.enabled(engine):
            if existing:
                sched.remove_job(name)
            continue
        trigger = spec.trigger(engine)
        if existing is None or str(existing.trigger) != str(trigger):
            sched.add_job("trajecten.scheduler:run", trigger=trigger, args=[name], id=name, name=name,
                          replace_existing=True)
        names.append(name)
    return names


def start(engine: Engine) -> BaseScheduler:
    """Start in a background thread; existing jobs keep their next run time (a missed run runs once)."""
    sched = build(engine)
    sched.start(paused=True)  # opens the job store so existing jobs can be compared
    register_jobs(sched, engine)
    sched.resume()
    return sched
