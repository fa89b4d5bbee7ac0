"""Trying failed work again: the one retry policy of the engine and every connector.

The sweep retries a failing step, the ZGW and mail outboxes a failing delivery, the UWV and ZGW clients a
failing HTTP call, the Prefect flows a task that lost its database: all wait by the same rule, each with
its own numbers (the settings ``retry_*``, ``zgw_retry_*``, ``zgw_verzoek_pogingen``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``pogingen`` attempts in all; after the n-th failed attempt the next waits ``start_s`` · 2^(n-1)
    seconds, at most ``max_s``.

    The defaults are the sweep's (settings ``retry_start_s``, ``retry_max_s``, ``max_pogingen``): 1, 2, 4,
    8 minutes, 5 attempts, never more than an hour apart. An HTTP call within one run uses seconds, e.g.
    ``RetryPolicy(pogingen=3, start_s=0.5, max_s=5)``."""

    pogingen: int = 5
    start_s: float = 60
    max_s: float = 3600

    def seconden(self, poging: int) -> float:
        """The wait after failed attempt ``poging`` (1 = the first), in seconds."""
        return min(self.start_s * 2 ** max(poging - 1, 0), self.max_s)

    def wacht(self, poging: int) -> timedelta:
        """The wait after failed attempt ``poging``, as a duration to add to a moment."""
        return timedelta(seconds=self.seconden(poging))

    def wachttijden(self) -> list[float]:
        """The waits between the attempts of one call: ``pogingen - 1`` of them, in seconds."""
        return [self.seconden(n) for n in range(1, self.pogingen)]

    def uitgeput(self, pogingen: int) -> bool:
        """No attempt is left after ``pogingen`` failed ones: a person takes over (an incident)."""
        return pogingen >= self.pogingen
