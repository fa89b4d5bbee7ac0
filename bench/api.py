"""Web API benchmark: latency of starting a trajectory and of the worklist page, over real HTTP.

Run from the repository root:

    PYTHONPATH=. python bench/api.py            # 100,000 trajectories, 2,000 starts (~10 min on 2 cores)
    PYTHONPATH=. python bench/api.py --quick    # smoke run: 10,000 trajectories, 300 starts (~1.5 min)

What is measured (each on SQLite and on PostgreSQL 127.0.0.1:5432):

* the database holds N trajectories of ``intensief_begeleiden`` (100,000; bulk-loaded with COPY /
  one ``executemany`` transaction by ``bench/_common.populate``: 3 due and 2 future steps each, one
  intake task per trajectory, ¾ of them open) in one area team, 40 coaches, plus 20,000 fresh clients
  in bijstand for the starts;
* the server is ``create_app(engine)`` under uvicorn (one process, ``--workers`` to change) in a
  subprocess, the engine's clock fixed at the dataset's "now"; no scheduler;
* the load is an ``httpx.AsyncClient`` in this process with C users (asyncio tasks): 1 user (the
  unloaded service time); 50 users each sending the next request after a think time (exponential, mean
  ``--think``, default 1 s: staff reading the answer) - the goal's "50 concurrent clients"; and 50 users
  without think time (a closed loop at full speed: the capacity in req/s). A warm-up of C requests (one
  per user) is not counted. Latency = send to full response, per request;
* start: ``POST /api/trajecten`` (bearer token of a coach; every request a different client: rule
  decision, trajectory, 8 planned steps and the events in one transaction). Goal: p95 <= 20 ms at 50;
* worklist: ``GET /`` (the "Mijn werklijst" page, session cookie of coach ``coach00``: ~1,900 open tasks
  of their own, 50 shown per section) and, as a heavier variant, the same page for the team lead
  of the area (its 75,000 open tasks, counted up to 1,000 and 50 shown per section). Goal: p95 <= 100 ms.

Results go between ``<!-- api:start -->`` and ``<!-- api:end -->`` of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402

from bench import _common as c  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("BENCH_WORKDIR", "/tmp/bench_api"))
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- api:start -->", "<!-- api:end -->"
WACHTWOORD = "bench-wachtwoord"
GEBIED = "centrum"  # the area of bench/_common's synthetic clients and coaches
console = Console()


# --------------------------------------------------------------------------- the server (subprocess)


def _make_app(url: str):
    from trajecten.basis.config import load_settings
    from trajecten.kern.engine import Engine
    from trajecten.basis.tijd import FixedClock
    from trajecten.web import create_app, klaar_voor_verkeer

    eng = Engine(c.open_engine(url).db, clock=FixedClock(c.NOW), settings=load_settings(database_url=url))
    app = create_app(eng, secret_key="bench-sleutel")
    klaar_voor_verkeer()  # as ``trajecten serve`` does
    return app


def app_from_env():
    """uvicorn factory for ``--workers`` > 1 (each worker process builds its own app)."""
    return _make_app(os.environ["BENCH_API_URL"])


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY on each connection. With ``--workers`` > 1 uvicorn binds the
    socket itself (``socket.socket(family)``, protocol 0) and asyncio sets TCP_NODELAY only on sockets whose
    protocol is TCP: a keep-alive answer written in two parts (headers, body) then waits for the client's
    delayed ACK, ~40 ms per request. One process (asyncio binds the socket) is not affected."""

    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def serve(url: str, port: int, workers: int) -> None:
    """``python bench/api.py --serve URL --port P``: the app on the engine at URL, clock fixed at c.NOW."""
    import uvicorn

    # keep-alive longer than any pause of the load (uvicorn's 5 s default races with reused idle connections)
    opts = dict(host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
                timeout_keep_alive=120)
    if workers == 1:
        uvicorn.run(_make_app(url), **opts)
    else:
        os.environ["BENCH_API_URL"] = url
        uvicorn.run("bench.api:app_from_env", factory=True, workers=workers, http="bench.api:NoDelayH11Protocol",
                    **opts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, workers: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(self.port),
                                      "--workers", str(workers)], env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server stopped ({self.proc.returncode})")
            try:
                if httpx.get(self.base + "/gezond", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    trajecten: int
    open_taken: int
    start_clients: list[int]
    coach_token: str
    setup_s: float


def build(url: str, n_traject: int, n_start: int) -> Data:
    """Populate a fresh, migrated database: N trajectories (bulk), clients for the starts, users, a token."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    from trajecten.basis.bsn import synthetisch
    from trajecten.opslag.models import Client, Gebruiker, Taak
    from trajecten.web import maak_token

    t0 = time.perf_counter()
    eng = c.open_engine(url)
    ds = c.populate(eng, n_due=3 * n_traject)  # 3 due steps per trajectory -> n_traject trajectories
    assert ds.trajecten == n_traject, ds
    rng = random.Random(7)
    taken: set[str] = set()
    rows = []
    while len(rows) < n_start:
        bsn = synthetisch(rng)
        if bsn in taken or 100_000_000 <= int(bsn) <= 100_000_000 + n_traject + 10:
            continue
        taken.add(bsn)
        rows.append({"bsn": bsn, "naam": f"Start {len(rows)}", "geboortedatum": dt.date(1985, 1, 1) +
                     dt.timedelta(days=len(rows) % 5000), "postcode": "9711AB", "gebied": GEBIED,
                     "coach": "coach00", "bijstand_sinds": dt.date(2022, 1, 1), "aangemaakt_op": c.NOW})
    h = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(WACHTWOORD)
    with eng.db.begin() as conn:
        conn.execute(Client.__table__.insert(), rows)
        ids = conn.execute(sa.select(Client.__table__.c.id).where(Client.__table__.c.naam.like("Start %"))
                           .order_by(Client.__table__.c.id)).scalars().all()
        conn.execute(Gebruiker.__table__.insert(), [
            {"gebruikersnaam": naam, "naam": naam, "rol": rol, "gebied": GEBIED, "email": "", "wachtwoord_hash": h,
             "actief": True, "aangemaakt_op": c.NOW}
            for naam, rol in (("coach00", "coach"), ("teamleider.centrum", "teamleider"))])
        uid = conn.execute(sa.select(Gebruiker.__table__.c.id)
                           .where(Gebruiker.__table__.c.gebruikersnaam == "coach00")).scalar_one()
        open_taken = conn.execute(sa.select(sa.func.count()).select_from(Taak.__table__)
                                  .where(Taak.__table__.c.status == "open")).scalar_one()
    if eng.is_postgres:
        with eng.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with eng.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    token = maak_token(eng, "bench-coach", "coach", gebruiker_id=uid)
    eng.db.dispose()
    return Data(n_traject, open_taken, list(ids), token, time.perf_counter() - t0)


# --------------------------------------------------------------------------- load


@dataclass
class Result:
    name: str
    concurrency: int
    n: int
    think_s: float
    errors: int
    statuses: dict  # status code (or httpx exception name) -> count
    lat_ms: list[float]
    wall_s: float

    def pct(self, p: float) -> float:
        xs = sorted(self.lat_ms)
        if not xs:
            return float("nan")
        k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
        return xs[k]

    @property
    def rps(self) -> float:
        return len(self.lat_ms) / self.wall_s if self.wall_s else 0.0


async def _login(client: httpx.AsyncClient, user: str) -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"gebruikersnaam": user, "wachtwoord": WACHTWOORD, "csrf_token": csrf,
                                          "volgende": "/"})
    assert r.status_code == 303, (r.status_code, r.text[:300])


async def run_load(base: str, name: str, concurrency: int, n: int, make_request, *, login: str | None = None,
                   expect: int = 200, think_s: float = 0.0) -> Result:
    """``concurrency`` users (tasks), each sending its next request when the previous answered and, with
    ``think_s``, after a think time drawn from an exponential distribution with that mean (a person
    reading the answer). ``think_s=0`` is a closed loop at full speed: it measures capacity, and the
    latency it gives is mostly the wait behind the other users."""
    rng = random.Random(concurrency * 7919 + n)
    limits = httpx.Limits(max_connections=concurrency + 5, max_keepalive_connections=concurrency + 5)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, follow_redirects=False) as client:
        if login:
            await _login(client, login)
        warm = concurrency  # one request per task first: connections open, caches warm
        counter = iter(range(warm + n))
        lat: list[float] = []
        statuses: dict[int | str, int] = {}
        errors = 0
        t_first = None

        async def worker():
            nonlocal errors, t_first
            if think_s:  # users do not all start in the same millisecond
                await asyncio.sleep(rng.uniform(0, think_s))
            for i in counter:
                t0 = time.perf_counter()
                try:
                    r = await make_request(client, i)
                    code = r.status_code
                except httpx.HTTPError as exc:  # counted as not 2xx, by kind
                    code = type(exc).__name__
                t1 = time.perf_counter()
                if i < warm:
                    continue
                if t_first is None:
                    t_first = t0
                statuses[code] = statuses.get(code, 0) + 1
                if code != expect:
                    errors += 1
                lat.append((t1 - t0) * 1000)
                if think_s:
                    await asyncio.sleep(rng.expovariate(1 / think_s))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - (t_first or t0)
    return Result(name, concurrency, n, think_s, errors, statuses, lat, wall)


SHARE = {"start": 1.0, "werklijst coach": 0.1, "werklijst teamleider": 0.03}  # of --requests (pages are slower)


def count(name: str, n: int, conc: int) -> int:
    m = max(20, round(n * SHARE[name]))
    return m if conc > 1 else max(20, m // 10)


def scenarios(base: str, data: Data, n: int, concurrencies: list[int], think_s: float) -> list[Result]:
    results: list[Result] = []
    pool = iter(data.start_clients)
    auth = {"Authorization": f"Bearer {data.coach_token}"}

    async def start(client, i):
        return await client.post("/api/trajecten", headers=auth, json={
            "instrument": "intensief_begeleiden", "client_id": next(pool), "feiten": {"variant": "richting_werk"}})

    async def werklijst(client, i):
        return await client.get("/")

    # 1 user: the unloaded service time; C users with think time: the goal (staff at work); C users
    # without think time: the capacity (requests/s) and what latency becomes beyond it
    for conc in concurrencies:
        for think in ([0.0] if conc == 1 else [think_s, 0.0]):
            results.append(asyncio.run(run_load(base, "start", conc, count("start", n, conc), start, expect=201,
                                                think_s=think)))
            results.append(asyncio.run(run_load(base, "werklijst coach", conc, count("werklijst coach", n, conc),
                                                werklijst, login="coach00", think_s=think)))
            results.append(asyncio.run(run_load(base, "werklijst teamleider", conc,
                                                count("werklijst teamleider", n, conc), werklijst,
                                                login="teamleider.centrum", think_s=think)))
    return results


# --------------------------------------------------------------------------- report


GOALS = {"start": 20.0, "werklijst coach": 100.0, "werklijst teamleider": 100.0}
WHAT = {"start": "start trajectory `POST /api/trajecten`",
        "werklijst coach": "worklist page `GET /` (coach: own tasks)",
        "werklijst teamleider": "worklist page `GET /` (team lead: whole area)"}


NOTES = """\
How the goals are read (P5): *start-trajectory p95 at 50 concurrent clients* is the start row with 50
users and think time; *worklist page p95 with 100,000 trajectories in the database* is the worklist row
with one user (the data volume is the condition). The worklist rows with 50 users are a load far above
real use - every one of 50 staff members reloading the full worklist every second, ~28 page views per
second - reported so its cost is visible, not as the goal.

Where the time goes (hand-written, the numbers in the table above are regenerated):

* **Start trajectory** (`POST /api/trajecten`): the area check, the rule decision, the trajectory, its
  planned steps, its start event (with the decision) and the request's Logboek record in **one
  transaction** on one connection (since 2026-11-26: before, several pool check-outs each with a ping, and
  a second transaction after the answer for the Logboek record).
  Token and session look-ups are remembered 5 s per process (`trajecten/web/_auth.py`), PostgreSQL
  connections are pinged only after resting 5 s, the pool holds 20 instead of 5 (under bursts the server
  had been opening new backend processes), and `trajecten serve` freezes its start-up objects out of
  the garbage collector's sight (`gc.freeze`). The capacity rows (no think time): one uvicorn process on 2
  shared cores does the req/s shown and a request waits for the ~49 in front of it (p95 ≈ 50 /
  throughput). `--workers 2` had seemed slower: uvicorn's multi-process socket left TCP_NODELAY off, so
  every keep-alive answer waited for the client's delayed ACK (bench/api.py now sets it); with it, two
  workers were no better than one on this 2-core machine.
* **Worklist page** (`trajecten/web/_data.py: werklijst`): the coach's own open tasks come from the index
  `ix_taak_open` (assignee, due time); the team lead's counts stop at 1,000 ("meer dan 1000"; the caseload
  page has exact counts per coach) and its rows come from the partial index `ix_taak_open_due`. 50 tasks
  per section ("Toon er meer": 200); the task row is a Jinja macro imported once. A page costs its
  1-user time in the table (its queries, for a whole area mostly PostgreSQL's) plus a Logboek record per
  client listed, written after the answer; the load rows' req/s of such pages keep one process busy,
  hence their tails. Caching the page data would be the next step if a municipality's real load came near."""


def markdown(command: str, runs: dict[str, tuple[Data, list[Result]]], started: float, mach: dict, workers: int,
             load: tuple[str, str]) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Command: `{command}`  ",
        f"Date: {now}; total run {(time.perf_counter() - started) / 60:.1f} min  ",
        f"Machine: {mach['nproc']} cores ({mach['cpu']}), Python {mach['python']}, SQLite {mach['sqlite']}, "
        f"PostgreSQL {mach['postgres']} (default settings, 127.0.0.1); server: uvicorn, {workers} process(es), "
        f"the load generator (httpx, asyncio) runs on the same machine  ",
        f"Load average (1/5/15 min) before {load[0]}, after {load[1]}: the machine is shared.",
        "",
        "| database | trajectories (open tasks) | scenario | concurrent users | think time | requests | p50 ms "
        "| p95 ms | p99 ms | req/s | not 2xx | goal (p95) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, (data, results) in runs.items():
        for r in results:
            goal = GOALS[r.name]
            # the goals (P5): start p95 at 50 concurrent clients (staff, with think time); the worklist
            # page's p95 with 100,000 trajectories in the database (its load rows are reported beside it)
            if r.concurrency > 1 and not r.think_s:
                mark = "(capacity: no think time)"
            elif (r.name == "start") == (r.concurrency > 1):
                mark = f"{'✅' if r.pct(95) <= goal and r.errors == 0 else '❌'} ≤ {goal:.0f} ms"
            elif r.name == "start":
                mark = "(service time)"
            else:
                mark = f"(load: {r.pct(95):.0f} ms vs {goal:.0f})"
            think = f"{r.think_s:g} s" if r.think_s else "none"
            lines.append(f"| {label} | {data.trajecten:,} ({data.open_taken:,}) | {WHAT[r.name]} | {r.concurrency} | "
                         f"{think} | "
                         f"{len(r.lat_ms):,} | {r.pct(50):.1f} | {r.pct(95):.1f} | {r.pct(99):.1f} | {r.rps:,.0f} | "
                         f"{r.errors} | {mark} |")
    lines += [
        "",
        "Setup (not timed): " + "; ".join(f"{label} {d.setup_s:.0f} s for {d.trajecten:,} trajectories "
                                           f"(bulk load + 20,000 start clients + ANALYZE)"
                                           for label, (d, _) in runs.items()) + ".",
        "",
        "Latency is measured at the client from sending the request to the last byte of the answer. How the goal "
        "is read: *50 concurrent clients* are 50 staff members working at the same time, each sending their "
        "next request after reading the previous answer (think time drawn from an exponential distribution, "
        "mean as in the table: about 50 requests/s offered, far above a municipality's real rate of starts); "
        "the goal is the p95 latency they see. The rows without think time are a closed loop at full speed: "
        "they give the capacity (req/s), and their latency is mostly the wait behind the other 49 "
        "(latency ≈ C / throughput). The rows with 1 user give the unloaded service time.",
        "",
        NOTES,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 trajectories, 300 requests per scenario")
    ap.add_argument("--trajecten", type=int, help="trajectories in the database (default 100,000; quick 10,000)")
    ap.add_argument("--requests", type=int, help="measured starts at 50 concurrent (default 2,000; quick 300); "
                    "the worklist pages get 10% and 3% of it")
    ap.add_argument("--concurrency", default="1,50", help="concurrent clients (comma-separated)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time of a user in seconds (default 1)")
    ap.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return 0
    n_traject = args.trajecten or (10_000 if args.quick else 100_000)
    n_req = args.requests or (300 if args.quick else 2_000)
    concurrencies = [int(x) for x in args.concurrency.split(",") if x.strip()]
    n_start = 20_000
    need = sum((count("start", n_req, conc) + conc) * (2 if conc > 1 else 1) for conc in concurrencies)
    assert need <= n_start, f"{need} starts need more than {n_start} clients"
    command = "PYTHONPATH=. python bench/api.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                   " " + " ".join(sys.argv[1:] if argv is None else argv))
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    if "postgres" in kinds and (why := c.pg_available()):
        console.print(f"[yellow]PostgreSQL unreachable ({why}); PostgreSQL rows skipped[/]")
        kinds.remove("postgres")
    WORK.mkdir(parents=True, exist_ok=True)
    started, before = time.perf_counter(), c.loadavg()
    runs: dict[str, tuple[Data, list[Result]]] = {}
    for kind in kinds:
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        if kind == "sqlite":
            path = WORK / "api.db"
            url = c.sqlite_recreate(path)
        else:
            url = c.pg_recreate("bench_api")
        console.print(f"{label}: loading {n_traject:,} trajectories ...")
        data = build(url, n_traject, n_start)
        console.print(f"{label}: {data.trajecten:,} trajectories, {data.open_taken:,} open tasks, "
                      f"setup {data.setup_s:.0f} s; serving")
        server = Server(url, args.workers)
        try:
            results = scenarios(server.base, data, n_req, concurrencies, args.think)
        finally:
            server.stop()
        for r in results:
            console.print(f"  {r.name:22s} c={r.concurrency:<3d} think={r.think_s:g} n={len(r.lat_ms):<5d} p50 {r.pct(50):7.1f}  "
                          f"p95 {r.pct(95):7.1f}  p99 {r.pct(99):7.1f} ms  {r.rps:6.0f} req/s  statuses {r.statuses}")
        runs[label] = (data, results)
        if kind == "sqlite":
            c.sqlite_drop(path)
        else:
            c.pg_drop("bench_api")
    md = markdown(command, runs, started, c.machine(), args.workers, (before, c.loadavg()))
    console.print(md)
    if not args.no_write:
        c.write_section("api", md, "## Web API: start trajectory and worklist (bench/api.py)")
        console.print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
