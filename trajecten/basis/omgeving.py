"""Production or development (setting ``TRAJECTEN_OMGEVING``): what may not reach production.

``load_settings`` calls :func:`controleer` for every entry point (CLI, web, Prefect flows, the embedded
scheduler, ``Engine.open``). In ``productie`` a secret that still has its development value, a folder that
depends on the working directory of whichever process runs a job, a frozen clock or the demo paying
account stops the start with a :class:`~trajecten.basis.config.SettingsError` that names each setting and says
what to do. In ``ontwikkeling`` (the default) a development secret is warned about once per process on
the ``trajecten.basis.omgeving`` logger (stderr when nothing configured logging): never silently.

Every function takes the settings object (``trajecten.basis.config.Settings``); this module imports nothing of
``config``, which calls it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from trajecten.basis.fouten import SettingsError

log = logging.getLogger("trajecten.basis.omgeving")

PRODUCTIE = "productie"
# the development default of the Logboek key (setting logboek_sleutel): refused in production
LOGBOEK_DEV_SLEUTEL = "ontwikkelsleutel-logboek-niet-voor-productie"
SLEUTEL_TIP = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

_gewaarschuwd: set[str] = set()  # the settings warned about in this process


def ontwikkelgeheimen(settings) -> list[str]:
    """The secret settings that still have their development value (environment variable names)."""
    uit = []
    if settings.logboek_sleutel.get_secret_value() == LOGBOEK_DEV_SLEUTEL:
        uit.append("TRAJECTEN_LOGBOEK_SLEUTEL")
    return uit


def _geheim_fout(naam: str) -> str:
    if naam == "TRAJECTEN_LOGBOEK_SLEUTEL":
        return ("TRAJECTEN_LOGBOEK_SLEUTEL staat op de ontwikkelsleutel: zet een eigen geheime sleutel (minstens 32 "
                f"willekeurige tekens, bijvoorbeeld uit `{SLEUTEL_TIP}`), dezelfde op elke machine, en bewaar hem: "
                "het logboek pseudonimiseert BSN's ermee en met een andere sleutel zijn oudere records niet meer te "
                "vinden bij een inzageverzoek")
    return f"{naam} staat op de ontwikkelwaarde: zet een eigen geheime waarde"  # pragma: no cover


def _demo_rekening(settings) -> bool:
    default = type(settings).model_fields["sepa_debiteur_iban"].default
    return settings.sepa_debiteur_iban.replace(" ", "").upper() == default.replace(" ", "").upper()


def productie_fouten(settings) -> list[str]:
    """Why these settings may not run in production, one message per setting (empty: they may)."""
    fouten = [_geheim_fout(naam) for naam in ontwikkelgeheimen(settings)]
    if settings.nu is not None:
        fouten.append("TRAJECTEN_NU zet de klok van de engine stil (alleen voor demo's en tests): "
                      "haal de variabele weg")
    if _demo_rekening(settings):
        fouten.append("TRAJECTEN_SEPA_DEBITEUR_IBAN staat op de demorekening: zet de rekening waarvan de gemeente "
                      "betaalt (met TRAJECTEN_SEPA_DEBITEUR_NAAM en TRAJECTEN_SEPA_DEBITEUR_BIC)")
    if settings.gedeelde_map and not Path(settings.gedeelde_map).expanduser().is_absolute():
        fouten.append(f"TRAJECTEN_GEDEELDE_MAP ({settings.gedeelde_map}) is geen absoluut pad: geef het pad waarop "
                      "de gedeelde map op elke worker is aangekoppeld, bijvoorbeeld /mnt/trajecten")
    else:
        for naam, waarde in (("TRAJECTEN_EXPORT_MAP", settings.export_map),
                             ("TRAJECTEN_UWV_FEED_MAP", settings.uwv_feed_map)):
            if waarde and not settings.pad(waarde).is_absolute():
                fouten.append(f"{naam} ({waarde}) ligt in de werkmap van het proces dat de taak draait (bij "
                              "meerdere workers: op een willekeurige machine): zet TRAJECTEN_GEDEELDE_MAP op de "
                              "gedeelde map (op elke worker hetzelfde absolute pad) of geef een absoluut pad")
    return fouten


def controleer(settings) -> None:
    """Refuse production settings that are not fit for it; outside production warn once per process about
    each development secret."""
    if settings.omgeving == PRODUCTIE:
        fouten = productie_fouten(settings)
        if fouten:
            raise SettingsError("TRAJECTEN_OMGEVING=productie, maar de engine start zo niet: " + "; ".join(fouten))
        return
    for naam in ontwikkelgeheimen(settings):
        if naam not in _gewaarschuwd:
            _gewaarschuwd.add(naam)
            log.warning("%s staat op de ontwikkelwaarde: goed voor ontwikkeling, niet voor echte gegevens (met "
                        "TRAJECTEN_OMGEVING=productie start de engine zo niet); zet een eigen geheime sleutel", naam)


def web_productie_fouten(settings) -> list[str]:
    """What the web server (not a worker) additionally needs in production."""
    fouten = []
    if settings.sessie_sleutel is None or not settings.sessie_sleutel.get_secret_value():
        fouten.append("TRAJECTEN_SESSIE_SLEUTEL is niet gezet: elk webproces tekent sessies dan met een eigen "
                      "willekeurige sleutel (een herstart logt iedereen uit, achter een load balancer werkt inloggen "
                      f"niet); zet op elke webserver dezelfde geheime sleutel, bijvoorbeeld uit `{SLEUTEL_TIP}`")
    if not settings.cookie_secure:
        fouten.append("TRAJECTEN_COOKIE_SECURE staat uit: zet hem op true (de sessiecookie alleen over HTTPS)")
    return fouten


def controleer_web(settings) -> None:
    """For the commands that start the web server (``serve``, ``web``): in production refuse what the web
    server cannot run with; :func:`controleer` has already run for the settings themselves."""
    if settings.omgeving == PRODUCTIE and (fouten := web_productie_fouten(settings)):
        raise SettingsError("TRAJECTEN_OMGEVING=productie, maar de webserver start zo niet: " + "; ".join(fouten))
