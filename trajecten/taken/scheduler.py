"""The embedded trigger: APScheduler in the same process as the engine (``trajecten serve``).

The same job functions as the Prefect deployments (``trajecten.taken.jobs``), on the same schedules, in
Europe/Amsterdam: both follow the one table in ``trajecten/taken/rooster.py`` (``tests/test_pariteit.py``
compares it with ``prefect.yaml``); a job whose connector is not configured is left out. Jobs are kept
in the engine database (SQLAlchemyJobStore), so a restart resumes: a run missed while the process was
down runs once on start (coalesce, no misfire limit). APScheduler 3 is one process per job store (its
FAQ): this is the single-process mode; several processes use Prefect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from trajecten.taken import rooster
from trajecten.kern.engine import Engine
from trajecten.basis.tijd import TZ

log = logging.getLogger("trajecten.taken.scheduler")
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


def trigger(schema: rooster.Schema):
    """A crontab (Europe/Amsterdam) or an interval in seconds as an APScheduler trigger."""
    if isinstance(schema, int):
        return IntervalTrigger(seconds=schema, timezone=TZ)
    return CronTrigger.from_crontab(schema, timezone=TZ)


def _spec(taak: rooster.Taak) -> JobSpec:
    return JobSpec(taak.fn, lambda e: trigger(taak.schema(e.settings)), lambda e: taak.actief(e.settings))


# the jobs, their schedules and their "configured" predicates come from the one table (trajecten/taken/rooster.py)
# that prefect.yaml is checked against
JOBS: dict[str, JobSpec] = {naam: _spec(taak) for naam, taak in rooster.TAKEN.items()}


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
            sched.add_job("trajecten.taken.scheduler:run", trigger=trigger, args=[name], id=name, name=name,
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
