"""One cycle run of a programme at a time on this machine, and a run that was killed
(SIGKILL, power loss) marked crashed by the next one, in Prefect and in the audit trail.

A run claims `<home>/runs/<programme>-<store>.json` (created exclusively) with its process id and
Prefect flow run id, and removes it when it ends. A claim whose process is gone is stale:
its flow run is set to Crashed, the audit trail records `run.crashed`, and the new run takes
over. Runs on a worker are also marked crashed by the worker when their process dies. The
half-written report files of a killed run are swept as they are written again
(reports/temps.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from prefect.states import Crashed

from improve.errors import StageError
from improve.orchestration.context import RunContext
from improve.reports.temps import process_alive
from improve.storage import repository as repo


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # half-written by a run killed while claiming: stale
    return data if isinstance(data, dict) else {}


def mark_crashed(flow_run_id: str, reason: str) -> bool:
    """Set the flow run to Crashed unless it reached a final state; whether it did."""
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)  # type: ignore[arg-type]
        except ObjectNotFound:  # not in this Prefect database: nothing to mark
            return False
        if run.state is not None and run.state.is_final():
            return False
        client.set_flow_run_state(flow_run_id, Crashed(message=reason), force=True)
    return True


def _take_over(ctx: RunContext, path: Path, stale: dict[str, Any]) -> None:
    old = str(stale.get("flow_run") or "")
    reason = (
        f"process {stale.get('pid')} on {stale.get('host')} ended without finishing the cycle "
        f"run of {ctx.programme.key} (killed or lost power); the next run took over"
    )
    marked = bool(old) and mark_crashed(old, reason)
    with ctx.transaction() as session:
        repo.save_programme(session=session, programme=ctx.programme)
        repo.record_audit(
            session=session,
            actor=repo.SYSTEM_ACTOR,
            action="run.crashed",
            object=f"{ctx.programme.key}/{ctx.programme.cycle.key}",
            detail={"flow_run": old or None, "pid": stale.get("pid"), "marked": marked},
        )
    get_run_logger().warning(
        "cycle run %s crashed earlier; marked crashed (the report files it left unfinished "
        "are removed as the reports are written again)",
        old or "(unknown)",
    )
    path.unlink(missing_ok=True)


def claim_path(ctx: RunContext) -> Path:
    """`<home>/runs/<programme>-<store>.json`: one claim per programme and store (runs of
    the same programme on separate stores do not exclude each other)."""
    store = hashlib.sha256(ctx.settings.resolved_database_url.encode()).hexdigest()[:12]
    return ctx.settings.home.resolve() / "runs" / f"{ctx.programme.key}-{store}.json"


@contextmanager
def claimed(ctx: RunContext) -> Iterator[None]:
    """Hold the programme's run claim for the block; StageError when a live run holds it."""
    path = claim_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    mine = {
        "pid": os.getpid(),
        "host": host,
        "flow_run": flow_run.get_id(),
        "started": datetime.now(UTC).isoformat(),
    }
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = _read(path)
            if held is None:
                continue
            pid = held.get("pid")
            if held.get("host") == host and isinstance(pid, int) and pid != os.getpid():
                if process_alive(pid):
                    raise StageError(
                        f"another cycle run of {ctx.programme.key} is in progress (process "
                        f"{pid}, Prefect flow run {held.get('flow_run')}); wait for it to "
                        f"finish, or stop it; {path} holds its claim"
                    ) from None
            elif held.get("host") not in (None, host):
                raise StageError(
                    f"a cycle run of {ctx.programme.key} on {held.get('host')} holds {path}; "
                    "wait for it, or delete the file if that machine's run is gone"
                ) from None
            _take_over(ctx, path, held)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(mine, out)
        break
    else:
        raise StageError(f"could not claim {path} for the cycle run; run it again")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
