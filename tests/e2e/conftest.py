"""The demo, run once as a user would (a subprocess of the `improve` command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def require_binary(name: str) -> str:
    """Path of a system tool the check needs; missing fails under CI, skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed; scripts/test.sh installs it (apt-get, as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of `improve demo --out ...` (English reports)."""
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPROVE_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(out / ".prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    result = subprocess.run(
        [sys.executable, "-m", "improve", "demo", "--out", str(out), "--locale", "en"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Cycle complete" in result.stdout
    return out


@pytest.fixture(scope="session")
def demo_reports(demo_out: Path) -> Path:
    return demo_out / "reports" / "demo" / "2026-H1"
