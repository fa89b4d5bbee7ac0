"""A Prefect process worker that stops cleanly on SIGTERM (distributed mode, docs/deploy-herstel.md).

    python -m flows.worker --pool trajecten --name worker-1 --limit 4

does what ``prefect worker start --pool trajecten --name worker-1 --limit 4`` does (the same
``ProcessWorker``, settings and environment), except on SIGTERM or SIGINT: it **drains**. It stops asking
the server for runs at once, lets the flow runs it already started finish (their processes keep running:
the signal is not passed on), keeps its worker heartbeat going meanwhile, and exits with code 0 when the
last one has ended. A second signal only logs that it is still draining; the hard stop is the process
supervisor's SIGKILL after its stop timeout, which must therefore be longer than a run's time budget.

Stock ``prefect worker start`` 3.8.8 turns SIGTERM into SIGINT and cancels its loops, and a second
SIGTERM is a SIGKILL: see docs/deploy-herstel.md for what we observed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

log = logging.getLogger("trajecten.worker")


async def drain_worker(pool: str, *, name: str | None = None, limit: int = 1, work_queues: list[str] | None = None,
                       stop: asyncio.Event | None = None) -> int:
    """Run a process worker on ``pool`` until ``stop`` is set (by SIGTERM/SIGINT when not given), then
    drain: no new runs, wait for the started ones, return 0. ``limit`` (>= 1) caps concurrent runs; it is
    also how the worker knows when the last run has ended."""
    from prefect.settings import PREFECT_WORKER_HEARTBEAT_SECONDS, PREFECT_WORKER_QUERY_SECONDS
    from prefect.workers.process import ProcessWorker

    if limit < 1:
        raise ValueError("limit must be at least 1")
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()

        def on_signal(signum: int) -> None:
            if stop.is_set():
                log.warning("%s again: still draining (the supervisor's SIGKILL is the hard stop)",
                            signal.Signals(signum).name)
            else:
                log.warning("%s: no new flow runs; waiting for the running ones to finish",
                            signal.Signals(signum).name)
                stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
    query_s = float(PREFECT_WORKER_QUERY_SECONDS.value())
    heartbeat_s = float(PREFECT_WORKER_HEARTBEAT_SECONDS.value())

    async def every(seconds: float, work, until: asyncio.Event) -> None:
        while not until.is_set():
            try:
                await work()
            except Exception as exc:  # noqa: BLE001 - a passing API error must not end the worker
                log.warning("%s failed: %s: %s", getattr(work, "__name__", work), type(exc).__name__, exc)
            try:
                await asyncio.wait_for(until.wait(), timeout=seconds)
            except asyncio.TimeoutError:
                pass

    drained = asyncio.Event()
    async with ProcessWorker(name=name, work_pool_name=pool, work_queues=work_queues, limit=limit,
                             heartbeat_interval_seconds=int(heartbeat_s)) as worker:
        heartbeat = asyncio.create_task(every(heartbeat_s, worker.sync_with_backend, drained))
        log.warning("worker %r started (pool %s, limit %s); SIGTERM drains", worker.name, pool, limit)
        await every(query_s, worker.get_and_submit_flow_runs, stop)
        t0 = loop.time()
        while worker.limiter.borrowed_tokens > 0:
            await asyncio.sleep(0.2)
        log.warning("worker %r drained in %.1f s", worker.name, loop.time() - t0)
        drained.set()
        await heartbeat
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", "-p", required=True, help="work pool (trajecten)")
    ap.add_argument("--name", "-n", default=None, help="worker name")
    ap.add_argument("--limit", "-l", type=int, default=1, help="concurrent flow runs (default 1)")
    ap.add_argument("--work-queue", "-q", action="append", dest="work_queues", help="work queue (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(drain_worker(args.pool, name=args.name, limit=args.limit, work_queues=args.work_queues))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
