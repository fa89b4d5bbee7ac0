"""Embedded and distributed mode run the same jobs on the same schedules: every job of the embedded
scheduler (``trajecten.taken.scheduler.JOBS``) has a deployment in ``prefect.yaml`` with the same schedule in
Europe/Amsterdam; a job whose connector is not configured does not run in either mode; and the flows
take their folders from the settings (the shared folder), never from a worker's working directory."""

from __future__ import annotations

import logging
import shutil
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from trajecten.taken import jobs, rooster, scheduler
from trajecten.basis.config import load_settings
from trajecten.basis.tijd import TZ

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "prefect.yaml"
ZGW_AAN = dict(zgw_zaken_url="http://zrc.example/zaken/api/v1", zgw_client_id="a", zgw_secret="b",
               zgw_rsin="123456782")


@pytest.fixture
def defaults(monkeypatch, tmp_path):
    """The settings' defaults: no TRAJECTEN_* variable of the environment leaks in."""
    import os

    for k in list(os.environ):
        if k.startswith("TRAJECTEN_"):
            monkeypatch.delenv(k)
    return load_settings(database_url=f"sqlite:///{tmp_path / 'e.db'}")


def _deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]}


def _als(settings):
    return SimpleNamespace(settings=settings)  # what a job spec reads of the engine


def test_prefect_yaml_has_every_embedded_job_on_the_same_schedule(defaults):
    assert rooster.verschillen(PREFECT_YAML, defaults) == []
    deps = _deployments()
    assert set(scheduler.JOBS) == set(rooster.TAKEN) == {
        "sweep", "signalen", "uwv_feed", "uitbetalingen_export", "kansen_in_kaart", "anonimiseren",
        "maandrapportage", "meldingen", "zgw"}
    # every job (signalen rides on the sweep deployment) has a deployment, and nothing else is deployed
    assert set(deps) == set(scheduler.JOBS) - {"signalen"}
    for naam, dep in deps.items():
        module, _, fn = dep["entrypoint"].partition(":")
        assert (ROOT / module).is_file() and f"def {fn}(" in (ROOT / module).read_text(), dep["entrypoint"]
        assert all(s["timezone"] == "Europe/Amsterdam" for s in dep["schedules"]), naam

    # independently of rooster's own comparison: the APScheduler trigger of each job against prefect.yaml
    def crons(dep: str, signalen: bool) -> list[str]:
        return [s["cron"] for s in deps[dep]["schedules"]
                if bool((s.get("parameters") or {}).get("signalen")) == signalen]

    for naam, spec in scheduler.JOBS.items():
        trig = spec.trigger(_als(defaults))
        if naam == "sweep":
            assert isinstance(trig, IntervalTrigger) and trig.interval.total_seconds() == 60
            assert crons("sweep", False) == ["* * * * *"]
            continue
        (cron,) = crons("sweep", True) if naam == "signalen" else crons(naam, False)
        assert str(CronTrigger.from_crontab(cron, timezone=TZ)) == str(trig), naam


def test_the_reviewers_findings_are_fixed(defaults):
    deps = _deployments()
    assert deps["anonimiseren"]["entrypoint"] == "flows/anonimiseren.py:anonimiseren"
    assert deps["anonimiseren"]["schedules"] == [{"cron": "15 2 * * *", "timezone": "Europe/Amsterdam"}]
    assert deps["meldingen"]["schedules"] == [{"cron": defaults.schema_meldingen, "timezone": "Europe/Amsterdam"}]
    # no deployment passes a folder: the flows use the settings (TRAJECTEN_GEDEELDE_MAP)
    assert not [d["name"] for d in deps.values() if "map_" in (d.get("parameters") or {})]
    # the sweep's budget leaves a fifth of its interval free, as the embedded sweep does
    assert deps["sweep"]["parameters"]["budget_s"] == defaults.sweep_interval_s * 0.8


def test_a_difference_between_prefect_yaml_and_the_schedule_is_named(defaults, tmp_path):
    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    data["deployments"] = [d for d in data["deployments"] if d["name"] != "anonimiseren"]
    for d in data["deployments"]:
        if d["name"] == "meldingen":
            d["schedules"] = [{"cron": "0 7 * * *", "timezone": "Europe/Amsterdam"},
                              {"cron": "*/15 8-18 * * *", "timezone": "Europe/Amsterdam"}]
    kopie = tmp_path / "prefect.yaml"
    kopie.write_text(yaml.safe_dump(data), encoding="utf-8")
    diff = rooster.verschillen(kopie, defaults)
    assert len(diff) == 2 and any("anonimiseren ontbreekt" in d for d in diff) and any("meldingen:" in d for d in diff)
    # a changed setting without a changed prefect.yaml is a difference too
    assert rooster.verschillen(PREFECT_YAML, load_settings(schema_zgw="*/5 * * * *")) == [
        "deployment zgw: prefect.yaml [('*/10 * * * *', 'Europe/Amsterdam', ())] maar rooster "
        "[('*/5 * * * *', 'Europe/Amsterdam', ())]"]


