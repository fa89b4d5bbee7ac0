"""What the sweep needs of the engine, as a Protocol: ``Engine`` provides it, and the sweep's modules
(``sweep``, ``batch``, ``stap``) name this instead of importing ``engine`` (which imports them)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine as SAEngine

from trajecten.basis.config import Settings
from trajecten.basis.herhalen import RetryPolicy
from trajecten.basis.tijd import Clock
from trajecten.kern.planner import PlanContext
from trajecten.kern.regelhaak import RuleHook
from trajecten.kern.register import DefinitionRegister


class Motor(Protocol):
    db: SAEngine
    reader: SAEngine
    settings: Settings
    clock: Clock
    register: DefinitionRegister
    rules: RuleHook
    plan_context: PlanContext
    retry_policy: RetryPolicy
    is_postgres: bool

    def transaction(self, conn=None): ...
