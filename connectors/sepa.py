"""SEPA credit-transfer file (pain.001.001.03) for approved payouts, written with ``sepaxml``.

The engine (``trajecten.geld.uitbetalingen.exporteer``) decides what is paid and marks it exported; this
connector only turns the lines into the bank's format, validated against the XSD by sepaxml.
"""

from __future__ import annotations

from typing import Sequence

from sepaxml import SepaTransfer

from trajecten.geld.uitbetalingen import BetaalRegel, Debiteur


class _Transfer(SepaTransfer):
    """SepaTransfer whose MsgId is our batch id, so the bank file and the batch row match."""

    def __init__(self, bericht_id: str, *args, **kwargs):
        self._bericht_id = bericht_id
        super().__init__(*args, **kwargs)

    def _create_header(self):
        self.msg_id = self._bericht_id
        super()._create_header()


def endtoend_id(uitbetaling_id: int) -> str:
    """The payment's EndToEndId: unique per payout, within SEPA's 35 characters and character set (the
    idempotency key names the job and is longer: truncated, two jobs of one client could meet)."""
    return f"TRJ-U{uitbetaling_id}"


def schrijf_pain001(bericht_id: str, debiteur: Debiteur, regels: Sequence[BetaalRegel]) -> bytes:
    transfer = _Transfer(
        bericht_id,
        {"name": debiteur.naam, "IBAN": debiteur.iban, "BIC": debiteur.bic, "batch": True, "currency": "EUR"},
        schema="pain.001.001.03",
        clean=True,
    )
    for r in regels:
        transfer.add_payment({
            "name": r.naam[:70],
            "IBAN": r.iban,
            "amount": int((r.bedrag * 100).to_integral_exact()),  # cents
            "execution_date": r.uitvoerdatum,
            "description": r.omschrijving[:140],
            "endtoend_id": endtoend_id(r.uitbetaling_id),
        })
    return transfer.export(validate=True)