@pytest.mark.parametrize("naam,aan", [
    ("meldingen", {"smtp_host": "mail.example"}),
    ("zgw", ZGW_AAN),
    ("uwv_feed", {"uwv_feed_url": "https://feed.example/uwv"}),
    ("uwv_feed", {"uwv_feed_map": "inkomend/uwv"}),
])
def test_embedded_and_distributed_use_the_same_configured_predicate(defaults, naam, aan):
    uit, ingesteld = defaults, load_settings(**aan)
    assert not scheduler.JOBS[naam].enabled(_als(uit)) and rooster.uit(naam, uit) is not None
    assert scheduler.JOBS[naam].enabled(_als(ingesteld)) and rooster.uit(naam, ingesteld) is None


@pytest.mark.parametrize("module,naam,nodig", [
    ("flows.meldingen", "meldingen", "TRAJECTEN_SMTP_HOST"),
    ("flows.zgw", "zgw", "TRAJECTEN_ZGW_ZAKEN_URL"),
    ("flows.uwv_feed", "uwv_feed", "TRAJECTEN_UWV_FEED_MAP of TRAJECTEN_UWV_FEED_URL"),
])
def test_an_unconfigured_flow_returns_at_once_without_opening_the_engine(defaults, monkeypatch, caplog,
                                                                        module, naam, nodig):
    import importlib

    mod = importlib.import_module(module)

    def geen_engine():
        raise AssertionError("the engine was opened")

    monkeypatch.setattr(mod, "engine", geen_engine)
    caplog.set_level(logging.INFO)
    out = getattr(mod, naam).fn()  # the flow's own function, without a Prefect run
    assert out == {"actief": False, "status": "niet geconfigureerd", "nodig": nodig}
    # no noisy log (the once-per-process development-key warning of the settings aside)
    assert [r for r in caplog.records if r.levelno >= logging.INFO and r.name != "trajecten.basis.omgeving"
            and r.name.startswith(("trajecten", "prefect", "flows"))] == []


class _NepFeed:
    """Stands in for the feed connector: records what the job asked for."""

    def __init__(self):
        self.mappen: list[Path] = []
        self.http = 0

    def verwerk_map(self, engine, map_):
        self.mappen.append(Path(map_))
        return {"bestanden": 1, "resultaten": [{"ontvangen": 2, "geaccepteerd": 2, "gestart": 1, "gepland": 1,
                                                 "dubbel": 0, "quarantaine": 0}]}

    def haal_op_volgens_instellingen(self, engine):
        self.http += 1
        return {"paginas": 3, "ontvangen": 5, "geaccepteerd": 4, "gestart": 4, "gepland": 0, "dubbel": 0,
                "quarantaine": 1}


def test_the_feed_job_reads_the_shared_folder_and_pulls_the_http_feed(monkeypatch, tmp_path):
    from flows import uwv_feed as feed_flow
    from trajecten.beheer import koppelingen

    nep = _NepFeed()
    monkeypatch.setattr(koppelingen, "uwv_feed", lambda settings: nep)
    monkeypatch.chdir(tmp_path)  # a worker's working directory: nothing may land here
    gedeeld = tmp_path / "gedeeld"
    eng = _als(load_settings(gedeelde_map=str(gedeeld), uwv_feed_map="inkomend/uwv",
                             uwv_feed_url="https://feed.example/uwv"))
    out = scheduler.JOBS["uwv_feed"].fn(eng)  # the embedded job
    assert nep.mappen == [gedeeld / "inkomend" / "uwv"] and nep.http == 1
    assert set(out) == {"map", "http"}
    # the flow runs the same job and adds up the folder's files and the HTTP pages
    monkeypatch.setattr(feed_flow, "import_feed", lambda map_: jobs.uwv_feed(eng, map_))
    monkeypatch.setattr(feed_flow, "publish", lambda *a: None)
    monkeypatch.setattr(feed_flow, "get_run_logger", lambda: logging.getLogger("test"))
    monkeypatch.setenv("TRAJECTEN_UWV_FEED_URL", "https://feed.example/uwv")
    got = feed_flow.uwv_feed.fn()
    assert nep.mappen[-1] == gedeeld / "inkomend" / "uwv" and nep.http == 2
    assert got["totalen"] == {"bestanden": 1, "paginas": 3, "ontvangen": 7, "geaccepteerd": 6, "gestart": 5,
                              "gepland": 1, "dubbel": 0, "quarantaine": 1}
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory (the fake wrote nothing either)


