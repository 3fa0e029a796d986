"""The cycle killed at every point and rerun, on PostgreSQL (a schema of its own)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.crash.killing import kill_and_rerun
from tests.e2e.conftest import demo_out  # noqa: F401  (the uninterrupted reference run)

POSTGRES_URL = os.environ.get("IMPROVE_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(
        not POSTGRES_URL and not os.environ.get("CI"), reason="IMPROVE_TEST_POSTGRES_URL is not set"
    ),
]


def test_kill_and_rerun_on_postgres(demo_out: Path, tmp_path: Path) -> None:  # noqa: F811
    assert POSTGRES_URL, "CI must set IMPROVE_TEST_POSTGRES_URL (see .ci/run)"
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        kill_and_rerun(tmp_path, demo_out, url.render_as_string(hide_password=False), demo_out)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
