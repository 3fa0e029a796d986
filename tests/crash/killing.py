"""Kill the cycle (SIGKILL) at named points, rerun it, and compare the store and the report
files with an uninterrupted run (the demo's): nothing missing, nothing twice, no
half-written file, and each killed run marked crashed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from improve.config import demo_programme_path
from tests.prefect_server import shared_api

# In cycle order: every stage boundary (a stage stored, approved and published), inside a
# database write (the artifact and its rows flushed, not committed), and inside a report
# write (the new file complete beside its target, not renamed into place).
KILL_POINTS = (
    "after-diagnose",
    "store-target",
    "report-write:target.xlsx",
    "after-target",
    "approved-design",
    "after-design",
    "store-execute",
    "after-execute",
    "store-evaluate",
    "after-evaluate",
    "store-optimise",
)


def run_cycle(home: Path, data_root: Path, database_url: str, crash_at: str | None) -> int:
    """`improve run demo.yaml --auto-approve` in its own process group, its flow runs on the
    test process's Prefect server; the return code (-9 when it killed itself). The group is
    killed afterwards, and any temporary Prefect server of its home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPROVE_", "PREFECT_"))}
    env.update(
        IMPROVE_HOME=str(home),
        IMPROVE_DATABASE_URL=database_url,
        IMPROVE_ARTIFACTS_DIR=str(home / "reports"),
        PREFECT_HOME=str(home / ".prefect"),
        PREFECT_API_URL=shared_api(),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    if crash_at:
        env["IMPROVE_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "improve", "run", str(demo_programme_path()),
               "--auto-approve", "--data-root", str(data_root), "--locale", "en"]  # fmt: skip
    log = home / f"run-{crash_at or 'final'}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        try:
            proc.wait(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            _kill_orphans(home / ".prefect")
    if crash_at is None and proc.returncode != 0:
        raise AssertionError(log.read_text(errors="replace")[-4000:])
    return proc.returncode


def _kill_orphans(prefect_home: Path) -> None:
    """Kill the temporary Prefect server a killed run leaves running in a session of its
    own (found by its PREFECT_HOME; Linux /proc)."""
    needle = f"PREFECT_HOME={prefect_home}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def store_snapshot(database_url: str) -> dict[str, Any]:
    """The store's content, free of ids and timestamps: what a rerun must reproduce."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return sorted(tuple(_plain(v) for v in r) for r in conn.execute(text(sql)))

            audit = Counter(
                (a, o) for a, o in conn.execute(text("SELECT action, object FROM audit_log"))
            )
            crashed = [json.loads(d) if isinstance(d, str) else d for (d,) in conn.execute(
                text("SELECT detail FROM audit_log WHERE action = 'run.crashed'"))]  # fmt: skip
            return {
                "programmes": rows("SELECT key, definition_hash FROM programme"),
                "cycles": rows("SELECT programme_key, key FROM cycle"),
                "artifacts": rows(
                    "SELECT artifact_id, version, content_hash, status FROM artifact_version"
                ),
                "approvals": rows(
                    "SELECT v.artifact_id, v.version, a.level, a.approver, a.decision "
                    "FROM approval a JOIN artifact_version v ON v.id = a.artifact_version_id"
                ),
                "plan_tasks": rows(
                    "SELECT v.artifact_id, v.version, t.task_id FROM plan_task t "
                    "JOIN artifact_version v ON v.id = t.artifact_version_id"
                ),
                "kpis": rows(
                    "SELECT programme_key, scope, grain, period, kpi, value FROM kpi_snapshot"
                ),
                "progress": rows(
                    "SELECT task_id, as_of, percent_complete, status FROM progress_update"
                ),
                "audit": {k: v for k, v in audit.items() if k[0] != "run.crashed"},
                "crashed": crashed,
            }
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """A column value as both backends give it: dates as ISO text (SQLite returns text),
    floats to 12 significant digits."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


def report_snapshot(folder: Path) -> dict[str, Any]:
    """Every file of the cycle's report folder: pages and Markdown by their text, workbooks
    by every cell of every sheet (their zip holds save times)."""
    out: dict[str, Any] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.suffix == ".xlsx":
            book = load_workbook(path)
            out[name] = {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()]
                         for ws in book.worksheets}  # fmt: skip
        elif path.suffix in (".html", ".md"):
            out[name] = path.read_text(encoding="utf-8")
        else:
            out[name] = path.stat().st_size
    return out


def audit_ok(database_url: str) -> bool:
    from improve.storage.audit import verify
    from improve.storage.db import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return verify(session=session).ok
    finally:
        engine.dispose()


def crashed_flow_runs(home: Path) -> list[str]:
    """Ids of the flow runs the test process's Prefect server holds as Crashed."""
    script = (
        "from prefect.client.orchestration import get_client\n"
        "from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStateType\n"
        "with get_client(sync_client=True) as c:\n"
        "    runs = c.read_flow_runs(flow_run_filter=FlowRunFilter("
        "state=dict(type=FlowRunFilterStateType(any_=['CRASHED']))))\n"
        "    print('\\n'.join(r.id.hex for r in runs))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home / ".prefect"), PREFECT_API_URL=shared_api(),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, start_new_session=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def kill_and_rerun(home: Path, data_root: Path, database_url: str, reference: Path) -> None:
    """Kill a run at every point in turn (each rerun goes on from where the store stands),
    then finish it; the outcome must equal the uninterrupted demo's."""
    for point in KILL_POINTS:
        code = run_cycle(home, data_root, database_url, point)
        assert code == -signal.SIGKILL, f"the run was not killed at {point} (exit {code})"
        assert list((home / "runs").glob("demo-*.json")), f"{point}: the claim should be left"
    run_cycle(home, data_root, database_url, None)
    assert not list((home / "runs").glob("demo-*.json"))

    expected = store_snapshot(f"sqlite:///{reference / 'improve.db'}")
    got = store_snapshot(database_url)
    for key in ("programmes", "cycles", "artifacts", "approvals", "plan_tasks", "kpis",
                "progress", "audit"):  # fmt: skip
        assert got[key] == expected[key], key
    assert len(got["crashed"]) == len(KILL_POINTS)
    assert all(c["marked"] for c in got["crashed"]), got["crashed"]
    assert audit_ok(database_url)

    cycle = Path("demo") / "2026-H1"
    files = home / "reports" / cycle
    assert not [p for p in files.rglob("*") if p.name.endswith(".tmp")]
    assert report_snapshot(files) == report_snapshot(reference / "reports" / cycle)
    marked = {c["flow_run"].replace("-", "") for c in got["crashed"]}
    assert marked <= set(crashed_flow_runs(home))
