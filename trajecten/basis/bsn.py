"""Identifiers of people: the BSN (11-test, masking, synthetic numbers; never logged) and the IBAN."""

from __future__ import annotations

import random

from trajecten.basis.fouten import OngeldigeInvoer

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def cijfers(value: str) -> bool:
    """Only the digits 0-9 (``str.isdigit`` also accepts ``²`` and other Unicode digits)."""
    return value.isascii() and value.isdigit()


def elfproef(bsn: str) -> bool:
    if len(bsn) != 9 or not cijfers(bsn) or bsn == "000000000":
        return False
    c = bsn.encode()  # weights 9..2 and -1 over the digits; 43 = the sum of the weights, 48 = ord("0")
    return (9 * c[0] + 8 * c[1] + 7 * c[2] + 6 * c[3] + 5 * c[4] + 4 * c[5] + 3 * c[6] + 2 * c[7] - c[8]
            - 43 * 48) % 11 == 0


def valideer_bsn(value: str, veld: str = "bsn") -> str:
    """A valid 9-digit BSN (8 digits get a leading zero), or OngeldigeInvoer naming the field."""
    v = str(value).strip()
    if len(v) == 8 and cijfers(v):
        v = "0" + v
    if len(v) != 9 or not cijfers(v):
        raise OngeldigeInvoer(veld, "moet 9 cijfers zijn")
    if not elfproef(v):
        raise OngeldigeInvoer(veld, "voldoet niet aan de elfproef")
    return v


def maskeer(bsn: str) -> str:
    """For display: only the last 3 digits (``******123``)."""
    return "******" + bsn[-3:] if len(bsn) == 9 else "*********"


def synthetisch(rng: random.Random) -> str:
    """A random number that passes the 11-test (for demo data and tests)."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        s = sum(d * w for d, w in zip(digits, _WEIGHTS[:8]))
        last = s % 11  # need (s - last) % 11 == 0 with last a digit
        if last <= 9:
            candidate = "".join(map(str, digits)) + str(last)
            if elfproef(candidate):
                return candidate


def valideer_iban(value: str, veld: str = "iban") -> str:
    """A valid IBAN in compact form (checked with schwifty), or OngeldigeInvoer naming the field."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise OngeldigeInvoer(veld, f"geen geldig IBAN ({exc})") from None
