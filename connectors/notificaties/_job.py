"""The scheduled job: collect new events into the outbox, then send what is due (SMTP from the settings)."""

from __future__ import annotations

import logging

from trajecten.privacy import logboek

from ._exceptions import NotificatieFout
from ._smtp import SmtpVerzender, Verzender
from ._verstuur import ACTOR, verstuur
from ._verzamel import verzamel

log = logging.getLogger("connectors.notificaties")


def meldingen_job(engine, verzender: Verzender | None = None) -> dict:
    """Counts only (no personal data): {nieuw, verzonden, opnieuw, mislukt}.

    Never raises for SMTP trouble (the mails wait in the outbox); raises :class:`NotificatieFout` when no
    SMTP server is configured (the scheduler only runs this job when one is)."""
    if verzender is None:
        if not engine.settings.smtp_host:
            raise NotificatieFout("TRAJECTEN_SMTP_HOST is niet ingesteld: meldingen staan uit")
        verzender = SmtpVerzender.uit_settings(engine.settings)
    now = engine.clock.now()
    # Logboek Dataverwerkingen: the clients whose events became mails (noted by ``verzamel``)
    with logboek.verwerking(engine, "clientadministratie", gebruiker=ACTOR, naam="meldingen aan coaches",
                            component="meldingen"):
        nieuw = verzamel(engine, now)
    out = {"nieuw": nieuw, **verstuur(engine, verzender, now)}
    log.info("meldingen: %s", out)
    return out
