"""The engine's exceptions, one tree.

TrajectFout                      root: anything the engine refuses, with a message for a person
 ├── OngeldigeInvoer             bad input: names the field and the reason
 ├── NietGevonden                an id that does not exist (or that the user may not see)
 ├── NietToegelaten              a rule refused (ineligible); carries the decision with its reasons
 └── OngeldigeToestand           the action does not fit the current state (task already closed, ...)
      ├── AlLopend               the client already has a running trajectory of this instrument (names it)
      └── DubbeleUitbetaling     a payout for what was already paid for (client, rule, part, subject)

SettingsError                    a setting that cannot be used (a start-up failure, not a refusal)
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


class AlLopend(OngeldigeToestand):
    """The instrument allows one running trajectory per client (``per_client: een_lopend``) and the client
    has one: ``traject_id`` names it (API: 409 with its id; page: a link; CLI: exit 1 and the id)."""

    def __init__(self, instrument: str, traject_id: int):
        self.instrument, self.traject_id = instrument, traject_id
        super().__init__(f"{instrument}: de cliënt heeft al een lopend traject ({traject_id}); "
                         f"één lopend traject per cliënt voor dit instrument")


class DubbeleUitbetaling(OngeldigeToestand):
    """A payout whose idempotency key (client, rule, part, subject) another trajectory already holds: the
    step is not retried (retrying cannot help) but becomes an incident a person sees at once."""

    herhalen = False  # the sweep's retry policy: an incident on the first attempt

    def __init__(self, sleutel: str, traject_id: int | None):
        self.sleutel, self.traject_id = sleutel, traject_id
        waar = f" in traject {traject_id}" if traject_id is not None else " in dezelfde ronde"
        super().__init__(f"uitbetaling {sleutel} is al voorgesteld{waar}; niet nog eens voorgesteld")


class SettingsError(RuntimeError):
    """A setting that cannot be used; the message names the environment variable."""
