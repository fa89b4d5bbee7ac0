"""W3C Trace Context for the Logboek Dataverwerkingen: the trace a processing belongs to (read from a request's
``traceparent`` or new), carried in a context variable, and random span ids."""

from __future__ import annotations

import os
import random
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


@dataclass(frozen=True)
class Trace:
    """A position in a trace: the trace and the span that is running now."""

    trace_id: str
    span_id: str
    flags: str = "01"

    def header(self) -> str:
        """The ``traceparent`` header value for this span."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def kind(self) -> "Trace":
        """A child span in the same trace."""
        return Trace(self.trace_id, secrets.token_hex(8), self.flags)


def nieuwe_trace() -> Trace:
    return Trace(secrets.token_hex(16), secrets.token_hex(8))


def lees_traceparent(value: str | None) -> Trace | None:
    """The caller's position from a ``traceparent`` header, or None when absent or invalid (W3C rules:
    version ``ff`` and all-zero ids are invalid; a later version may append fields after a dash)."""
    if not value:
        return None
    value = value.strip()
    m = _TRACEPARENT.match(value)
    if m is None:
        return None
    version, trace_id, span_id, flags = m.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    if version == "00" and len(value) != 55:
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    return Trace(trace_id, span_id, flags)


_trace: ContextVar[Trace | None] = ContextVar("trajecten_trace", default=None)


def huidige_trace() -> Trace | None:
    return _trace.get()


@contextmanager
def in_trace(trace: Trace | None = None) -> Iterator[Trace]:
    """Run the block in ``trace`` (a new trace when None): processing records inside become its children."""
    trace = trace or nieuwe_trace()
    token = _trace.set(trace)
    try:
        yield trace
    finally:
        _trace.reset(token)


_rng = random.Random(secrets.token_bytes(16))


def _reseed() -> None:
    _rng.seed(secrets.token_bytes(16))


os.register_at_fork(after_in_child=_reseed)  # a forked worker gets its own sequence


def _span_id() -> str:
    """A random span id for a record: bulk paths write thousands at a time, so from a generator seeded
    once per process with the OS's randomness, not a system call per record (W3C: random, not all zero)."""
    return f"{_rng.getrandbits(64) or 1:016x}"
