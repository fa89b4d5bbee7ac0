"""Is the engine ready to work: the database answers, its schema is at this code's newest migration, and
how far the sweep is behind. Counts and revision names only, never personal data.

Used by ``GET /ready`` (``trajecten/web/_gezondheid.py``), by ``trajecten.taken.jobs.gezondheid(engine)`` and,
without opening (or migrating) an engine, from a shell: a systemd ``ExecStartPre=`` of a worker or a
monitoring probe runs ``python -m trajecten.beheer.gezondheid`` (exit 0: ready; 1: not ready; the readiness as
JSON on stdout). ``--migreer`` first brings the schema to the newest migration, as ``Engine.open`` would.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import sqlalchemy as sa

from trajecten.opslag.migreren import alle_revisies, database_revisies, nieuwste_revisies
from trajecten.opslag.models import GeplandeStap, StapStatus

S = GeplandeStap.__table__
_GEPLAND = StapStatus.gepland.value


def achterstand(conn, now: datetime) -> tuple[int, float]:
    """Due steps the sweep has not fired yet (as the sweep claims them: planned, due, not waiting for a
    retry) and the age in seconds of the oldest (0 without backlog)."""
    # 'gepland' as a literal: the partial index ix_stap_due applies (see kern/sweep._claim)
    due = (S.c.status == sa.literal_column(f"'{_GEPLAND}'"), S.c.due_at <= now,
           sa.or_(S.c.volgende_poging_op.is_(None), S.c.volgende_poging_op <= now))
    aantal, oudste = conn.execute(sa.select(sa.func.count(), sa.func.min(S.c.due_at)).where(*due)).one()
    if not aantal or oudste is None:
        return 0, 0.0
    if oudste.tzinfo is None:  # stored as UTC
        oudste = oudste.replace(tzinfo=timezone.utc)
    return int(aantal), round(max((now - oudste).total_seconds(), 0.0), 1)


def gereedheid(db: sa.Engine, now: datetime) -> dict:
    """``{"gereed": bool, "database": "ok"|..., "schema": {...}, "achterstand": {...}}``. Ready: the
    database answers and its revision is this code's newest migration. The backlog is reported, not judged
    (alert on it with ``/metrics``)."""
    out: dict = {"gereed": False, "database": "ok", "schema": None, "achterstand": None}
    from trajecten.opslag.db import reader

    nieuwste = nieuwste_revisies()
    try:
        with reader(db).connect() as conn:  # on SQLite: without taking the write lock
            conn.execute(sa.text("SELECT 1"))
            huidig = database_revisies(conn)
            schema = {"database": list(huidig), "nieuwste": list(nieuwste), "actueel": huidig == nieuwste}
            out["schema"] = schema
            if schema["actueel"]:
                aantal, oudste_s = achterstand(conn, now)
                out["achterstand"] = {"stappen": aantal, "oudste_s": oudste_s}
    except sa.exc.SQLAlchemyError as exc:
        # the type only: a driver's message may name the host, the user or the database
        out["database"] = f"onbereikbaar ({type(getattr(exc, 'orig', None) or exc).__name__})"
        return out
    if not out["schema"]["actueel"]:
        onbekend = set(out["schema"]["database"]) - set(alle_revisies())
        out["schema"]["reden"] = ("de database heeft een nieuwere migratie dan deze code: werk de code bij" if onbekend
                                  else "de database loopt achter: migreer met 'trajecten db migreer' "
                                       "(docs/deploy.md, bijwerken)")
    out["gereed"] = bool(out["schema"]["actueel"])
    return out


def main(argv: list[str] | None = None) -> int:
    """The shell check: readiness of the database in the settings (TRAJECTEN_DATABASE_URL), as JSON; exit
    code 0 when ready. ``--migreer``: migrate first. The settings are checked like at any start (in
    production a development default stops here, naming the setting: exit code 2)."""
    from trajecten.basis.config import SettingsError, load_settings
    from trajecten.opslag.db import make_engine, migrate
    from trajecten.basis.tijd import SystemClock

    args = sys.argv[1:] if argv is None else argv
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(json.dumps({"gereed": False, "instellingen": str(exc)}, ensure_ascii=False))
        return 2
    # a probe must answer: give up connecting to an unreachable server after 5 s
    db = make_engine(settings.database_url, **({"connect_args": {"connect_timeout": 5}}
                                               if settings.database_url.startswith("postgresql") else {}))
    try:
        if "--migreer" in args:
            migrate(db)
        now = settings.nu or SystemClock().now()
        out = gereedheid(db, now)
    finally:
        db.dispose()
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["gereed"] else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
