"""Production mode (TRAJECTEN_OMGEVING=productie): nothing starts - settings, Engine.open, the CLI, a
flow, the worker health check - while a development default is in place, and the error names the setting
and what to do. Outside production a development key is warned about once per process, never silently."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trajecten.basis import omgeving
from trajecten.basis.config import SettingsError, load_settings
from trajecten.basis.omgeving import LOGBOEK_DEV_SLEUTEL

ROOT = Path(__file__).resolve().parent.parent
EIGEN_SLEUTEL = "een-eigen-geheime-logboeksleutel-van-de-gemeente"


@pytest.fixture
def schoon(monkeypatch):
    """No TRAJECTEN_* variable of the test environment leaks in."""
    for k in list(os.environ):
        if k.startswith("TRAJECTEN_"):
            monkeypatch.delenv(k)
    return monkeypatch


def _productie(tmp_path, **kw) -> dict:
    """Settings that may run in production; ``kw`` spoils one of them."""
    return {"omgeving": "productie", "logboek_sleutel": EIGEN_SLEUTEL, "sepa_debiteur_iban": "NL44RABO0123456789",
            "sepa_debiteur_bic": "RABONL2U", "gedeelde_map": str(tmp_path / "gedeeld"), **kw}


def test_production_refuses_the_development_logboek_key_naming_it(schoon, tmp_path):
    with pytest.raises(SettingsError) as exc:
        load_settings(**_productie(tmp_path, logboek_sleutel=LOGBOEK_DEV_SLEUTEL))
    msg = str(exc.value)
    assert msg.startswith("TRAJECTEN_OMGEVING=productie")
    assert "TRAJECTEN_LOGBOEK_SLEUTEL staat op de ontwikkelsleutel: zet een eigen geheime sleutel" in msg
    assert "secrets.token_urlsafe" in msg  # says how to make one
    assert LOGBOEK_DEV_SLEUTEL not in msg  # and never shows a key


def test_production_starts_with_its_own_settings(schoon, tmp_path):
    s = load_settings(**_productie(tmp_path))
    assert s.omgeving == "productie" and omgeving.productie_fouten(s) == []
    assert s.betalingen_map == tmp_path / "gedeeld" / "export" / "betalingen"


@pytest.mark.parametrize("kw,naam", [
    ({"nu": "2026-03-02T09:00"}, "TRAJECTEN_NU"),
    ({"sepa_debiteur_iban": "NL91ABNA0417164300", "sepa_debiteur_bic": "ABNANL2A"}, "TRAJECTEN_SEPA_DEBITEUR_IBAN"),
    ({"gedeelde_map": None}, "TRAJECTEN_EXPORT_MAP"),  # export/ in whichever worker's working directory
    ({"gedeelde_map": None, "export_map": "/srv/export", "uwv_feed_map": "inkomend"}, "TRAJECTEN_UWV_FEED_MAP"),
    ({"gedeelde_map": "gedeeld"}, "TRAJECTEN_GEDEELDE_MAP"),
])
def test_production_refuses_each_development_default_naming_it(schoon, tmp_path, kw, naam):
    with pytest.raises(SettingsError, match=f"TRAJECTEN_OMGEVING=productie.*{naam}") as exc:
        load_settings(**_productie(tmp_path, **kw))
    assert "TRAJECTEN_LOGBOEK_SLEUTEL" not in str(exc.value)  # only what is wrong is named


def test_production_from_the_environment_stops_engine_open_the_cli_a_flow_and_the_health_check(schoon, tmp_path,
                                                                                                capsys):
    from trajecten.beheer import gezondheid
    from trajecten.cli import app
    from trajecten.kern.engine import Engine

    url = f"sqlite:///{tmp_path / 'e.db'}"
    schoon.setenv("TRAJECTEN_OMGEVING", "productie")
    schoon.setenv("TRAJECTEN_DATABASE_URL", url)
    schoon.setenv("TRAJECTEN_GEDEELDE_MAP", str(tmp_path / "gedeeld"))
    schoon.setenv("TRAJECTEN_SEPA_DEBITEUR_IBAN", "NL44RABO0123456789")
    schoon.setenv("TRAJECTEN_SEPA_DEBITEUR_BIC", "RABONL2U")
    with pytest.raises(SettingsError, match="TRAJECTEN_LOGBOEK_SLEUTEL"):
        Engine.open()
    r = CliRunner().invoke(app, ["sweep"])
    assert r.exit_code == 2 and "TRAJECTEN_LOGBOEK_SLEUTEL" in r.output, r.output
    from flows.sweep import fire_due

    with pytest.raises(SettingsError, match="TRAJECTEN_LOGBOEK_SLEUTEL"):
        fire_due.fn(1.0, None)  # the flow's task opens the engine
    assert gezondheid.main([]) == 2
    assert "TRAJECTEN_LOGBOEK_SLEUTEL" in capsys.readouterr().out
    assert not (tmp_path / "e.db").exists()  # refused before the database was touched
    # with its own key everything starts
    schoon.setenv("TRAJECTEN_LOGBOEK_SLEUTEL", EIGEN_SLEUTEL)
    eng = Engine.open()
    eng.db.dispose()


def test_outside_production_a_development_key_is_warned_about_once(schoon, caplog, monkeypatch):
    monkeypatch.setattr(omgeving, "_gewaarschuwd", set())
    caplog.set_level(logging.WARNING, logger="trajecten.basis.omgeving")
    load_settings()
    load_settings()
    records = [r for r in caplog.records if r.name == "trajecten.basis.omgeving"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "TRAJECTEN_LOGBOEK_SLEUTEL staat op de ontwikkelwaarde" in records[0].getMessage()
    caplog.clear()
    monkeypatch.setattr(omgeving, "_gewaarschuwd", set())
    load_settings(logboek_sleutel=EIGEN_SLEUTEL)
    assert [r for r in caplog.records if r.name == "trajecten.basis.omgeving"] == []


def test_the_cli_warns_on_stderr_when_it_runs_with_the_development_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAJECTEN_")}
    env.update({"TRAJECTEN_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}", "PYTHONPATH": str(ROOT)})
    cp = subprocess.run([sys.executable, "-m", "trajecten.cli", "sweep"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr.count("TRAJECTEN_LOGBOEK_SLEUTEL staat op de ontwikkelwaarde") == 1, cp.stderr
    assert "TRAJECTEN_LOGBOEK_SLEUTEL" not in cp.stdout
    env["TRAJECTEN_LOGBOEK_SLEUTEL"] = EIGEN_SLEUTEL
    cp = subprocess.run([sys.executable, "-m", "trajecten.cli", "sweep"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0 and "TRAJECTEN_LOGBOEK_SLEUTEL" not in cp.stderr, cp.stderr


def test_the_web_server_in_production_needs_a_session_key_and_secure_cookies(schoon, tmp_path):
    s = load_settings(**_productie(tmp_path))
    with pytest.raises(SettingsError, match="TRAJECTEN_SESSIE_SLEUTEL.*TRAJECTEN_COOKIE_SECURE"):
        omgeving.controleer_web(s)
    omgeving.controleer_web(load_settings(**_productie(tmp_path, sessie_sleutel="x" * 40, cookie_secure=True)))
    omgeving.controleer_web(load_settings())  # development: a random session key is fine


def test_serve_refuses_the_demo_and_a_web_server_without_session_key_in_production(schoon, tmp_path):
    """``serve --demo`` creates users with known passwords; ``serve``/``web`` need the web server's settings."""
    from trajecten.cli import app

    for k, v in {"OMGEVING": "productie", "LOGBOEK_SLEUTEL": EIGEN_SLEUTEL, "GEDEELDE_MAP": str(tmp_path / "g"),
                 "SEPA_DEBITEUR_IBAN": "NL44RABO0123456789", "SEPA_DEBITEUR_BIC": "RABONL2U"}.items():
        schoon.setenv(f"TRAJECTEN_{k}", v)
    db = tmp_path / "demo.db"
    for argv in (["serve", "--db", str(db)], ["--database-url", f"sqlite:///{db}", "web"]):
        r = CliRunner().invoke(app, argv)
        assert r.exit_code == 2 and "TRAJECTEN_SESSIE_SLEUTEL" in r.output, r.output
    schoon.setenv("TRAJECTEN_SESSIE_SLEUTEL", "s" * 40)
    schoon.setenv("TRAJECTEN_COOKIE_SECURE", "true")
    r = CliRunner().invoke(app, ["serve", "--demo", "--db", str(db)])
    assert r.exit_code == 2 and "--demo" in r.output and "productie" in r.output, r.output
    assert not db.exists()  # refused before a demo database was made
