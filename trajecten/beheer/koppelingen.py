"""Connectors are loaded by name, from the settings.

The engine core never imports ``connectors``: the application shells (command line, scheduler, web)
ask this module for the connector the settings name (``module:attribute``), so a municipality can swap
one (another payment-file format, another feed) without touching the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

from trajecten.basis.config import Settings


def laad(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod


def uwv_feed(settings: Settings):
    """The UWV feed connector module (``importeer_bestand``, ``verwerk_tekst``, ``verwerk_map``, ``herverwerk``)."""
    return laad(settings.uwv_feed_koppeling)
