"""Orchestration benchmark: what Prefect costs on top of the engine's own sweep, and how several
sweepers share one PostgreSQL database.

Run from the repository root:

    PYTHONPATH=. python bench/orchestration.py            # 10k and 100k due steps (~6-10 min on 2 cores)
    PYTHONPATH=. python bench/orchestration.py --quick    # smoke run: 2k and 10k, workers 1 and 2

What is measured (PostgreSQL at 127.0.0.1:5432; each measurement on a fresh copy of one populated
template database, ``CREATE DATABASE ... TEMPLATE``):

* direct: ``Engine.open(url)`` + ``engine.sweep(batch_size=B)`` until nothing is due, in this process.
* flow: the Prefect flow ``flows.sweep:sweep(budget_s, batch_size=B)`` called in this process
  against a real Prefect server (started here on loopback, its own PostgreSQL database, its own
  temporary PREFECT_HOME): flow and task runs, state reports, the artifact, plus the same engine work.
  Overhead = flow seconds / direct seconds - 1. Goal at 100k: <= 10 %.
* parallel: 1, 2 and 4 sweepers at once over the same N due steps - plain processes (spawn, each
  its own Engine, started together) and Prefect process workers (one per run, ``--limit 1``; the
  ``sweep`` deployment from ``prefect.yaml``, N flow runs created at once). Reported: steps/s over the
  wall time from start (barrier / flow-run creation) until all are done, and for Prefect also over
  the span from the first flow run start to the last end (the sweep itself, without pickup).

The data is bench/_common's synthetic ``intensief_begeleiden`` set (3 due steps of mixed kinds per
trajectory), built around the real current time, because the flows use the system clock.
Results go to the section between ``<!-- orchestration:start -->`` and ``<!-- orchestration:end -->``
of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402
from trajecten.basis.tijd import TZ, FixedClock  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- orchestration:start -->", "<!-- orchestration:end -->"
GOAL_OVERHEAD = 0.10
console = Console(width=max(Console().width, 160))
TAG = uuid.uuid4().hex[:6]


# --------------------------------------------------------------------------- databases


def pg_url(name: str) -> str:
    return f"postgresql+psycopg://{c.PG_USER}@{c.PG_HOST}:{c.PG_PORT}/{name}"


class Templates:
    """A populated template per size; fresh copies handed out and dropped after use."""

    def __init__(self):
        self.made: list[str] = []

    def build(self, n_due: int) -> str:
        name = f"bench_orch_t{n_due}_{TAG}"
        url = c.pg_recreate(name)
        self.made.append(name)
        eng = c.open_engine(url)
        ds = c.populate(eng, n_due)
        eng.db.dispose()
        assert ds.due == n_due, ds
        return name

    def copy(self, template: str) -> str:
        name = f"bench_orch_c{uuid.uuid4().hex[:8]}"
        with c.pg_admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                          "AND pid <> pg_backend_pid()", (template,))
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        c.pg_drop(name)
        if name in self.made:
            self.made.remove(name)

    def cleanup(self) -> None:
        for name in list(self.made):
            try:
                self.drop(name)
            except Exception as exc:  # noqa: BLE001
                console.print(f"[yellow]could not drop {name}: {exc}")


def fired(url: str) -> int:
    import sqlalchemy as sa

    from trajecten.opslag.models import GeplandeStap

    S = GeplandeStap.__table__
    eng = sa.create_engine(url)
    try:
        with eng.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(S)
                                .where(S.c.status == "gepland", S.c.due_at <= c.NOW)).scalar()
            done = conn.execute(sa.select(sa.func.count()).select_from(S)
                                .where(S.c.status != "gepland", S.c.uitgevoerd_op > c.NOW - dt.timedelta(days=1))).scalar()
    finally:
        eng.dispose()
    assert left == 0, f"{left} due steps left"
    return done


# --------------------------------------------------------------------------- Prefect server


class PrefectServer:
    """``prefect server start`` on loopback with its own PostgreSQL database and PREFECT_HOME."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="bench_prefect_"))
        self.db = f"bench_orch_prefect_{TAG}"
        self.procs: list[subprocess.Popen] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.api = f"http://127.0.0.1:{self.port}/api"
        exe = Path(sys.executable).parent / "prefect"
        self.cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRAJECTEN_"))}
        self.env.update({
            "PREFECT_HOME": str(self.home), "PREFECT_PROFILES_PATH": str(self.home / "profiles.toml"),
            "PREFECT_API_URL": self.api,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{c.PG_USER}@{c.PG_HOST}:{c.PG_PORT}/{self.db}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
            # every server service runs (the scheduler too): deploy() pauses the deployments instead
            "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "TRAJECTEN_HOME": str(ROOT),
            "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        })

    def start(self) -> float:
        import httpx

        t0 = time.perf_counter()
        with c.pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db}"')
            admin.execute(f'CREATE DATABASE "{self.db}"')
        import psycopg

        with psycopg.connect(host=c.PG_HOST, port=c.PG_PORT, user=c.PG_USER, dbname=self.db, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        self.spawn("server", ["server", "start", "--host", "127.0.0.1", "--port", str(self.port)])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            if self.procs[0].poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"prefect server did not start:\n{(self.home / 'server.log').read_text()[-3000:]}")

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        with open(self.home / f"{name}.log", "ab") as log:
            p = subprocess.Popen(self.cli + args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        self.procs.append(p)
        return p

    def run(self, args: list[str]) -> str:
        cp = subprocess.run(self.cli + args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        if cp.returncode:
            raise RuntimeError(f"prefect {' '.join(args)}: {cp.stdout}\n{cp.stderr}")
        return cp.stdout

    def deploy(self) -> None:
        """Deploy ``prefect.yaml`` as committed, then pause every deployment: the server's scheduler runs
        (as in production) but creates no runs, so only the runs this benchmark creates are measured and
        nothing else takes a worker. A paused deployment still runs the flow runs created for it."""
        import httpx

        self.run(["work-pool", "create", "trajecten", "--type", "process"])
        self.run(["--no-prompt", "deploy", "--all"])
        with httpx.Client(base_url=self.api, timeout=30) as http:
            deployments = http.post("/deployments/filter", json={}).raise_for_status().json()
            for d in deployments:
                http.patch(f"/deployments/{d['id']}", json={"paused": True}).raise_for_status()
            # pausing deletes the future scheduled runs; one already due (a minute boundary passed during
            # the deploy) would still be taken by a worker
            for r in http.post("/flow_runs/filter", json={"flow_runs": {"state": {"type": {"any_": [
                    "SCHEDULED"]}}}}).raise_for_status().json():
                http.delete(f"/flow_runs/{r['id']}").raise_for_status()

    @staticmethod
    def stop(procs: list[subprocess.Popen]) -> None:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.stop(list(reversed(self.procs)))
        self.procs.clear()
        try:
            c.pg_drop(self.db) if self.db.startswith("bench_") else None
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


# --------------------------------------------------------------------------- measurements


@dataclass
class Run:
    label: str
    n: int
    steps: int
    seconds: float
    sweep_seconds: float | None = None  # Prefect: first flow-run start -> last end

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


def direct(url: str, batch_size: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    eng = c.open_engine(url)
    try:
        res = eng.sweep(batch_size=batch_size)
    finally:
        eng.db.dispose()
    return res.verwerkt, time.perf_counter() - t0


def flow_in_process(url: str, batch_size: int) -> tuple[int, float]:
    from flows.sweep import sweep

    os.environ["TRAJECTEN_DATABASE_URL"] = url
    t0 = time.perf_counter()
    out = sweep(budget_s=3600, batch_size=batch_size)
    return out["uitgevoerd"] + out["overgeslagen"] + out["geannuleerd"], time.perf_counter() - t0


def _sweeper(url: str, now_iso: str, batch_size: int, go, out) -> None:
    from trajecten.kern.engine import Engine

    eng = Engine.open(url, clock=FixedClock(dt.datetime.fromisoformat(now_iso)))
    try:
        go.wait(timeout=120)
        res = eng.sweep(batch_size=batch_size)
        out.put(res.verwerkt)
    finally:
        eng.db.dispose()


def premigrate(url: str) -> None:
    """Bring the copy to the newest schema once, before several sweepers open it at the same moment
    (concurrent ``Engine.open`` calls on a database that needs a migration race each other)."""
    c.open_engine(url).db.dispose()


def parallel_processes(url: str, batch_size: int, procs: int) -> tuple[int, float]:
    premigrate(url)
    ctx = mp.get_context("spawn")
    go, out = ctx.Barrier(procs + 1), ctx.Queue()
    ps = [ctx.Process(target=_sweeper, args=(url, c.NOW.isoformat(), batch_size, go, out)) for _ in range(procs)]
    for p in ps:
        p.start()
    go.wait(timeout=120)  # every process has opened its engine
    t0 = time.perf_counter()
    total = sum(out.get(timeout=1800) for _ in ps)
    seconds = time.perf_counter() - t0
    for p in ps:
        p.join(timeout=30)
    return total, seconds


async def _prefect_runs(url: str, batch_size: int, n: int) -> tuple[int, float, float]:
    from prefect import get_client
    from prefect.deployments import run_deployment

    async with get_client() as client:
        t0 = time.perf_counter()
        runs = await asyncio.gather(*[
            run_deployment("sweep/sweep", parameters={"budget_s": 3600, "batch_size": batch_size}, timeout=0,
                           job_variables={"env": {"TRAJECTEN_DATABASE_URL": url}}) for _ in range(n)])
        while True:
            frs = [await client.read_flow_run(r.id) for r in runs]
            if all(fr.state and fr.state.is_final() for fr in frs):
                break
            if time.perf_counter() - t0 > 1800:
                raise RuntimeError("flow runs did not finish")
            await asyncio.sleep(0.25)
        seconds = time.perf_counter() - t0
        bad = [fr.state.name for fr in frs if not fr.state.is_completed()]
        if bad:
            raise RuntimeError(f"flow runs not completed: {bad}")
        span = (max(fr.end_time for fr in frs) - min(fr.start_time for fr in frs)).total_seconds()
    return 0, seconds, span


def parallel_prefect(server: PrefectServer, url: str, batch_size: int, n: int) -> tuple[float, float]:
    premigrate(url)
    workers = [server.spawn(f"worker{n}_{i}", ["worker", "start", "--pool", "trajecten", "--limit", "1",
                                                "--name", f"bench-{n}-{i}"]) for i in range(n)]
    try:
        _wait_workers(n)
        _, seconds, span = asyncio.run(_prefect_runs(url, batch_size, n))
    finally:
        server.stop(workers)
        for w in workers:
            server.procs.remove(w)
    return seconds, span


def _wait_workers(n: int) -> None:
    async def online() -> int:
        from prefect import get_client

        async with get_client() as client:
            ws = await client.read_workers_for_work_pool("trajecten")
        return sum(1 for w in ws if str(getattr(w.status, "value", w.status)).upper() == "ONLINE")

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if asyncio.run(online()) >= n:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{n} workers not online")


# --------------------------------------------------------------------------- report


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run: 2k and 10k due steps, 1 and 2 workers")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="due steps for direct vs flow (default 10000,100000)")
    ap.add_argument("--parallel-n", type=int, default=None, help="due steps for the parallel runs (default 100000)")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="concurrent sweepers (default 1,2,4)")
    ap.add_argument("--batch-size", type=int, default=2000, help="steps per claim (default 2000, the engine default)")
    ap.add_argument("--repeat", type=int, default=3, help="direct/flow: best of this many runs each, interleaved (default 3)")
    ap.add_argument("--no-prefect-workers", action="store_true", help="skip the parallel runs through Prefect workers")
    ap.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([2000, 10_000] if args.quick else [10_000, 100_000])
    par_n = args.parallel_n or (10_000 if args.quick else 100_000)
    workers = args.workers or ([1, 2] if args.quick else [1, 2, 4])
    if args.quick:
        args.repeat = 1
    reason = c.pg_available()
    if reason:
        console.print(f"[red]PostgreSQL at {c.PG_HOST}:{c.PG_PORT} unreachable ({reason}); nothing measured")
        return 2

    # the flows use the system clock: build the data around the real now (due steps in the past,
    # the rest weeks ahead), and sweep the direct runs at that same moment
    c.NOW = dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(minutes=1)
    command = "PYTHONPATH=. python bench/orchestration.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    load_before = c.loadavg()
    t_all = time.perf_counter()
    tpl = Templates()
    server = PrefectServer()
    results: dict[str, Run] = {}
    extra: dict[str, str] = {}
    try:
        console.print("starting the Prefect server ...")
        extra["server_start_s"] = f"{server.start():.1f}"
        os.environ.update({k: v for k, v in server.env.items() if k.startswith("PREFECT_")})
        server.deploy()
        templates: dict[int, str] = {}
        for n in sorted(set(sizes) | {par_n}):
            console.print(f"populating template with {n:,} due steps ...")
            t0 = time.perf_counter()
            templates[n] = tpl.build(n)
            console.print(f"  {time.perf_counter() - t0:.1f} s")

        # warm-up: imports, the Prefect client, the first flow run (not measured)
        warm = tpl.copy(templates[min(templates)])
        t0 = time.perf_counter()
        flow_in_process(pg_url(warm), args.batch_size)
        extra["first_flow_s"] = f"{time.perf_counter() - t0:.1f}"
        tpl.drop(warm)

        for n in sizes:
            # interleaved (direct, flow, direct, flow, ...) so a busy moment of this shared machine
            # does not fall on one side only; the best of each is kept
            for _ in range(args.repeat):
                for kind, fn in (("direct", direct), ("flow", flow_in_process)):
                    name = tpl.copy(templates[n])
                    steps, secs = fn(pg_url(name), args.batch_size)
                    assert steps == n and fired(pg_url(name)) == n, (kind, n, steps)
                    tpl.drop(name)
                    run, key = Run(kind, n, steps, secs), f"{kind}:{n}"
                    console.print(f"  {kind:6s} {n:>7,}: {secs:6.2f} s  {fmt(run.rate)} steps/s")
                    if key not in results or run.seconds < results[key].seconds:
                        results[key] = run

        for k in workers:
            name = tpl.copy(templates[par_n])
            steps, secs = parallel_processes(pg_url(name), args.batch_size, k)
            assert steps == par_n and fired(pg_url(name)) == par_n, (k, steps)
            tpl.drop(name)
            results[f"proc:{k}"] = Run(f"{k} processes", par_n, steps, secs)
            console.print(f"  processes x{k}: {secs:6.2f} s  {fmt(steps / secs)} steps/s")
        if not args.no_prefect_workers:
            for k in workers:
                name = tpl.copy(templates[par_n])
                secs, span = parallel_prefect(server, pg_url(name), args.batch_size, k)
                assert fired(pg_url(name)) == par_n, k
                tpl.drop(name)
                results[f"prefect:{k}"] = Run(f"{k} Prefect workers", par_n, par_n, secs, span)
                console.print(f"  prefect workers x{k}: {secs:6.2f} s ({span:.2f} s flow-run span)  "
                              f"{fmt(par_n / secs)} steps/s")
    finally:
        server.close()
        tpl.cleanup()
    total_s = time.perf_counter() - t_all

    t = Table(title="Prefect sweep flow vs the engine directly (PostgreSQL)")
    for col in ("due steps", "direct s", "direct steps/s", "flow s", "flow steps/s", "overhead"):
        t.add_column(col, justify="right")
    for n in sizes:
        d, f = results[f"direct:{n}"], results[f"flow:{n}"]
        t.add_row(f"{n:,}", f"{d.seconds:.2f}", fmt(d.rate), f"{f.seconds:.2f}", fmt(f.rate),
                  f"{(f.seconds / d.seconds - 1) * 100:+.1f} %")
    console.print(t)
    t2 = Table(title=f"Concurrent sweepers over {par_n:,} due steps (PostgreSQL, batch {args.batch_size})")
    for col in ("sweepers", "processes s", "processes steps/s", "Prefect workers s", "Prefect steps/s",
                "Prefect flow-run span s", "steps/s over span"):
        t2.add_column(col, justify="right")
    for k in workers:
        p = results[f"proc:{k}"]
        q = results.get(f"prefect:{k}")
        t2.add_row(str(k), f"{p.seconds:.2f}", fmt(p.rate), f"{q.seconds:.2f}" if q else "-", fmt(q.rate) if q else "-",
                   f"{q.sweep_seconds:.2f}" if q else "-", fmt(par_n / q.sweep_seconds) if q else "-")
    console.print(t2)
    if not args.no_write:
        c.write_section("orchestration", report(results, sizes, par_n, workers, args, command, total_s, extra, load_before, c.loadavg()))
        console.print(f"written: {DOC.relative_to(ROOT)} (section {START} ... {END})")
    return 0


def report(results, sizes, par_n, workers, args, command, total_s, extra, load_before, load_after) -> str:
    m = c.machine()
    big = max(sizes)
    over = results[f"flow:{big}"].seconds / results[f"direct:{big}"].seconds - 1
    lines = [
        "## Orchestration: the Prefect `sweep` flow vs the engine, and concurrent sweepers",
        "",
        f"Command: `{command}` (from the repository root), {dt.date.today().isoformat()}, total {total_s / 60:.1f} min.",
        f"Machine: {m['nproc']} cores ({m['cpu'] or '?'}), Python {m['python']}, PostgreSQL {m['postgres']} on "
        f"127.0.0.1; load average before/after {load_before} / {load_after} (shared machine).",
        f"Prefect server (own PostgreSQL database, UI off) healthy after {extra.get('server_start_s', '?')} s; "
        f"first, unmeasured flow run {extra.get('first_flow_s', '?')} s.",
        "",
        "Data: bench/_common's synthetic `intensief_begeleiden` set (3 due steps of mixed kinds per trajectory:",
        "reminder that looks up a task, weekly reminder that plans its next occurrence, task that creates a",
        f"`taak` row), each run on a fresh copy of one template database; batch size {args.batch_size}.",
        f"Direct and flow: best of {args.repeat}, interleaved; both include opening the engine (`Engine.open`).",
        "",
        "| due steps | direct s | direct steps/s | flow s | flow steps/s | Prefect overhead |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        d, f = results[f"direct:{n}"], results[f"flow:{n}"]
        lines.append(f"| {n:,} | {d.seconds:.2f} | {fmt(d.rate)} | {f.seconds:.2f} | {fmt(f.rate)} | "
                     f"{(f.seconds / d.seconds - 1) * 100:+.1f} % |")
    lines += [
        "",
        f"Goal: overhead <= {GOAL_OVERHEAD:.0%} at {big:,}: **{'met' if over <= GOAL_OVERHEAD else 'NOT met'}** "
        f"({over * 100:+.1f} %). The flow is called in-process against the server (`flows.sweep:sweep`): the cost",
        "is Prefect's run bookkeeping (flow run, task run, states, one artifact), about a fixed second per run,",
        "so it shrinks as a share when a run handles more steps.",
        "",
        f"Concurrent sweepers over {par_n:,} due steps, all started together (steps/s = all steps / wall time):",
        "",
        "| sweepers | processes s | processes steps/s | Prefect workers s | Prefect steps/s | flow-run span s | steps/s over span |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in workers:
        p, q = results[f"proc:{k}"], results.get(f"prefect:{k}")
        lines.append(f"| {k} | {p.seconds:.2f} | {fmt(p.rate)} | " + (
            f"{q.seconds:.2f} | {fmt(q.rate)} | {q.sweep_seconds:.2f} | {fmt(par_n / q.sweep_seconds)} |"
            if q else "- | - | - | - |"))
    lines += [
        "",
        "Processes: spawned Python processes, each with its own `Engine`, released together by a barrier.",
        "Prefect workers: `prefect worker start --pool trajecten --limit 1` once per sweeper, then as many",
        "`sweep/sweep` flow runs created at once; the wall time includes the worker picking the run up and",
        "starting its flow-run process (seconds), the span is first flow-run start to last flow-run end.",
        f"Every run checked: all {par_n:,} due steps fired, none left. Claims use `FOR UPDATE SKIP LOCKED`,",
        f"so sweepers never wait on each other's rows; on {m['nproc']} cores more than two sweepers mostly",
        "share the same CPUs with PostgreSQL itself.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
