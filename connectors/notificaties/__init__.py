"""Notifications: reminders, notices, escalations and incidents reach coaches and team leads by e-mail.

Two steps, one job (:func:`meldingen_job`, run by the scheduler and the ``meldingen`` Prefect flow):
:func:`verzamel` turns new events into outbox rows (``melding``): one daily digest per recipient by
default, or one mail per event (``TRAJECTEN_MELDINGEN_MODUS=per_gebeurtenis``); :func:`verstuur` sends
them through a :class:`Verzender` (SMTP, or in memory for tests), retrying with backoff. No mail, log
line or error holds a BSN, a client's name or a birth date. The sweep never sends mail itself.

Start reading at ``_verzamel.py``.
"""

from ._exceptions import NotificatieFout, VerzendFout
from ._job import meldingen_job
from ._smtp import Bericht, GeheugenVerzender, SmtpVerzender, Verzender, zonder_bsn
from ._verstuur import HERHAALBELEID, verstuur
from ._verzamel import SOORTEN, adres_voor, ontvanger_voor, teamleider, verzamel

__all__ = [
    # _exceptions
    "NotificatieFout", "VerzendFout",
    # _smtp
    "Bericht", "Verzender", "SmtpVerzender", "GeheugenVerzender", "zonder_bsn",
    # _verzamel
    "verzamel", "adres_voor", "ontvanger_voor", "teamleider", "SOORTEN",
    # _verstuur
    "verstuur", "HERHAALBELEID",
    # _job
    "meldingen_job",
]
