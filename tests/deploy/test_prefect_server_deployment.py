"""The weekly review deployed the way a team runs it: a real Prefect server on PostgreSQL, a
process work pool, prefect.yaml deployed with `prefect deploy`, a worker, the programme store
on PostgreSQL; runs killed on the worker (inside the store's write, and during a report
write) are marked crashed, the run after them completes, stores its review once and its
Markdown artifact, leaves no half-written file, and the deployment's schedule reads back with
the programme's cron and time zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from improve.config import demo_programme_path
from tests.postgres import POSTGRES_URL, fresh_database
from tests.prefect_server import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
BIN = Path(sys.executable).parent


def _require_postgres() -> None:
    """Skip without the test server; in CI (which starts it) fail instead."""
    if not POSTGRES_URL:
        message = "IMPROVE_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL and sets it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _run(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def store_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the programme store, dropped afterwards."""
    _require_postgres()
    with fresh_database("improve_store") as url:
        yield url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server on a fresh PostgreSQL database; the environment of its clients."""
    _require_postgres()
    with fresh_database("improve_prefect") as database:
        yield from _server(tmp_path_factory, database)


def _server(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[dict[str, str]]:
    """`prefect server start` on `database` until the module's tests are done."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IMPROVE_"))}
    env.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_API_DATABASE_CONNECTION_URL=database.replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
    )
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(api, proc, home / "server.log")
        client = {k: v for k, v in env.items() if k != "PREFECT_API_DATABASE_CONNECTION_URL"}
        client.update(PREFECT_API_URL=api, PREFECT_HOME=str(home / "client"))
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def test_deployed_weekly_review_runs_on_a_worker(
    server: dict[str, str], store_url: str, sample_root: Path, tmp_path: Path
) -> None:
    config = str(demo_programme_path())
    env = {
        **server,
        "IMPROVE_DATABASE_URL": store_url,
        "IMPROVE_ARTIFACTS_DIR": str(tmp_path / "reports"),
        "IMPROVE_REPO": str(ROOT),
        "IMPROVE_CONFIG": config,
        "IMPROVE_DATA_ROOT": str(sample_root),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    for stage in ("diagnose", "target", "design"):
        _run(str(BIN / "improve"), "run", config, "--data-root", str(sample_root), "--stage",
             stage, "--auto-approve", env=env)  # fmt: skip
    prefect = str(BIN / "prefect")
    _run(prefect, "work-pool", "create", "improve-process", "--type", "process", env=env)
    _run(prefect, "--no-prompt", "deploy", "--all", env=env)
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [prefect, "worker", "start", "--pool", "improve-process", "--type", "process"],
        env=env, cwd=tmp_path, stdout=worker_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        ran = subprocess.run(
            [sys.executable, "-c", _KILLED_THEN_CLEAN], capture_output=True, text=True, env=env,
            cwd=ROOT, timeout=1200, check=False,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr + (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
    # The run stored its review in the programme store and its Markdown in Prefect.
    reports = tmp_path / "reports" / "demo" / "2026-H1"
    assert (reports / "weekly-2026-W07.html").exists() and (
        reports / "weekly-2026-W07.xlsx"
    ).exists()
    assert not [p for p in (tmp_path / "reports").rglob("*") if p.name.endswith(".tmp")]
    probe = _run(sys.executable, "-c", _PROBE, env=env)
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found["schedules"] == [{"cron": "0 9 * * 1", "timezone": "Asia/Shanghai"}]
    assert found["markdown"].startswith("# 周例会 2026-W07")
    assert found["reviews"] == [["weekly", "2026-W07", 1]]  # stored once, by the second run
    assert found["audit_ok"] and found["stored_audits"] == 1
    # The worker marked the killed runs crashed; the run after them completed.
    assert found["triggered"] == ["CRASHED", "CRASHED", "COMPLETED"]


# Three runs of the deployed weekly review, one at a time: killed inside the store's write
# (the transaction open), killed after the store committed and the page written but not yet
# renamed into place, then one with nothing planted.
_KILLED_THEN_CLEAN = """
from prefect.deployments import run_deployment
for point in ("store-weekly", "report-write:weekly-2026-W07.html", None):
    run_deployment(
        "improve-weekly-review/demo-weekly-review",
        parameters={"period": "2026-W07", "catch_up": False},
        job_variables={"env": {"IMPROVE_CRASH_AT": point}} if point else None,
        timeout=600,
    )
"""


_PROBE = """
import asyncio, json, os
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from improve.orchestration.flows import artifact_key
from improve.storage.db import make_engine, session_factory
from improve.storage import audit, repository as repo
from improve.storage.orm import AuditRow
from sqlalchemy import select

async def main():
    async with get_client() as client:
        d = await client.read_deployment_by_name("improve-weekly-review/demo-weekly-review")
        runs = await client.read_flow_runs()
        arts = await client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[artifact_key("demo", "2026-H1", "weekly", "2026-W07")])))
    return d, runs, arts

d, runs, arts = asyncio.run(main())
engine = make_engine(os.environ["IMPROVE_DATABASE_URL"])
with session_factory(engine)() as s:
    rows = repo.cadence_reports(session=s, programme_key="demo", cycle_key="2026-H1",
                                kind="weekly")
    audit_ok = audit.verify(session=s).ok
    stored_audits = len(s.scalars(select(AuditRow).where(
        AuditRow.object.like("demo/2026-H1/weekly/2026-W07%"))).all())
# The cron schedule adds future SCHEDULED runs of its own; the triggered ones have the period.
triggered = sorted((r for r in runs
                    if r.deployment_id == d.id and r.parameters.get("period") == "2026-W07"),
                   key=lambda r: r.created)
print(json.dumps({
    "schedules": [{"cron": x.schedule.cron, "timezone": x.schedule.timezone}
                  for x in d.schedules],
    "markdown": str(arts[0].data) if arts else "",
    "reviews": [[r.kind, r.period, r.version] for r in rows],
    "triggered": [r.state.type.value for r in triggered],
    "audit_ok": audit_ok,
    "stored_audits": stored_audits,
}, ensure_ascii=False))
"""


_GATES = """
import json, os, sys, time
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from improve.storage.db import make_engine, session_factory
from improve.storage import repository as repo

def state(run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state

def wait(run_id, until, limit=400):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        s = state(run_id)
        if s.type.value in until:
            return s
        time.sleep(2)
    raise AssertionError(f"flow run stuck in {state(run_id)}")

def decisions(artifact_id):
    engine = make_engine(os.environ["IMPROVE_DATABASE_URL"])
    with session_factory(engine)() as s:
        out = [(d.level, d.approver, d.decision)
               for d in repo.approvals(session=s, artifact_id=artifact_id, version=1)]
        status = repo.get_artifact(session=s, artifact_id=artifact_id).status
    engine.dispose()
    return out, status

run = run_deployment("improve-gated-cycle/demo-cycle", timeout=0)
steps = []
paused = wait(run.id, {"PAUSED"})
steps.append(paused.state_details.pause_key)
for form in ({"approver": "路人"}, {"approver": "王敏"}, {"approver": "李娜"},
             {"approver": "赵总", "level": "final"}):
    resume_flow_run(run.id, run_input=form)
    wait(run.id, {"SCHEDULED", "PENDING", "RUNNING"}, limit=60)
    paused = wait(run.id, {"PAUSED", "COMPLETED", "FAILED", "CRASHED"})
    steps.append(paused.state_details.pause_key if paused.type.value == "PAUSED"
                 else paused.type.value)
diagnose = decisions("demo/2026-H1/diagnose")
resume_flow_run(run.id, run_input={"approver": "王敏", "reject": True, "comment": "补充依据"})
wait(run.id, {"SCHEDULED", "PENDING", "RUNNING"}, limit=60)
final = wait(run.id, {"COMPLETED", "FAILED", "CRASHED"})
print(json.dumps({"steps": steps, "diagnose": diagnose,
                  "target": decisions("demo/2026-H1/target"), "final": final.type.value},
                 ensure_ascii=False))
"""


def test_the_cycle_suspends_at_each_gate_and_resumes_with_each_decision(
    server: dict[str, str], sample_root: Path, tmp_path: Path
) -> None:
    """The deployed cycle suspends at the diagnosis gate; resumed through the API with a
    refused reviewer (asked again), then the author, the cross-department head and the final
    sign-off in turn, it goes on to the target gate; a rejection there ends the run with the
    stage sent back. Every decision is stored once."""
    import yaml

    config = tmp_path / "demo.yaml"
    definition = yaml.safe_load(demo_programme_path().read_text(encoding="utf-8"))
    definition["approvers"] = {"author": ["王敏"], "cross": ["李娜"], "final": ["赵总"]}
    config.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    env = {
        **server,
        "IMPROVE_DATABASE_URL": f"sqlite:///{tmp_path / 'improve.db'}",
        "IMPROVE_ARTIFACTS_DIR": str(tmp_path / "reports"),
        "IMPROVE_REPO": str(ROOT),
        "IMPROVE_CONFIG": str(config),
        "IMPROVE_DATA_ROOT": str(sample_root),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    prefect = str(BIN / "prefect")
    subprocess.run([prefect, "work-pool", "create", "improve-process", "--type", "process"],
                   env=env, cwd=ROOT, capture_output=True, check=False)  # fmt: skip
    _run(prefect, "--no-prompt", "deploy", "--name", "demo-cycle", env=env)
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [prefect, "worker", "start", "--pool", "improve-process", "--type", "process"],
        env=env, cwd=tmp_path, stdout=worker_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        driven = subprocess.run(
            [sys.executable, "-c", _GATES], capture_output=True, text=True, env=env, cwd=ROOT,
            timeout=1500, check=False,
        )  # fmt: skip
        assert driven.returncode == 0, (
            driven.stdout + driven.stderr + (tmp_path / "worker.log").read_text()
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
    found = json.loads(driven.stdout.strip().splitlines()[-1])
    gate = "demo-2026-h1-diagnose-v1"
    assert found["steps"] == [
        f"{gate}-d0-a0",
        f"{gate}-d0-a1",  # 路人 was refused: asked again
        f"{gate}-d1-a0",
        f"{gate}-d2-a0",
        "demo-2026-h1-target-v1-d0-a0",
    ]
    assert found["diagnose"] == [
        [
            ["author", "王敏", "approved"],
            ["cross", "李娜", "approved"],
            ["final", "赵总", "approved"],
        ],
        "approved",
    ]
    assert found["target"] == [[["author", "王敏", "rejected"]], "rejected"]
    assert found["final"] == "COMPLETED"
