"""What the Prefect flows share: opening the engine, retrying transient database errors, and
publishing counts (never personal data) as artifacts."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.tasks import exponential_backoff
from sqlalchemy.exc import DBAPIError, OperationalError

from trajecten.kern.engine import Engine


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


RETRY = dict(retries=4, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
             retry_condition_fn=transient_db_error)


@contextmanager
def engine() -> Iterator[Engine]:
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
