"""Instrument definitions: the declarative format, its validation and the loader.

An instrument is one YAML file in ``flows/instrumenten/``. This module holds the pydantic schema that
checks it (exported as JSON Schema to ``docs/instrument.schema.json`` for editors) and loads the files.
Invalid files fail loudly: :class:`DefinitieFout` names the file, the step and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trajecten.basis.tijd import Offset, OffsetError

INSTRUMENTEN_DIR = Path(__file__).resolve().parents[2] / "flows" / "instrumenten"

_KEY = r"^[a-z][a-z0-9_]*$"


class StapSoort(StrEnum):
    """What a step does when it becomes due."""

    reminder = "reminder"  # remind the coach; skipped when the task it points at is already closed
    task = "task"  # work for a person: appears on a worklist, may record an outcome
    decision = "decision"  # a rule decides; its outcome picks the branch
    payout = "payout"  # a rule computes an amount; a payout is proposed (exactly once)
    notify = "notify"  # a message to the coach or team (no person needs to act)
    wait_event = "wait_event"  # waits for an event; fires as 'verlopen' when it did not come in time
    end = "end"  # ends the trajectory with an outcome


class FeitType(StrEnum):
    date = "date"
    int = "int"
    decimal = "decimal"
    bool = "bool"
    text = "text"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feit(Strict):
    """A fact the trajectory needs, given at start or set by an event."""

    type: FeitType
    verplicht: bool = False
    omschrijving: str = ""


class Herhaling(Strict):
    """Repeat a step: after it fires, the next occurrence is planned ``elke`` later."""

    elke: str = Field(description="offset between occurrences, e.g. +2w")
    max: int | None = Field(default=None, ge=1, description="at most this many occurrences in all")
    tot: str | None = Field(default=None, description="stop before this anchor, e.g. stap:eindevaluatie or feit:ww_einddatum")

    @field_validator("elke")
    @classmethod
    def _elke(cls, v: str) -> str:
        off = Offset.parse(v)
        if not off.terms or any(n <= 0 for n, _ in off.terms):
            raise ValueError("must move forward, e.g. +2w")
        return v

    @field_validator("tot")
    @classmethod
    def _tot(cls, v: str | None) -> str | None:
        # anything else would silently never stop the repeat (next_occurrence finds no limit)
        if v is not None and not re.match(r"^(feit|stap):[a-z][a-z0-9_]*$", v):
            raise ValueError("must be stap:<key> or feit:<name>")
        return v

    @model_validator(mode="after")
    def _bounded(self) -> "Herhaling":
        return self


class Voorwaarde(Strict):
    """Plan this step only after step ``stap`` ended with one of these outcomes."""

    stap: str = Field(pattern=_KEY)
    uitkomst: list[str] = Field(min_length=1)

    @field_validator("uitkomst", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


ANCHOR = re.compile(r"^(start|feit:[a-z][a-z0-9_]*|event:[a-z][a-z0-9_]*|stap:[a-z][a-z0-9_]*)$")


class Stap(Strict):
    key: str = Field(pattern=_KEY, description="unique within the instrument")
    kind: StapSoort
    titel: str = Field(min_length=1, description="what staff see (Dutch)")
    anchor: str = Field(
        default="start",
        description="start | feit:<fact> | event:<event> | stap:<step>; the moment the offset counts from",
    )
    offset: str = Field(default="+0d", description="+3d, +10wd, +4w, -6mo, +1y; terms combine: -6mo+3wd")
    na: Voorwaarde | None = Field(default=None, description="only after another step ended with this outcome")
    herhaal: Herhaling | None = None
    uitkomsten: list[str] = Field(default_factory=list, description="outcomes a person or rule may record")
    zet_uitkomst: bool = Field(default=False, description="this step's outcome becomes the trajectory outcome")
    zet_feit: dict[str, str] = Field(
        default_factory=dict,
        description="task: outcome -> fact set to the completion date (e.g. werk_behouden: werk_nog_op)",
    )
    rol: Literal["coach", "teamleider", "jobcoach", "financien"] = "coach"
    termijn: str = Field(default="+5wd", description="task: due this long after it appears")
    regel: str | None = Field(default=None, description="decision/payout: the rule that decides")
    deel: int | None = Field(default=None, ge=1, description="payout: which part of the rule's payments")
    ontvanger: str | None = Field(
        default=None, pattern=_KEY,
        description="payout: paid to someone else than the client, e.g. werkgever: the trajectory facts "
                    "<ontvanger>_naam and <ontvanger>_iban name the account (declared under feiten)",
    )
    event: str | None = Field(default=None, pattern=_KEY, description="wait_event: the event waited for")
    bij_goedkeuring: str | None = Field(
        default=None, pattern=_KEY,
        description="payout: the event recorded on the trajectory when a second person approves the payout")
    bij_afwijzing: str | None = Field(
        default=None, pattern=_KEY, description="payout: the event recorded when the payout is rejected")
    herinnert_aan: str | None = Field(default=None, pattern=_KEY, description="reminder: skip when this task is closed")
    vervalt_bij: list[str] = Field(default_factory=list, description="events that cancel this step while planned")
    uitkomst: str | None = Field(default=None, description="end: the trajectory outcome (else the recorded one)")
    toelichting: str = Field(default="", description="why this step exists; cite the policy text")

    @field_validator("anchor")
    @classmethod
    def _anchor(cls, v: str) -> str:
        if not ANCHOR.match(v):
            raise ValueError("must be start, feit:<name>, event:<name> or stap:<key>")
        return v

    @field_validator("offset", "termijn")
    @classmethod
    def _offset(cls, v: str) -> str:
        Offset.parse(v)
        return v

    @model_validator(mode="after")
    def _kind_fields(self) -> "Stap":
        k = self.kind
        if k in (StapSoort.decision, StapSoort.payout) and not self.regel:
            raise ValueError(f"regel: a {k.value} step needs the rule that decides")
        if k is StapSoort.payout and self.deel is None:
            raise ValueError("deel: a payout step names which part of the rule's payments it pays")
        if k is StapSoort.wait_event and not self.event:
            raise ValueError("event: a wait_event step names the event it waits for")
        if k is StapSoort.decision and not self.uitkomsten:
            self.__dict__["uitkomsten"] = ["ja", "nee"]
        if k is StapSoort.payout and not self.uitkomsten:
            self.__dict__["uitkomsten"] = ["voorgesteld", "vervallen"]
        if k is StapSoort.wait_event and not self.uitkomsten:
            self.__dict__["uitkomsten"] = ["ontvangen", "verlopen"]
        if self.herinnert_aan and k is not StapSoort.reminder:
            raise ValueError("herinnert_aan: only a reminder can point at a task")
        if self.ontvanger and k is not StapSoort.payout:
            raise ValueError("ontvanger: only a payout step has a payee")
        if (self.bij_goedkeuring or self.bij_afwijzing) and k is not StapSoort.payout:
            raise ValueError("bij_goedkeuring/bij_afwijzing: only a payout step is approved or rejected")
        bad = [u for u in self.zet_feit if u not in self.uitkomsten]
        if bad:
            raise ValueError(f"zet_feit: {bad} are not among this step's uitkomsten {self.uitkomsten}")
        if self.zet_uitkomst and not self.uitkomsten:
            raise ValueError("zet_uitkomst: the step needs uitkomsten to set the trajectory outcome from")
        return self

    @property
    def offset_obj(self) -> Offset:
        return Offset.parse(self.offset)

    @property
    def anchor_kind(self) -> str:
        return self.anchor.split(":", 1)[0]

    @property
    def anchor_name(self) -> str | None:
        return self.anchor.split(":", 1)[1] if ":" in self.anchor else None


class Gebeurtenis(Strict):
    """An event staff may record on a trajectory of this instrument."""

    titel: str
    zet_feit: str | None = Field(default=None, pattern=_KEY, description="the event's date becomes this fact")
    uitkomst: str | None = Field(default=None, description="recording it sets the trajectory outcome")
    beeindigt: bool = Field(default=False, description="recording it ends the trajectory")
    door_engine: bool = Field(
        default=False, description="recorded by the engine only (e.g. a payout step's bij_goedkeuring): not "
                                   "offered to staff, refused from the pages, the API and the CLI")


class Jaardoel(Strict):
    aantal: int = Field(ge=0, description="trajectories a year")
    omschrijving: str = ""
    succes_uitkomsten: list[str] = Field(default_factory=list)
    succes_percentage: int | None = Field(default=None, ge=0, le=100)


class Begin(Strict):
    """When the trajectory begins, if not on the day it is started (e.g. WW end date - 6 months)."""

    anchor: str
    offset: str = "+0d"
    niet_eerder_dan_vandaag: bool = True

    _a = field_validator("anchor")(Stap._anchor.__func__)  # type: ignore[attr-defined]
    _o = field_validator("offset")(Stap._offset.__func__)  # type: ignore[attr-defined]


class Instrument(Strict):
    instrument: str = Field(pattern=_KEY)
    naam: str
    omschrijving: str = ""
    bron: str = Field(default="", description="the policy text this instrument comes from")
    regel: str = Field(description="eligibility rule (regels module) consulted when a trajectory starts")
    per_client: Literal["een_lopend", "meerdere"] = Field(
        default="een_lopend",
        description="een_lopend: a client has at most one running trajectory of this instrument (the engine "
                    "refuses a second start, naming the running one); meerdere: parallel trajectories allowed")
    jaardoel: Jaardoel
    feiten: dict[str, Feit] = Field(default_factory=dict)
    begin: Begin | None = None
    uitkomsten: list[str] = Field(min_length=1, description="outcomes a trajectory of this instrument can end with")
    uitstroom_uitkomsten: list[str] = Field(
        default_factory=list,
        description="outcomes that mean the client left the benefit for work (uitstroom): the monthly report "
                    "measures herinstroom from these, Kansen in Kaart treats the client as off bijstand")
    gebeurtenissen: dict[str, Gebeurtenis] = Field(default_factory=dict)
    stappen: list[Stap] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> "Instrument":
        keys: dict[str, Stap] = {}
        for i, s in enumerate(self.stappen):
            if s.key in keys:
                raise _step_error(i, s.key, "key", "appears twice")
            keys[s.key] = s
        for i, s in enumerate(self.stappen):
            kind, name = s.anchor_kind, s.anchor_name
            if kind == "stap" and name not in keys:
                raise _step_error(i, s.key, "anchor", f"step {name!r} does not exist")
            if kind == "stap" and name == s.key:
                raise _step_error(i, s.key, "anchor", "a step cannot anchor on itself")
            if kind == "feit" and name not in self.feiten and not self._fact_from_event(name):
                raise _step_error(i, s.key, "anchor", f"fact {name!r} is not declared under feiten")
            if kind == "event" and name not in self.gebeurtenissen:
                raise _step_error(i, s.key, "anchor", f"event {name!r} is not declared under gebeurtenissen")
            if s.na:
                src = keys.get(s.na.stap)
                if src is None:
                    raise _step_error(i, s.key, "na.stap", f"step {s.na.stap!r} does not exist")
                bad = [u for u in s.na.uitkomst if u not in src.uitkomsten]
                if bad:
                    raise _step_error(i, s.key, "na.uitkomst", f"{bad} not among {src.key}'s uitkomsten {src.uitkomsten}")
            for ev in s.vervalt_bij:
                if ev not in self.gebeurtenissen:
                    raise _step_error(i, s.key, "vervalt_bij", f"event {ev!r} is not declared under gebeurtenissen")
            for fld in ("bij_goedkeuring", "bij_afwijzing"):
                ev = getattr(s, fld)
                if ev and ev not in self.gebeurtenissen:
                    raise _step_error(i, s.key, fld, f"event {ev!r} is not declared under gebeurtenissen")
            if s.kind is StapSoort.wait_event and s.event not in self.gebeurtenissen:
                raise _step_error(i, s.key, "event", f"event {s.event!r} is not declared under gebeurtenissen")
            if s.herinnert_aan:
                target = keys.get(s.herinnert_aan)
                if target is None or target.kind is not StapSoort.task:
                    raise _step_error(i, s.key, "herinnert_aan", f"{s.herinnert_aan!r} is not a task step")
            if s.ontvanger:
                for suffix in ("naam", "iban"):
                    fact = self.feiten.get(f"{s.ontvanger}_{suffix}")
                    if fact is None or fact.type is not FeitType.text or not fact.verplicht:
                        raise _step_error(i, s.key, "ontvanger", f"needs a required text fact "
                                          f"{s.ontvanger}_{suffix!s} under feiten")
            if s.zet_uitkomst:
                bad = [u for u in s.uitkomsten if u not in self.uitkomsten]
                if bad:
                    raise _step_error(i, s.key, "uitkomsten", f"{bad} are not trajectory uitkomsten {self.uitkomsten}")
            if s.kind is StapSoort.end and s.uitkomst and s.uitkomst not in self.uitkomsten:
                raise _step_error(i, s.key, "uitkomst", f"{s.uitkomst!r} is not among uitkomsten {self.uitkomsten}")
            if s.herhaal and s.herhaal.tot:
                tk, tn = s.herhaal.tot.split(":", 1) if ":" in s.herhaal.tot else (s.herhaal.tot, None)
                if tk == "stap" and tn not in keys:
                    raise _step_error(i, s.key, "herhaal.tot", f"step {tn!r} does not exist")
                if tk == "feit" and tn not in self.feiten and not self._fact_from_event(tn):
                    raise _step_error(i, s.key, "herhaal.tot", f"fact {tn!r} is not declared under feiten")
        if self.begin is not None:  # the engine reads only start or a fact given at start; else it would start today
            bk, _, bn = self.begin.anchor.partition(":")
            if bk not in ("start", "feit") or (bk == "feit" and bn not in self.feiten):
                raise ValueError(f"begin.anchor: {self.begin.anchor!r} must be start or feit:<a fact declared under feiten>")
        bad = [u for u in self.uitstroom_uitkomsten if u not in self.uitkomsten]
        if bad:
            raise ValueError(f"uitstroom_uitkomsten: {bad} are not among uitkomsten {self.uitkomsten}")
        for name, ev in self.gebeurtenissen.items():
            if ev.uitkomst and ev.uitkomst not in self.uitkomsten:
                raise ValueError(f"gebeurtenissen.{name}.uitkomst: {ev.uitkomst!r} is not among uitkomsten")
        if not any(s.kind is StapSoort.end for s in self.stappen) and not any(
            e.beeindigt for e in self.gebeurtenissen.values()
        ):
            raise ValueError("stappen: no step of kind 'end' and no ending event: a trajectory could never finish")
        return self

    def _fact_from_event(self, name: str | None) -> bool:
        return any(e.zet_feit == name for e in self.gebeurtenissen.values())

    def stap(self, key: str) -> Stap:
        for s in self.stappen:
            if s.key == key:
                return s
        raise KeyError(key)


class _StepError(ValueError):
    pass


def _step_error(index: int, key: str, fld: str, why: str) -> ValueError:
    return _StepError(f"stappen[{index}] ({key}).{fld}: {why}")


# --------------------------------------------------------------------------- loading


class DefinitieFout(ValueError):
    """An instrument file that is not valid; the message names the file, the step and the field."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


