"""How a mail leaves the building: the :class:`Verzender` protocol (one narrow method), the SMTP
implementation and an in-memory one for unit tests.

All network I/O of the connector goes through :meth:`Verzender.verstuur`. Errors from ``smtplib`` and
the socket layer are translated here into :class:`VerzendFout`, whose message holds the error class,
the server's reply code and a short reply text, never the mail itself.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from ._exceptions import VerzendFout

_NEGEN_CIJFERS = re.compile(r"(?<!\d)\d{9}(?!\d)")


def zonder_bsn(tekst: str) -> str:
    """``tekst`` with every run of exactly nine digits masked: a BSN never reaches a log or a table."""
    return _NEGEN_CIJFERS.sub("*********", tekst)


@dataclass(frozen=True)
class Bericht:
    """One mail as the connector sends it (plain text)."""

    aan: str
    onderwerp: str
    tekst: str
    melding_id: int | None = None


class Verzender(Protocol):
    def verstuur(self, bericht: Bericht) -> None:
        """Deliver ``bericht`` or raise :class:`VerzendFout`."""


class SmtpVerzender:
    """Sends through an SMTP server with the standard library (optionally STARTTLS and login)."""

    def __init__(self, host: str, port: int = 25, *, starttls: bool = False, user: str | None = None,
                 password: str | None = None, from_addr: str, timeout: float = 10.0,
                 ehlo_naam: str | None = None):
        self.host, self.port, self.starttls = host, port, starttls
        self.user, self._password = user, password
        self.from_addr, self.timeout, self.ehlo_naam = from_addr, timeout, ehlo_naam

    @classmethod
    def uit_settings(cls, settings) -> "SmtpVerzender":
        pw = settings.smtp_wachtwoord.get_secret_value() if settings.smtp_wachtwoord is not None else None
        return cls(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                   user=settings.smtp_gebruiker or None, password=pw, from_addr=settings.smtp_afzender,
                   timeout=settings.smtp_timeout_s)

    def __repr__(self) -> str:  # no password
        return f"SmtpVerzender({self.host}:{self.port}, starttls={self.starttls}, user={self.user!r})"

    def bouw(self, bericht: Bericht) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_addr
        msg["To"] = bericht.aan
        msg["Subject"] = bericht.onderwerp
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.from_addr.rpartition("@")[2] or None)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        msg.set_content(bericht.tekst)
        return msg

    def verstuur(self, bericht: Bericht) -> None:
        msg = self.bouw(bericht)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.ehlo_naam) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self._password or "")
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise VerzendFout(beschrijf(exc), tijdelijk=_tijdelijk(exc)) from exc


def beschrijf(exc: BaseException) -> str:
    """A short description of a delivery error: class, reply code and reply text, no mail content."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        text = f"{name}: ontvanger geweigerd ({', '.join(map(str, codes))})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"{name}: {exc.smtp_code} {reply[:200]}"
    elif isinstance(exc, OSError):
        text = f"{name}: {exc.strerror or exc}"
    else:
        text = f"{name}: {str(exc)[:200]}"
    return zonder_bsn(" ".join(text.split()))[:500]


def _tijdelijk(exc: BaseException) -> bool:
    code = getattr(exc, "smtp_code", None)
    return not (isinstance(code, int) and 500 <= code < 600)


@dataclass
class GeheugenVerzender:
    """In-memory :class:`Verzender` for tests: records every attempt; ``faal(n)`` makes the next n fail."""

    verzonden: list[Bericht] = field(default_factory=list)
    pogingen: list[Bericht] = field(default_factory=list)
    _te_falen: int = 0

    def faal(self, keer: int = 1) -> None:
        self._te_falen = keer

    def reset(self) -> None:
        self.verzonden.clear()
        self.pogingen.clear()
        self._te_falen = 0

    def verstuur(self, bericht: Bericht) -> None:
        self.pogingen.append(bericht)
        if self._te_falen > 0:
            self._te_falen -= 1
            raise VerzendFout("ConnectionRefusedError: gesimuleerde storing")
        self.verzonden.append(bericht)
