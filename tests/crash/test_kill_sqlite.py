"""The cycle killed at every point and rerun, on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crash.killing import kill_and_rerun
from tests.e2e.conftest import demo_out  # noqa: F401  (the uninterrupted reference run)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def test_kill_and_rerun_on_sqlite(demo_out: Path, tmp_path: Path) -> None:  # noqa: F811
    kill_and_rerun(tmp_path, demo_out, f"sqlite:///{tmp_path / 'improve.db'}", demo_out)
