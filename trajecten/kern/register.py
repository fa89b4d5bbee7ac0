"""The definition register: which instrument definitions exist, in which versions.

Loading a changed file creates a new version (its text is kept in the database); a running
trajectory keeps the version it started with, so a changed definition never rewrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trajecten.kern.definitie import INSTRUMENTEN_DIR, Instrument, Stap, StapSoort, content_hash, load_dir, parse_definitie
from trajecten.opslag.models import InstrumentVersie
from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.basis.tijd import Clock


class OnbekendInstrument(OngeldigeInvoer, KeyError):
    """An instrument name that is not in the register (bad input; still a KeyError for older callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return f"{self.veld}: {self.reden}"


@dataclass(frozen=True)
class Compiled:
    """A definition with the look-ups the planner and the sweep need, computed once."""

    definitie: Instrument
    versie: int
    steps: dict[str, Stap]
    at_start: tuple[Stap, ...]  # planned when the trajectory starts
    after: dict[str, tuple[Stap, ...]]  # step key -> steps planned when that step is done
    on_event: dict[str, tuple[Stap, ...]]  # event -> steps anchored on it (or on the fact it sets)
    cancelled_by: dict[str, tuple[Stap, ...]]  # event -> steps it cancels
    waiting_for: dict[str, tuple[Stap, ...]]  # event -> wait_event steps
    iban_feiten: tuple[str, ...] = ()  # facts holding a payee's account (``ontvanger``), checked at start

    @classmethod
    def build(cls, d: Instrument, versie: int) -> "Compiled":
        steps = {s.key: s for s in d.stappen}
        events_setting = {}  # fact -> events that set it
        for name, ev in d.gebeurtenissen.items():
            if ev.zet_feit:
                events_setting.setdefault(ev.zet_feit, []).append(name)
        at_start, after, on_event, cancelled, waiting = [], {}, {}, {}, {}
        for s in d.stappen:
            kind, name = s.anchor_kind, s.anchor_name
            if s.na is not None:
                after.setdefault(s.na.stap, []).append(s)
            elif kind == "stap":
                after.setdefault(name, []).append(s)
            elif kind == "event":
                on_event.setdefault(name, []).append(s)
            else:  # start, or a fact: planned at start when the fact is known ...
                at_start.append(s)
                for ev in events_setting.get(name, ()) if kind == "feit" else ():
                    on_event.setdefault(ev, []).append(s)  # ... and (re)planned when an event sets it
            for ev in s.vervalt_bij:
                cancelled.setdefault(ev, []).append(s)
            if s.kind is StapSoort.wait_event:
                waiting.setdefault(s.event, []).append(s)
        freeze = lambda m: {k: tuple(v) for k, v in m.items()}  # noqa: E731
        ibans = tuple(dict.fromkeys(f"{s.ontvanger}_iban" for s in d.stappen if s.ontvanger))
        return cls(d, versie, steps, tuple(at_start), freeze(after), freeze(on_event), freeze(cancelled), freeze(waiting),
                   ibans)


class DefinitionRegister:
    def __init__(self, db: Engine, clock: Clock, directory: Path = INSTRUMENTEN_DIR):
        self._db = db
        self._clock = clock
        self._dir = directory
        self._cache: dict[tuple[str, int], Compiled] = {}
        self._current: dict[str, int] = {}

    def sync(self) -> list[tuple[str, int, bool]]:
        """Load every file; store a new version for each changed one. Returns (instrument, versie, new)."""
        files = load_dir(self._dir)
        out = []
        t = InstrumentVersie.__table__
        with self._db.begin() as conn:
            if conn.dialect.name == "postgresql":  # workers starting together store each new version once
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(731002612)")
            for name, (defn, text) in files.items():
                h = content_hash(text)
                latest = conn.execute(
                    sa.select(t.c.versie, t.c.hash)
                    .where(t.c.instrument == name)
                    .order_by(t.c.versie.desc())
                    .limit(1)
                ).first()
                if latest is not None and latest.hash == h:
                    versie, new = latest.versie, False
                else:
                    versie, new = (latest.versie + 1 if latest else 1), True
                    conn.execute(
                        t.insert().values(
                            instrument=name, versie=versie, hash=h, inhoud=text, geladen_op=self._clock.now()
                        )
                    )
                self._current[name] = versie
                self._cache[(name, versie)] = Compiled.build(defn, versie)
                out.append((name, versie, new))
        return out

    def current(self, instrument: str) -> Compiled:
        if not self._current:
            self.sync()
        versie = self._current.get(instrument)
        if versie is None:
            known = ", ".join(sorted(self._current)) or "(none)"
            raise OnbekendInstrument("instrument", f"{instrument!r} bestaat niet; bekend: {known}")
        return self.get(instrument, versie)

    def get(self, instrument: str, versie: int, conn=None) -> Compiled:
        """A stored version. Inside a transaction pass its ``conn``: on SQLite a second connection
        would wait for the write lock that very transaction holds."""
        got = self._cache.get((instrument, versie))
        if got is None:
            t = InstrumentVersie.__table__
            q = sa.select(t.c.inhoud).where(t.c.instrument == instrument, t.c.versie == versie)
            if conn is not None:
                text = conn.execute(q).scalar()
            else:
                with self._db.connect() as own:
                    text = own.execute(q).scalar()
            if text is None:
                raise KeyError(f"instrument {instrument!r} has no version {versie}")
            # the stored text, named so the file-name check still holds: instrument_versie/v<n>/<instrument>.yaml
            got = Compiled.build(parse_definitie(text, f"instrument_versie/v{versie}/{instrument}.yaml"), versie)
            self._cache[(instrument, versie)] = got
        return got

    def names(self) -> list[str]:
        if not self._current:
            self.sync()
        return sorted(self._current)
