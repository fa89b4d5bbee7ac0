"""The rule hook: how the engine asks the rules module (``regels``) for a decision.

The engine hands a rule only the facts that rule declares (so a rule can never see more than it
asked for, and nationality or origin are never among them: see ``regels``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol


class RuleHook(Protocol):
    def decide(self, regel: str, feiten: dict[str, Any], peildatum: date) -> Any:
        """A decision object with .uitkomst, .versie, .betalingen, .redenen, .to_json()."""

    def known(self, regel: str) -> bool: ...

    # optional: ``fact_names(regel)`` (the facts a rule declares: the engine supplies its own facts only to
    # rules that ask) and ``onderwerp(regel, feiten)`` (what a payment is for: the payout key's subject)


class RegelsHook:
    """The default hook: the ``regels`` package."""

    def __init__(self):
        import regels

        self._regels = regels
        self._names: dict[str, frozenset[str]] = {}

    def known(self, regel: str) -> bool:
        return regel in self._regels.RULES

    def fact_names(self, regel: str) -> frozenset[str]:
        names = self._names.get(regel)
        if names is None:  # a rule's facts are fixed when it is registered
            names = self._names[regel] = frozenset(self._regels.RULES[regel].feiten)
        return names

    def onderwerp(self, regel: str, feiten: dict[str, Any]) -> str | None:
        return self._regels.onderwerp_van(regel, feiten)

    def decide(self, regel: str, feiten: dict[str, Any], peildatum: date):
        wanted = self.fact_names(regel)
        return self._regels.beslis(regel, {k: v for k, v in feiten.items() if k in wanted}, peildatum)
