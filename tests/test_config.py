"""Settings: one documented object; a wrong setting fails at start naming it."""

import pytest

from trajecten.config import SettingsError, load_settings, settings_doc
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