def _describe_location(data: Any, loc: tuple) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            key = None
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                key = node[item].get("key")
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]" + (f" ({key})" if key else "")]
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(file)"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (plain PyYAML keeps the last one
    silently, so a second ``offset:`` in a step would quietly win)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            step = next((v.value for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "key"
                         and isinstance(v, yaml.ScalarNode)), None)
            seen: set[str] = set()
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        where = f"step {step!r}: " if step else ""
                        raise yaml.constructor.ConstructorError(
                            None, None, f"{where}key {k.value!r} appears twice", k.start_mark)
                    seen.add(k.value)
        return super().construct_mapping(node, deep=deep)


def parse_definitie(text: str, path: Path | str = "<text>") -> Instrument:
    """The definition in ``text`` (validated), or DefinitieFout naming the file, the step and the field."""
    return _parse(text, str(path))


@lru_cache(maxsize=256)
def _parse(text: str, path: str) -> Instrument:
    # memoised: every engine opened (a CLI command, a worker) reads all instrument files, and a frozen
    # definition parsed from the same text is the same definition
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise DefinitieFout(path, [f"not valid YAML at {where}: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise DefinitieFout(path, ["the file must hold a mapping with instrument, naam, stappen, ..."])
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-after")))
            msg = err["msg"].removeprefix("Value error, ")
            if loc:
                problems.append(f"{_describe_location(data, loc)}: {msg}")
            else:
                problems.append(msg)
        raise DefinitieFout(path, problems) from None
    except (_StepError, OffsetError) as exc:  # pragma: no cover - pydantic wraps these
        raise DefinitieFout(path, [str(exc)]) from None
    stem = Path(str(path)).stem
    if str(path) != "<text>" and stem != inst.instrument:
        raise DefinitieFout(path, [f"instrument: {inst.instrument!r} must match the file name {stem!r}"])
    return inst


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_dir(directory: Path = INSTRUMENTEN_DIR) -> dict[str, tuple[Instrument, str]]:
    """All instrument files of a folder: name -> (definition, source text). Fails on the first bad file."""
    out: dict[str, tuple[Instrument, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        out[path.stem] = (parse_definitie(text, path), text)
    return out


def json_schema() -> dict:
    schema = Instrument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Instrument (trajectenengine)"
    return schema


def write_json_schema(path: Path) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
