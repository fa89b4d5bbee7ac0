"""The processes of the cluster (``trajecten.beheer.cluster``): the cluster file that records them, starting
one in its own session with its log, telling whether it lives (``/proc``), and stopping process trees:
the signal, the wait for the process and every descendant, SIGKILL after the waiting time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Callable, Optional

from trajecten.basis.tijd import Clock, SystemClock
from trajecten.beheer.cluster_omgeving import ClusterFout

STAAT = "cluster.json"
KLOK: Clock = SystemClock()  # the engine's clock; the cluster's times are written in UTC


def tijdstempel() -> str:
    """Now, in UTC to the second (the cluster file and the logs)."""
    return KLOK.now().astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Proces:
    naam: str  # server, worker-1, ..., web
    rol: str  # server, worker, web
    pid: int
    starttijd: Optional[int]  # /proc/<pid>/stat field 22: a reused pid is not mistaken for ours
    log: str
    poort: Optional[int] = None
    args: list[str] = field(default_factory=list)


@dataclass
class Staat:
    map: str
    repo: str
    api_url: str
    ui_url: str
    ui_api_url: str
    web_url: str
    engine_database: str  # password hidden
    prefect_database: str  # password hidden
    workers: int
    gestart_op: str
    gestopt_op: Optional[str] = None
    processen: list[Proces] = field(default_factory=list)

    @classmethod
    def lees(cls, map_: Path) -> "Staat":
        pad = Path(map_) / STAAT
        if not pad.exists():
            raise ClusterFout(f"geen cluster in {map_} ({STAAT} ontbreekt): start er een met `trajecten cluster start`")
        data = json.loads(pad.read_text())
        data["processen"] = [Proces(**p) for p in data.get("processen", [])]
        return cls(**data)

    def schrijf(self) -> None:
        pad = Path(self.map) / STAAT
        tmp = pad.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")
        tmp.replace(pad)
        pids = Path(self.map) / "pids"
        pids.mkdir(exist_ok=True)
        for p in self.processen:
            (pids / f"{p.naam}.pid").write_text(f"{p.pid}\n")


def _stat(pid: int) -> Optional[tuple[str, int, int, int]]:
    """(state, ppid, pgid, start time) from /proc, or None when the process is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[19])


def _heeft_proc() -> bool:
    return Path("/proc/self/stat").exists()


def pid_leeft(pid: int, starttijd: Optional[int] = None) -> bool:
    """Alive and not a zombie; with ``starttijd``, also the same process as the one recorded."""
    if not _heeft_proc():  # pragma: no cover - not Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X") and (starttijd is None or st[3] == starttijd)


def leeft(p: Proces) -> bool:
    return pid_leeft(p.pid, p.starttijd)


def _kinderen() -> dict[int, list[int]]:
    """Parent pid -> the pids of its living children, from one pass over /proc."""
    kinderen: dict[int, list[int]] = {}
    if not _heeft_proc():  # pragma: no cover
        return kinderen
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st is not None and st[0] not in ("Z", "X"):
                kinderen.setdefault(st[1], []).append(int(d.name))
    return kinderen


def nakomelingen(pid: int, kinderen: Optional[dict[int, list[int]]] = None) -> list[int]:
    """Every living descendant of ``pid`` (children, their children, ...). A Prefect process worker starts
    each flow run in a session of its own, so the worker's process group does not hold its flow runs."""
    kinderen = _kinderen() if kinderen is None else kinderen
    out, todo = [], [pid]
    while todo:
        for k in kinderen.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def _start(naam: str, rol: str, args: list[str], env: dict, cwd: Path, logs: Path, poort: Optional[int] = None) -> Proces:
    log = logs / f"{naam}.log"
    with open(log, "ab") as f:
        f.write(f"\n--- {tijdstempel()} start: {' '.join(args)}\n".encode())
        f.flush()
        p = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True)
    st = _stat(p.pid)
    return Proces(naam, rol, p.pid, st[3] if st else None, str(log), poort, args)


def _signaal(pid: int, sig: int, groep: bool) -> None:
    try:
        if groep and os.getpgid(pid) != os.getpgrp():  # never our own group
            os.killpg(os.getpgid(pid), sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Gestopt:
    naam: str
    pid: int
    hoe: str  # "was al gestopt", "gestopt", "SIGKILL"
    seconden: float


def stop_processen(procs: list[Proces], *, wachttijd: float, groep: bool, sig: int = signal.SIGTERM,
                   nu: Callable[[], float] = time.monotonic) -> list[Gestopt]:
    """Stop ``procs`` together: ``sig`` to each (to its process group when ``groep``, else to the process
    only, so a worker can let its runs finish), wait until each and all its descendants are gone, at most
    ``wachttijd`` seconds, then SIGKILL to the process groups of whatever is left."""
    t0 = nu()
    volg: dict[str, set[int]] = {}
    uit: dict[str, Gestopt] = {}
    for p in procs:
        if not leeft(p):
            uit[p.naam] = Gestopt(p.naam, p.pid, "was al gestopt", 0.0)
            continue
        volg[p.naam] = {p.pid, *nakomelingen(p.pid)}
        _signaal(p.pid, sig, groep)

    def levend(naam: str) -> set[int]:
        pids = {q for q in volg[naam] if pid_leeft(q)}
        kaart = _kinderen()
        for q in list(pids):
            pids.update(nakomelingen(q, kaart))
        volg[naam] = pids
        return pids

    open_ = set(volg)
    while open_ and nu() - t0 < wachttijd:
        for naam in list(open_):
            if not levend(naam):
                open_.discard(naam)
                pid = next(p.pid for p in procs if p.naam == naam)
                uit[naam] = Gestopt(naam, pid, "gestopt", nu() - t0)
        if open_:
            time.sleep(0.2)
    for naam in open_:
        rest = levend(naam)
        for q in rest:
            _signaal(q, signal.SIGKILL, True)
            _signaal(q, signal.SIGKILL, False)
        pid = next(p.pid for p in procs if p.naam == naam)
        uit[naam] = Gestopt(naam, pid, "SIGKILL", nu() - t0)
    deadline = nu() + 10
    while any(levend(n) for n in open_) and nu() < deadline:
        time.sleep(0.1)
    return [uit[p.naam] for p in procs]


def flow_runs(worker_pid: int) -> int:
    """The flow runs a process worker runs now: its children that run Prefect's flow-run supervisor or engine."""
    def is_flow_run(pid: int) -> bool:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return any(c.startswith(b"prefect.runner") or c == b"prefect.engine" for c in cmd)

    return sum(1 for q in _kinderen().get(worker_pid, []) if is_flow_run(q))
