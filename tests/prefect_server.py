"""One local Prefect server per test process, for the CLI runs of the slow tests.

Each `improve run` without PREFECT_API_URL starts a temporary server of its own, about 15 s of
its 30 s when killed after the diagnosis; the crash and CLI tests run a dozen each, so they
point at this one instead (the demo and its reference run keep the temporary-server path).
Started on first use, stopped when the process exits."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_API: str | None = None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shared_api() -> str:
    """The API URL of this process's server (started now if it is not running)."""
    global _API
    if _API is not None:
        return _API
    home = Path(tempfile.mkdtemp(prefix="improve-test-prefect-server-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "IMPROVE_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_ENABLED="false")  # fmt: skip
    log = (home / "server.log").open("wb")
    prefect = Path(sys.executable).parent / "prefect"
    proc = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip

    def stop() -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    api = f"http://127.0.0.1:{port}/api"
    wait_healthy(api, proc, home / "server.log")
    _API = api
    return api


def wait_healthy(api: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    """Wait until the server at `api` answers its health check; AssertionError with the end
    of its log when it exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(log.read_text(errors="replace")[-3000:])
        time.sleep(0.5)
