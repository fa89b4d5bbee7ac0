"""Settings: one documented object; a wrong setting fails at start naming it."""

import pytest

from trajecten.basis.config import SettingsError, load_settings, settings_doc
from pathlib import Path


@pytest.mark.parametrize("env,value", [
    ("TRAJECTEN_DATABASE_URL", "mysql://x"),
    ("TRAJECTEN_BATCH_SIZE", "0"),
    ("TRAJECTEN_SEPA_DEBITEUR_IBAN", "NL00ABNA0000000000"),
    ("TRAJECTEN_SCHEMA_EXPORT", "elke dag"),
    ("TRAJECTEN_UWV_FEED_URL", "ftp://uwv"),
])
def test_wrong_setting_fails_naming_it(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=env):
        load_settings()


def test_settings_doc_is_current():
    doc = Path(__file__).resolve().parent.parent / "docs" / "instellingen.md"
    assert doc.read_text(encoding="utf-8") == settings_doc(), "regenerate: trajecten instellingen --markdown"


def test_fixed_clock_from_settings(monkeypatch, tmp_path):
    from datetime import datetime

    from trajecten.kern.engine import Engine
    from trajecten.basis.tijd import TZ

    url = f"sqlite:///{tmp_path / 'e.db'}"
    eng = Engine.open(url, settings=load_settings(database_url=url, nu="2026-03-02T09:30"))
    assert eng.clock.now() == datetime(2026, 3, 2, 9, 30, tzinfo=TZ)
    monkeypatch.setenv("TRAJECTEN_NU", "gisteren")
    with pytest.raises(SettingsError, match="TRAJECTEN_NU"):
        load_settings()
