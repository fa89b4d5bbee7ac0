"""The exceptions of the notifications connector.

    NotificatieFout          root: anything this connector raises on purpose
     └── VerzendFout         a mail could not be delivered (connection, refusal, timeout); retried

A message never contains the mail body, a client's name or a BSN: it is stored in ``melding.laatste_fout``
and may end up in a log line.
"""

from __future__ import annotations


class NotificatieFout(Exception):
    """Root of the notifications connector's exceptions."""


class VerzendFout(NotificatieFout):
    """The mail server could not be reached or refused the mail; the outbox row is retried later."""

    def __init__(self, melding: str, *, tijdelijk: bool = True):
        super().__init__(melding)
        self.tijdelijk = tijdelijk
