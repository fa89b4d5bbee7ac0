"""The trajectory engine: instruments as declarative flows of timed steps, for Werk & Participatie.

This is the public surface: what connectors, flows, the web and other programs use. Everything named
here stays; a module of a package (``trajecten.kern.engine``) may be imported too, a ``_private`` name of
another package never (tests/test_architectuur.py and docs/architecture.md).

    from trajecten import Engine
    engine = Engine.open()          # the settings from TRAJECTEN_* (load_settings)
    engine.sweep()
    engine.db.dispose()
"""

from trajecten.basis.config import Settings, SettingsError, load_settings
from trajecten.basis.fouten import (
    AlLopend,
    DubbeleUitbetaling,
    NietGevonden,
    NietToegelaten,
    OngeldigeInvoer,
    OngeldigeToestand,
    TrajectFout,
)
from trajecten.basis.herhalen import RetryPolicy
from trajecten.basis.tijd import TZ, Clock, FixedClock, SystemClock, local_date
from trajecten.kern.engine import Engine
from trajecten.kern.starten import StartVerzoek, lopende_trajecten
from trajecten.kern.sweep import STAP_EVENT_TYPES, SweepResult

__all__ = [
    "AlLopend", "Clock", "DubbeleUitbetaling", "Engine", "FixedClock", "NietGevonden", "NietToegelaten",
    "OngeldigeInvoer", "OngeldigeToestand", "RetryPolicy", "STAP_EVENT_TYPES", "Settings", "SettingsError",
    "StartVerzoek", "SweepResult", "SystemClock", "TZ", "TrajectFout", "load_settings", "local_date",
    "lopende_trajecten",
]
