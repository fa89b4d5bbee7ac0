"""The ZGW connector's exceptions, one tree.

ZgwFout                        root: a call to the Zaken API did not do what we asked
 ├── TijdelijkeFout            the service is (for now) unreachable: retried, later in the outbox
 │    ├── Onbereikbaar         no connection, or a timeout
 │    └── Serverfout           5xx or 429 from the service
 └── BlijvendeFout             retrying will not help: a person must look
      ├── Geweigerd            4xx: our request is wrong or not allowed (``invalid_params`` as Open Zaak gives them)
      └── NietGeconfigureerd   no zaaktype/statustype/resultaattype mapped for what we must register
"""

from __future__ import annotations


class ZgwFout(Exception):
    """Root of every ZGW connector error."""


class TijdelijkeFout(ZgwFout):
    """The service is unreachable or failing for now; the same call may succeed later."""


class Onbereikbaar(TijdelijkeFout):
    """No connection could be made, or the request timed out."""


class Serverfout(TijdelijkeFout):
    """The service answered 5xx or 429."""

    def __init__(self, message: str, *, status: int):
        self.status = status
        super().__init__(message)


class BlijvendeFout(ZgwFout):
    """Retrying the same request will not help."""


class Geweigerd(BlijvendeFout):
    """A 4xx answer: ``status``, Open Zaak's ``code`` and its ``invalid_params`` ({name, code, reason})."""

    def __init__(self, message: str, *, status: int, code: str = "", invalid_params: list | None = None):
        self.status, self.code, self.invalid_params = status, code, list(invalid_params or [])
        super().__init__(message)


class NietGeconfigureerd(BlijvendeFout):
    """The mapping (``zaaktypen.yaml``) has no type for this instrument, phase or outcome."""