def test_payment_files_and_reports_go_to_the_shared_folder_not_the_working_directory(monkeypatch, tmp_path, clock):
    from tests.conftest import open_engine
    from trajecten.geld import uitbetalingen

    werkmap, gedeeld = tmp_path / "worker", tmp_path / "gedeeld"
    werkmap.mkdir()
    url = f"sqlite:///{tmp_path / 'e.db'}"
    monkeypatch.setenv("TRAJECTEN_GEDEELDE_MAP", str(gedeeld))
    eng = open_engine(url, clock)
    try:
        monkeypatch.chdir(werkmap)
        assert eng.settings.betalingen_map == gedeeld / "export" / "betalingen"
        nep = SimpleNamespace(batch_id=7, bericht_id="TRJ-20260105-7", xml=b"<Document/>", aantal=1,
                              totaal=Decimal("250.00"), overgeslagen=[])
        monkeypatch.setattr(uitbetalingen, "exporteer", lambda engine, door: nep)
        assert rooster.TAKEN["uitbetalingen_export"].fn(eng)["bestand"] == "TRJ-20260105-7.xml"
        assert (gedeeld / "export" / "betalingen" / "TRJ-20260105-7.xml").read_bytes() == b"<Document/>"
        out = rooster.TAKEN["maandrapportage"].fn(eng)
        assert (gedeeld / "export" / "rapportage" / f"maandrapportage-{out['jaar']}-{out['maand']:02d}.csv").is_file()
        assert list(werkmap.iterdir()) == []
        # an absolute folder is used as given; a relative one lies in the shared folder
        assert eng.settings.pad("elders") == gedeeld / "elders"
        assert eng.settings.pad(tmp_path / "abs") == tmp_path / "abs"
    finally:
        eng.db.dispose()
        shutil.rmtree(gedeeld, ignore_errors=True)


def test_the_flows_use_the_settings_folders(monkeypatch, tmp_path):
    from contextlib import contextmanager

    from flows import maandrapportage as rapport_flow
    from flows import uitbetalingen_export as export_flow

    eng = _als(load_settings(gedeelde_map=str(tmp_path / "gedeeld")))
    gevraagd = []

    @contextmanager
    def nep_engine():
        yield eng

    monkeypatch.setattr(export_flow, "engine", nep_engine)
    monkeypatch.setattr(rapport_flow, "engine", nep_engine)
    monkeypatch.setattr(jobs, "uitbetalingen_export", lambda e, map_=None: gevraagd.append(map_) or {})
    monkeypatch.setattr(jobs, "maandrapportage", lambda e, j, m, map_: gevraagd.append(map_) or {})
    export_flow.export.fn(None)
    rapport_flow.figures.fn(None, None, None)
    export_flow.export.fn("handmatig")
    assert gevraagd == [None, tmp_path / "gedeeld" / "export" / "rapportage", tmp_path / "gedeeld" / "handmatig"]
    # None: jobs.uitbetalingen_export takes the settings' folder itself
    import inspect

    assert inspect.signature(jobs.uitbetalingen_export).parameters["map_"].default is None


def test_the_embedded_sweep_budget_follows_its_interval(monkeypatch, defaults):
    seen = {}
    monkeypatch.setattr(jobs, "sweep", lambda e, budget_s=None, batch_size=None: seen.setdefault("b", budget_s) or {})
    scheduler.JOBS["sweep"].fn(_als(defaults))
    assert seen["b"] == 48 and isinstance(scheduler.JOBS["sweep"].trigger(_als(defaults)), IntervalTrigger)
    # the deployment's budget is the same 80 % of the interval
    (sweep,) = [d for d in yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"] if d["name"] == "sweep"]
    assert sweep["parameters"]["budget_s"] == 48
    assert {s["parameters"]["budget_s"] for s in sweep["schedules"] if s.get("parameters")} == {48}
    assert str(scheduler.JOBS["zgw"].trigger(_als(defaults)).timezone) == "Europe/Amsterdam"
