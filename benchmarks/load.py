"""Load test of the distributed set-up: a Prefect server on PostgreSQL, the programme store on
PostgreSQL and several process workers run many programmes' cycles at once.

    uv run python benchmarks/load.py [--programmes 30] [--workers 3] [--limit 1]
        [--timeout 3600] [--keep] [--pg-admin-url postgresql://improve:improve@127.0.0.1/postgres]

It creates two databases (Prefect's and the store's; or takes --prefect-db-url and
--store-url), starts `prefect server start` on a free port, a process work pool and the
workers (each running at most --limit flow runs), writes one programme file per programme (the
demo programme under its own key, all reading one sample data folder), deploys the cycle
flow (`improve.orchestration.flows:cycle_flow`, auto-approved) once and creates one flow run
per programme at once. When every run has reached a final state it prints how many completed,
the wall time, the throughput and the run durations, checks in the store that every programme
has its six approved artifacts and that `improve audit verify` passes, and stops everything it
started (also on Ctrl-C or an error), dropping the databases it created unless --keep.
Exit code 0 only when every run completed and both checks hold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOL = "improve-load"
DEPLOYMENT = "load-cycle"
DEFAULT_ADMIN = "postgresql://improve:improve@127.0.0.1:5432/postgres"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--programmes", type=int, default=30, help="cycles to run at once (30)")
    p.add_argument("--workers", type=int, default=3, help="process workers (3)")
    p.add_argument("--limit", type=int, default=1, help="concurrent flow runs per worker (1)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the runs")
    p.add_argument("--keep", action="store_true", help="leave the databases and work folder")
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get("IMPROVE_LOAD_PG_ADMIN_URL")
        or os.environ.get("IMPROVE_TEST_POSTGRES_URL")
        or DEFAULT_ADMIN,
        help="a PostgreSQL role that may create databases (IMPROVE_LOAD_PG_ADMIN_URL, "
        "IMPROVE_TEST_POSTGRES_URL, else improve:improve@127.0.0.1:5432)",
    )
    p.add_argument("--prefect-db-url", help="use this database for the Prefect server")
    p.add_argument("--store-url", help="use this database for the programme store")
    p.add_argument("--work-dir", type=Path, help="folder for data, programmes, logs (temp)")
    args = p.parse_args()
    if min(args.programmes, args.workers, args.limit) < 1:
        p.error("--programmes, --workers and --limit must be at least 1")
    return args


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _libpq(url: URL) -> str:
    """`url` as psycopg connects to it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; nothing elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of `pid` itself and of its children that ended (Linux /proc; else 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(f) / tick for f in fields[11:15])
    return utime + stime, cutime + cstime


@dataclass
class Stack:
    """What the script started, stopped in reverse order."""

    admin: URL
    keep: bool
    databases: list[str] = field(default_factory=list)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def create_database(self, prefix: str) -> str:
        import psycopg

        name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(_libpq(self.admin), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return name

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this script, which stops it
            )  # fmt: skip
        self.processes.append((name, proc))

    def cpu(self) -> dict[str, tuple[float, float]]:
        """Per process started: its own CPU seconds, and those of everything below it (live
        descendants and children that ended: a worker's flow runs)."""
        out = {}
        for name, proc in self.processes:
            own, below = _cpu_s(proc.pid)
            below += sum(sum(_cpu_s(pid)) for pid in _descendants(proc.pid))
            out[name] = (own, below)
        return out

    def stop(self) -> None:
        for name, proc in reversed(self.processes):
            if proc.poll() is not None:
                continue
            below = _descendants(proc.pid)  # flow runs a worker started run in their own session
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in 30 s: killing it")
                proc.kill()
                proc.wait(timeout=10)
            for pid in below:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        self.processes.clear()
        if self.keep or not self.databases:
            if self.databases:
                say(f"kept databases {', '.join(self.databases)}")
            return
        import psycopg

        with psycopg.connect(_libpq(self.admin), autocommit=True) as con:
            for name in self.databases:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"dropped databases {', '.join(self.databases)}")
        self.databases.clear()


