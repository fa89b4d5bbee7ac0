"""The engine's scheduled jobs, as plain functions. The embedded scheduler (APScheduler, ``trajecten
serve``) and the Prefect flows (``flows/``) call exactly these: only the trigger differs.

Each returns counts only (no personal data), fit for a log line or a Prefect artifact.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from dateutil.relativedelta import relativedelta

from trajecten.kern.engine import Engine
from trajecten.rapportage.monitoring import STATUSSEN, maandcijfers
from trajecten.clienten.ontwikkeling import bijwerken_uit_trajecten
from trajecten.kern.signalen import signaleer
from trajecten.basis.tijd import local_date


def sweep(engine: Engine, budget_s: float | None = None, batch_size: int | None = None) -> dict:
    out = engine.sweep(budget_s=budget_s, batch_size=batch_size).as_dict()
    # what finished trajectories mean for ontwikkelplan and ontwikkelladder (idempotent)
    from trajecten.privacy.logboek import systeemtaak
    from trajecten.clienten.ontwikkeling import SYSTEEM

    with systeemtaak(engine, SYSTEEM, naam="ontwikkelplan en ladder bijwerken", component="sweep"):
        out["ontwikkeling"] = bijwerken_uit_trajecten(engine).as_dict()
    return out


def kansen_in_kaart(engine: Engine) -> dict:
    """Start Kansen in Kaart for every eligible bijstand client, end it where another trajectory began."""
    from trajecten.taken.kansen import bijwerken

    return bijwerken(engine)


def signalen(engine: Engine) -> dict:
    from trajecten.privacy.logboek import systeemtaak
    from trajecten.kern.signalen import ACTOR

    with systeemtaak(engine, ACTOR, naam="signalen: escalaties en herinneringen", component="signalen"):
        return signaleer(engine).as_dict()


def anonimiseren(engine: Engine) -> dict:
    """Daily: anonymise the clients whose trajectories ended longer ago than the retention period, and
    remove the stored answers of idempotent requests and form drafts older than 24 h (``idempotentie``)."""
    from trajecten.privacy.anonimiseren import anonimiseer
    from trajecten.opslag.idempotentie import opruimen

    return {**anonimiseer(engine).as_dict(), "idempotentie_opgeruimd": opruimen(engine)}


def uitbetalingen_export(engine: Engine, map_: Path | str | None = None, door: str = "systeem:export") -> dict:
    """Export approved payouts to one pain.001 file in ``map_`` (named after the batch); default: the
    settings' folder (``<TRAJECTEN_EXPORT_MAP>/betalingen``, inside TRAJECTEN_GEDEELDE_MAP when set)."""
    from trajecten.geld import uitbetalingen

    map_ = engine.settings.betalingen_map if map_ is None else map_
    res = uitbetalingen.exporteer(engine, door=door)
    out = {"batch": res.batch_id, "aantal": res.aantal, "totaal": f"{res.totaal:.2f}",
           "niet_geexporteerd": len(res.overgeslagen)}
    if res.batch_id is not None:
        folder = Path(map_)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{res.bericht_id}.xml"
        path.write_bytes(res.xml)
        out["bestand"] = path.name
    return out


def uwv_feed(engine: Engine, map_: Path | str | None = None) -> dict:
    """The files that arrived in the feed folder (``map_``, default TRAJECTEN_UWV_FEED_MAP), then, when
    TRAJECTEN_UWV_FEED_URL is set, the pages behind the HTTP cursor. ``{"map": ..., "http": ...}``, each
    part only when configured."""
    from trajecten.beheer.koppelingen import uwv_feed as connector

    s = engine.settings
    feed = connector(s)
    folder = s.pad(map_) if map_ is not None else s.feed_map
    out: dict = {}
    if folder is not None:
        out["map"] = feed.verwerk_map(engine, folder)
    if s.uwv_feed_url:
        out["http"] = feed.haal_op_volgens_instellingen(engine)
    return out


def meldingen(engine: Engine) -> dict:
    """Mail reminders and escalations (connector named by TRAJECTEN_MELDINGEN_KOPPELING)."""
    from trajecten.beheer.koppelingen import laad

    return laad(engine.settings.meldingen_koppeling).meldingen_job(engine)


def zgw(engine: Engine) -> dict:
    """Register trajectories as zaken from the outbox (connector named by TRAJECTEN_ZGW_KOPPELING)."""
    from trajecten.beheer.koppelingen import laad

    return laad(engine.settings.zgw_koppeling).job(engine)


def gezondheid(engine: Engine) -> dict:
    """Readiness of this engine's database, for a monitoring probe or a worker's start check: the same
    dict as ``GET /ready`` (``trajecten.beheer.gezondheid.gereedheid``); ``["gereed"]`` says whether it is ready."""
    from trajecten.beheer.gezondheid import gereedheid

    return gereedheid(engine.db, engine.clock.now())


def maandrapportage(engine: Engine, jaar: int | None = None, maand: int | None = None,
                    map_: Path | str | None = None) -> dict:
    """Figures of a month (default: the previous one) per instrument; CSV/JSON in ``map_`` if given."""
    if jaar is None or maand is None:
        prev = local_date(engine.clock.now()) - relativedelta(months=1)
        jaar, maand = prev.year, prev.month
    rows = [m.as_dict() for m in maandcijfers(engine, jaar, maand)]
    out = {"jaar": jaar, "maand": maand, "instrumenten": rows}
    if map_ is not None:
        folder = Path(map_)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"maandrapportage-{jaar}-{maand:02d}"
        stem.with_suffix(".json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
        stem.with_suffix(".csv").write_text(cijfers_csv(rows), encoding="utf-8")
        # the report for policy staff: report.html (charts) and report.csv, herinstroom included
        from trajecten.rapportage.maandrapport import schrijf

        rapport = schrijf(engine, jaar, maand, folder / stem.name)
        out["rapport"] = stem.name
        out["herinstroom"] = {f"{h.maanden}m": {"uitgestroomd": h.uitgestroomd, "terug": h.terug}
                              for h in rapport.herinstroom}
    return out


def cijfers_csv(rows: list[dict]) -> str:
    cols = ["instrument", "jaar", "maand", "gestart", "actief_einde_maand", "afgerond", "gestart_dit_jaar",
            "jaardoel", "afgerond_dit_jaar", "succes_dit_jaar", "succes_pct", "succes_doel_pct"]
    cols += [f"{k}_{s}" for s in STATUSSEN for k in ("uitbetalingen", "bedrag")]  # monitoring.geldcijfers
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols + ["uitkomsten"], extrasaction="ignore", delimiter=";")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "uitkomsten": ", ".join(f"{k}={v}" for k, v in sorted(r["uitkomsten"].items()))})
    return buf.getvalue()
