"""What the Prefect flows share: opening the engine, retrying transient database errors, and
publishing counts (never personal data) as artifacts."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy.exc import DBAPIError, OperationalError

from trajecten import Engine, RetryPolicy
from trajecten.basis.proces import stem_af


def transient_db_error(task, task_run, state) -> bool:
    """Retry only what a retry can fix: a lost connection or a locked database, not a bug."""
    try:
        state.result()
    except OperationalError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:  # noqa: BLE001
        return False
    return False


# a task that lost its database: 5 attempts, 5, 10, 20 and 40 s apart (with Prefect's jitter)
TAAK = RetryPolicy(pogingen=5, start_s=5, max_s=40)
RETRY = dict(retries=TAAK.pogingen - 1, retry_delay_seconds=TAAK.wachttijden(), retry_jitter_factor=0.5,
             retry_condition_fn=transient_db_error)


@contextmanager
def engine() -> Iterator[Engine]:
    """The engine for one flow run (its own process: tuned once, ``trajecten.basis.proces``)."""
    stem_af()
    eng = Engine.open()
    try:
        yield eng
    finally:
        eng.db.dispose()


def publish(key: str, title: str, counts: dict) -> None:
    """A small markdown artifact with the counts of a run (keys: lowercase letters, digits, dashes)."""
    lines = [f"### {title}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in counts.items() if not isinstance(v, (list, dict))]
    create_markdown_artifact(markdown="\n".join(lines), key=key, description=title)


def publish_table(key: str, rows: list[dict], title: str) -> None:
    create_table_artifact(table=rows, key=key, description=title)
