"""Exceptions of the `regels` package.

    RegelFout                      root: every error raised by this package
    ├── FeitFout (ValueError)      a fact is missing, of the wrong type, impossible or not in the schema
    ├── OnbekendeRegel (ValueError)  no rule registered under that name
    ├── VerbodenFeit (ValueError)  a rule's fact schema asks for a forbidden fact (nationality, origin, ...)
    ├── DubbeleRegel (ValueError)  a rule name is registered twice
    └── ParameterFout              something is wrong with a parameter
        ├── OnbekendeParameter (KeyError)       no parameter file for that path
        ├── ParameterNietVanKracht (LookupError)  the date lies before the parameter's first value
        └── ParameterBestandFout (ValueError)  a parameter YAML file breaks the format
"""

from __future__ import annotations

__all__ = [
    "RegelFout",
    "FeitFout",
    "OnbekendeRegel",
    "VerbodenFeit",
    "DubbeleRegel",
    "ParameterFout",
    "OnbekendeParameter",
    "ParameterNietVanKracht",
    "ParameterBestandFout",
]


class RegelFout(Exception):
    """Root of all errors raised by `regels`."""


class FeitFout(RegelFout, ValueError):
    """A fact given to a rule is wrong; `veld` names the fact, `reden` says why (in Dutch)."""

    def __init__(self, veld: str, reden: str, *, regel: str | None = None) -> None:
        self.veld = veld
        self.reden = reden
        self.regel = regel
        super().__init__(f"feit {veld!r}: {reden}")

    def __reduce__(self):  # keep picklable (multiprocessing) despite keyword-only arguments
        return (_maak_feitfout, (self.veld, self.reden, self.regel))


def _maak_feitfout(veld: str, reden: str, regel: str | None) -> FeitFout:
    return FeitFout(veld, reden, regel=regel)


class OnbekendeRegel(RegelFout, ValueError):
    """No rule is registered under this name; the message lists the known names."""

    def __init__(self, naam: str, bekend: tuple[str, ...]) -> None:
        self.naam = naam
        self.bekend = bekend
        super().__init__(f"onbekende regel {naam!r}; bekende regels: {', '.join(bekend)}")


class VerbodenFeit(RegelFout, ValueError):
    """A rule's fact schema declares a fact that may never be an input (nationality, origin or a proxy)."""

    def __init__(self, regel: str, feit: str, term: str) -> None:
        self.regel = regel
        self.feit = feit
        self.term = term
        super().__init__(
            f"regel {regel!r} vraagt om feit {feit!r}: {term!r} (nationaliteit, herkomst of een afgeleide "
            "daarvan) mag nooit een feit in een regel zijn"
        )


class DubbeleRegel(RegelFout, ValueError):
    """A rule name was registered twice."""


class ParameterFout(RegelFout):
    """Root of parameter errors."""


class OnbekendeParameter(ParameterFout, KeyError):
    """No parameter exists at this path."""

    def __init__(self, pad: str) -> None:
        self.pad = pad
        super().__init__(f"onbekende parameter {pad!r}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return f"onbekende parameter {self.pad!r}"


class ParameterNietVanKracht(ParameterFout, LookupError):
    """The date lies before the first value of the parameter: the regulation was not yet in force."""

    def __init__(self, pad: str, datum, eerste) -> None:
        self.pad = pad
        self.datum = datum
        self.eerste = eerste
        super().__init__(
            f"parameter {pad!r} bestaat niet op {datum.isoformat()}: eerste waarde geldt vanaf {eerste.isoformat()}"
        )


class ParameterBestandFout(ParameterFout, ValueError):
    """A parameter file does not follow the format (description, unit, dated values with a source)."""
