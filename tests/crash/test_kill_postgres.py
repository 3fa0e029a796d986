"""The cycle killed at every point and rerun, on PostgreSQL (a schema of its own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.crash.killing import kill_and_rerun
from tests.e2e.conftest import demo_out  # noqa: F401  (the uninterrupted reference run)
from tests.postgres import POSTGRES_URL, fresh_schema

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(
        not POSTGRES_URL and not os.environ.get("CI"), reason="IMPROVE_TEST_POSTGRES_URL is not set"
    ),
]


def test_kill_and_rerun_on_postgres(demo_out: Path, tmp_path: Path) -> None:  # noqa: F811
    with fresh_schema("crash") as url:
        kill_and_rerun(tmp_path, demo_out, url, demo_out)