def _wait_healthy(api: str, proc: subprocess.Popen[bytes], log: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Prefect server did not start:\n{log.read_text()[-4000:]}")
        time.sleep(1)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def write_programmes(folder: Path, n: int) -> list[tuple[str, Path]]:
    """`n` copies of the demo programme, each under its own key and name."""
    from improve.config import demo_programme_path

    demo = yaml.safe_load(demo_programme_path().read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(1, n + 1):
        key = f"load-{i:03d}"
        definition = {
            **demo,
            "key": key,
            "name": {"zh": f"{demo['name']['zh']}（负载 {i}）", "en": f"{demo['name']['en']} #{i}"},
        }
        path = folder / f"{key}.yaml"
        path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
        out.append((key, path))
    return out


@dataclass(frozen=True)
class RunResult:
    name: str
    state: str
    created: datetime
    start: datetime | None
    end: datetime | None
    run_s: float


async def submit_and_wait(
    deployment_id: Any, programmes: list[tuple[str, Path]], data_root: Path, timeout: float
) -> tuple[list[RunResult], float, int]:
    """One flow run per programme, created at once; polled until all are final or `timeout`
    (the rest are cancelled). Returns the runs, the seconds observed, the most running."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.states import Cancelling

    async with get_client() as client:
        started = time.monotonic()
        runs = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(
                    deployment_id,
                    name=key,
                    parameters={
                        "config_path": str(path),
                        "data_root": str(data_root),
                        "auto_approve": True,
                    },
                )
                for key, path in programmes
            )
        )
        say(f"submitted {len(runs)} flow runs in {time.monotonic() - started:.1f} s")
        ids = [r.id for r in runs]
        last: Counter[str] = Counter()
        peak, shown = 0, 0.0
        while True:
            current = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
            )
            states = Counter(r.state_type.value if r.state_type else "?" for r in current)
            peak = max(peak, states["RUNNING"])
            elapsed = time.monotonic() - started
            finished = sum(states[s] for s in FINAL)
            if states != last or elapsed - shown > 60:
                summary = ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))
                say(f"{elapsed:7.0f} s  {summary}")
                last, shown = states, elapsed
            if finished == len(ids):
                break
            if elapsed > timeout:
                say(f"timeout after {timeout:.0f} s: cancelling the {len(ids) - finished} left")
                for r in current:
                    if r.state_type is None or r.state_type.value not in FINAL:
                        await client.set_flow_run_state(r.id, Cancelling(), force=True)
                break
            await asyncio.sleep(3)
        observed = time.monotonic() - started
        current = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
        )
    results = [
        RunResult(
            name=r.name,
            state=r.state_type.value if r.state_type else "?",
            created=r.created,
            start=r.start_time,
            end=r.end_time,
            run_s=r.total_run_time.total_seconds(),
        )
        for r in current
        if r.created is not None
    ]
    return sorted(results, key=lambda r: r.name), observed, peak


def check_store(store_url: str, keys: list[str], env: dict[str, str]) -> tuple[int, list[str], Any]:
    """Programmes with their six stages approved, the others with what they have, and the
    result of `improve audit verify --json`."""
    from improve.storage import repository as repo
    from improve.storage.db import make_engine, session_factory

    engine = make_engine(store_url)
    try:
        with session_factory(engine)() as session:
            found = {c.programme_key: c for c in repo.cycle_status(session=session)}
    finally:
        engine.dispose()
    ok, bad = 0, []
    for key in keys:
        cycle = found.get(key)
        statuses = [s.status for s in cycle.stages] if cycle else []
        if len(statuses) == 6 and all(s == "approved" for s in statuses):
            ok += 1
        else:
            bad.append(f"{key}: {statuses or 'no cycle'}")
    verified = subprocess.run(
        [str(BIN / "improve"), "audit", "verify", "--json"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        audit = json.loads(verified.stdout)
    except json.JSONDecodeError:
        audit = {"ok": False, "problems": [verified.stdout + verified.stderr]}
    audit["returncode"] = verified.returncode
    return ok, bad, audit


def report(
    args: argparse.Namespace,
    results: list[RunResult],
    observed: float,
    peak: int,
    store_ok: int,
    store_bad: list[str],
    audit: Any,
    cpu: dict[str, tuple[float, float]],
) -> bool:
    states = Counter(r.state for r in results)
    completed = [r for r in results if r.state == "COMPLETED"]
    ends = [r.end for r in results if r.end]
    wall = (max(ends) - min(r.created for r in results)).total_seconds() if ends else observed
    durations = sorted(r.run_s for r in completed) or [0.0]
    waits = sorted(
        (r.start - r.created).total_seconds() for r in completed if r.start is not None
    ) or [0.0]
    rows = [
        ("programmes / flow runs submitted", f"{len(results)}"),
        ("workers x runs per worker", f"{args.workers} x {args.limit}  (most running: {peak})"),
        ("completed", f"{states['COMPLETED']}"),
        ("failed / crashed / cancelled / other", "{} / {} / {} / {}".format(
            states["FAILED"], states["CRASHED"], states["CANCELLED"],
            len(results) - sum(states[s] for s in FINAL))),
        ("wall time (first created to last end)", f"{wall:.0f} s ({wall / 60:.1f} min)"),
        ("throughput", f"{len(completed) / (wall / 60):.2f} cycles/min" if wall else "-"),
        ("run duration median / max", f"{statistics.median(durations):.0f} s / "
                                       f"{max(durations):.0f} s"),
        ("queue wait median / max", f"{statistics.median(waits):.0f} s / {max(waits):.0f} s"),
        ("store: programmes with 6 approved", f"{store_ok} of {len(results)}"),
        ("improve audit verify", "ok, {} entries, {} contents".format(
            audit.get("entries"), audit.get("contents")) if audit.get("ok") else "FAILED"),
    ]  # fmt: skip
    runs_cpu = sum(below for name, (_, below) in cpu.items() if name.startswith("worker"))
    workers_cpu = sum(own for name, (own, _) in cpu.items() if name.startswith("worker"))
    server_cpu = sum(sum(t) for name, t in cpu.items() if name.startswith("prefect"))
    cores = os.cpu_count() or 1
    used = runs_cpu + workers_cpu + server_cpu
    rows += [
        ("CPU: flow runs", f"{runs_cpu:.0f} s ({runs_cpu / max(len(completed), 1):.0f} s "
                           "per completed cycle)"),
        ("CPU: workers / Prefect server", f"{workers_cpu:.0f} s / {server_cpu:.0f} s"),
        ("CPU used of the host's", f"{used / (wall * cores):.0%} of {cores} cores x wall "
                                   f"(load average now {os.getloadavg()[0]:.1f})"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    print()
    for r in results:
        if r.state != "COMPLETED":
            print(f"  {r.name}: {r.state}")
    for line in store_bad[:10]:
        print(f"  store: {line}")
    for p in audit.get("problems", [])[:10]:
        print(f"  audit: {p}")
    return (
        states["COMPLETED"] == len(results) == args.programmes
        and store_ok == args.programmes
        and bool(audit.get("ok"))
        and audit.get("returncode") == 0
    )


def main() -> int:
    args = _parse()
    admin = make_url(args.pg_admin_url)
    stack = Stack(admin=admin, keep=args.keep)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="improve-load-"))
    work = work.resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    passed = False

    def _terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminated)
    try:
        if args.prefect_db_url:
            prefect_db = make_url(args.prefect_db_url)
        else:
            prefect_db = admin.set(database=stack.create_database("improve_load_prefect"))
        if args.store_url:
            store = make_url(args.store_url)
        else:
            store = admin.set(database=stack.create_database("improve_load_store"))
        prefect_db = prefect_db.set(drivername="postgresql+asyncpg")
        store = store.set(drivername="postgresql+psycopg")
        store_url = store.render_as_string(hide_password=False)
        say(f"work folder {work}")
        say(f"Prefect database {prefect_db.render_as_string()}")
        say(f"programme store  {store.render_as_string()}")

        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IMPROVE_"))}
        base["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        improve_env = {
            "IMPROVE_DATABASE_URL": store_url,
            "IMPROVE_ARTIFACTS_DIR": str(work / "reports"),
            "IMPROVE_HOME": str(work / "home"),
        }
        # The store's schema, once: every run's first stage would otherwise migrate it at once.
        from improve.storage.db import make_engine, migrate

        engine = make_engine(store_url)
        migrate(engine)
        engine.dispose()

        say("sample data")
        _run([str(BIN / "improve"), "sample-data", str(work / "data")], {**base, **improve_env},
             work)  # fmt: skip
        programmes = write_programmes(work / "programmes", args.programmes)

        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        server_env = {
            **base,
            "PREFECT_HOME": str(work / "prefect-server"),
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.render_as_string(hide_password=False),
        }
        log = work / "logs" / "server.log"
        stack.start("prefect server",
                    [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                     str(port)], server_env, work, log)  # fmt: skip
        say(f"Prefect server starting on {api}")
        _wait_healthy(api, stack.processes[-1][1], log, 240)
        client_env = {
            **base,
            "PREFECT_API_URL": api,
            "PREFECT_HOME": str(work / "prefect-client"),
            "PREFECT_WORKER_QUERY_SECONDS": "2",
        }
        for k in [k for k in os.environ if k.startswith("PREFECT_")]:
            del os.environ[k]
        os.environ.update(client_env)  # for this script's own Prefect client, imported below

        prefect = str(BIN / "prefect")
        _run([prefect, "work-pool", "create", POOL, "--type", "process"], client_env, work)
        for i in range(1, args.workers + 1):
            stack.start(f"worker {i}",
                        [prefect, "worker", "start", "--pool", POOL, "--type", "process",
                         "--name", f"load-worker-{i}", "--limit", str(args.limit)],
                        client_env, work, work / "logs" / f"worker-{i}.log")  # fmt: skip
        say(f"{args.workers} process workers started, at most {args.limit} run(s) each")

        from prefect.deployments.runner import EntrypointType

        from improve.orchestration.flows import cycle_flow

        deployment_id = cycle_flow.deploy(
            name=DEPLOYMENT,
            work_pool_name=POOL,
            job_variables={"env": improve_env},
            entrypoint_type=EntrypointType.MODULE_PATH,  # the installed package, no image
            build=False,
            push=False,
            print_next_steps=False,
            ignore_warnings=True,
        )
        say(f"deployed improve-cycle/{DEPLOYMENT}")
        results, observed, peak = asyncio.run(
            submit_and_wait(deployment_id, programmes, work, args.timeout)
        )
        cpu = stack.cpu()
        say("checking the store and the audit trail")
        ok, bad, audit = check_store(store_url, [k for k, _ in programmes], {**base, **improve_env})
        passed = report(args, results, observed, peak, ok, bad, audit, cpu)
    except KeyboardInterrupt:
        say("interrupted: stopping what was started")
    finally:
        # A second Ctrl-C (uv run passes the first on again) must not cut the clean-up short;
        # it is bounded by the timeouts in Stack.stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if args.keep or not passed:
            say(f"logs and reports kept in {work}")
        elif args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS: every cycle completed" if passed else "FAIL", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
