"""The engine's exceptions, one tree.

TrajectFout                      root: anything the engine refuses, with a message for a person
 ├── OngeldigeInvoer             bad input: names the field and the reason
 ├── NietGevonden                an id that does not exist (or that the user may not see)
 ├── NietToegelaten              a rule refused (ineligible); carries the decision with its reasons
 └── OngeldigeToestand           the action does not fit the current state (task already closed, ...)
"""

from __future__ import annotations


class TrajectFout(Exception):
    """Root of everything the engine refuses."""


class OngeldigeInvoer(TrajectFout, ValueError):
    """Bad input; ``veld`` names the field, ``reden`` says what is wrong."""

    def __init__(self, veld: str, reden: str):
        self.veld, self.reden = veld, reden
        super().__init__(f"{veld}: {reden}")


class NietGevonden(TrajectFout, LookupError):
    """The thing asked for does not exist."""


class NietToegelaten(TrajectFout):
    """A rule decided against it; ``besluit`` holds the decision and its reasons."""

    def __init__(self, message: str, besluit=None):
        self.besluit = besluit
        super().__init__(message)


class OngeldigeToestand(TrajectFout):
    """The action does not fit the current state."""
