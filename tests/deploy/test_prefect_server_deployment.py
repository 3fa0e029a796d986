"""The weekly review deployed the way a team runs it: a real Prefect server on PostgreSQL, a
process work pool, prefect.yaml deployed with `prefect deploy`, a worker; a triggered run
completes, stores its review and its Markdown artifact, and the deployment's schedule reads
back with the programme's cron and time zone."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from improve.config import demo_programme_path

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
BIN = Path(sys.executable).parent


def _admin_url() -> str:
    url = os.environ.get("IMPROVE_TEST_POSTGRES_URL")
    if not url:
        message = "IMPROVE_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL and sets it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url.replace("postgresql+psycopg://", "postgresql://")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server on a fresh PostgreSQL database; the environment of its clients."""
    import psycopg

    admin = _admin_url()
    database = f"improve_prefect_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{database}"')
    base = admin.rsplit("/", 1)[0]
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IMPROVE_"))}
    env.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_API_DATABASE_CONNECTION_URL=base.replace("postgresql://", "postgresql+asyncpg://")
        + f"/{database}",
    )
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, (home / "server.log").read_text()
            time.sleep(1)
        client = {k: v for k, v in env.items() if k != "PREFECT_API_DATABASE_CONNECTION_URL"}
        client.update(PREFECT_API_URL=api, PREFECT_HOME=str(home / "client"))
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_deployed_weekly_review_runs_on_a_worker(
    server: dict[str, str], sample_root: Path, tmp_path: Path
) -> None:
    config = str(demo_programme_path())
    env = {
        **server,
        "IMPROVE_DATABASE_URL": f"sqlite:///{tmp_path / 'improve.db'}",
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
            [prefect, "deployment", "run", "improve-weekly-review/demo-weekly-review",
             "--param", "period=2026-W07", "--param", "catch_up=false", "--watch",
             "--watch-timeout", "400"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=480, check=False,
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
    probe = _run(sys.executable, "-c", _PROBE, env=env)
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found["schedules"] == [{"cron": "0 9 * * 1", "timezone": "Asia/Shanghai"}]
    assert found["markdown"].startswith("# 周例会 2026-W07")
    assert found["reviews"] == [["weekly", "2026-W07", 1]]
    assert found["triggered"] == ["COMPLETED"]


_PROBE = """
import asyncio, json, os
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from improve.orchestration.flows import artifact_key
from improve.storage.db import make_engine, session_factory
from improve.storage import repository as repo

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
# The cron schedule adds future SCHEDULED runs of its own; the triggered one has the period.
triggered = [r for r in runs
             if r.deployment_id == d.id and r.parameters.get("period") == "2026-W07"]
print(json.dumps({
    "schedules": [{"cron": x.schedule.cron, "timezone": x.schedule.timezone}
                  for x in d.schedules],
    "markdown": str(arts[0].data) if arts else "",
    "reviews": [[r.kind, r.period, r.version] for r in rows],
    "triggered": [r.state.type.value for r in triggered],
}, ensure_ascii=False))
"""
