"""Planning: from a definition and a trajectory's dates to timed steps (pure, no database).

Rules of anchoring:
- ``start``: the trajectory's start date.
- ``feit:<name>``: a date fact of the trajectory (given at start, or set by an event).
- ``event:<name>``: the date of that event; planned when the event is recorded, re-planned when it is
  recorded again with another date.
- ``stap:<key>``: when that step is done. A task is done when a person completes it (counted from the
  completion date); any other step is done when it fires (counted from its planned date, so a sweep
  that catches up after downtime keeps the schedule instead of shifting it).
A step with ``na: {stap, uitkomst}`` is planned only when that step ended with one of those outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time

from trajecten.kern.definitie import Stap
from trajecten.basis.tijd import Offset, WerkdagKalender, at_local


@dataclass(frozen=True)
class PlanContext:
    kalender: WerkdagKalender
    dagstart: time

    def due(self, step: Stap, anchor: date) -> datetime:
        """When ``step`` is due, counted from ``anchor``. A date that falls on a weekend or holiday
        moves to the next working day (as deadlines do under the Algemene termijnenwet)."""
        return _due(step.offset, anchor, self.kalender, self.dagstart)

    def task_due(self, step: Stap, fired_on: date) -> datetime:
        return _due(step.termijn, fired_on, self.kalender, self.dagstart)

    def next_occurrence(
        self, step: Stap, volgnr: int, due: datetime, feiten: dict, planned_dates: dict[str, date]
    ) -> tuple[int, datetime] | None:
        """The repeat of ``step`` after occurrence ``volgnr`` (due at ``due``), or None when it stops."""
        rep = step.herhaal
        if rep is None:
            return None
        if rep.max is not None and volgnr + 1 >= rep.max:
            return None
        nxt_day = self.kalender.plus_werkdagen(Offset.parse(rep.elke).apply(due.date(), self.kalender), 0)
        if rep.tot:
            kind, _, name = rep.tot.partition(":")
            if kind == "feit":
                limit = as_date(feiten.get(name))
            else:  # stap
                limit = planned_dates.get(name)
            if limit is not None and nxt_day >= limit:
                return None
        return volgnr + 1, at_local(nxt_day, self.dagstart)


def anchor_date(step: Stap, start: date, feiten: dict) -> date | None:
    """The anchor date of a step anchored on the start or a fact; None when the fact is not known yet."""
    return anchor_on(step.anchor_kind, step.anchor_name, start, feiten)


def anchor_on(kind: str, name: str | None, start: date, feiten: dict) -> date | None:
    """``anchor_date`` with the step's anchor kind and name already split (a batch plans thousands)."""
    if kind == "start":
        return start
    if kind == "feit":
        return as_date(feiten.get(name))
    return None


def as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _iso_date(str(value))


_iso_date = lru_cache(maxsize=4096)(date.fromisoformat)  # facts repeat their dates across a batch


@lru_cache(maxsize=65536)
def shifted(offset: str, anchor: date, kalender: WerkdagKalender) -> date:
    """``anchor`` moved by ``offset`` (memoised: a feed file has a few hundred distinct anchors)."""
    return Offset.parse(offset).apply(anchor, kalender)


@lru_cache(maxsize=65536)
def _due(offset: str, anchor: date, kalender: WerkdagKalender, dagstart: time) -> datetime:
    """Memoised: thousands of steps share an offset and an anchor day (a batch, a feed file)."""
    day = shifted(offset, anchor, kalender)
    return at_local(kalender.plus_werkdagen(day, 0), dagstart)
