"""A migrated store on a real SQLite file, and on PostgreSQL when IMPROVE_TEST_POSTGRES_URL
is set (CI sets it; .ci/run starts the server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from improve.storage.db import make_engine, migrate, session_factory

POSTGRES_URL = os.environ.get("IMPROVE_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL and not os.environ.get("CI"),
                reason="IMPROVE_TEST_POSTGRES_URL is not set",
            ),
        ],
    ),
]


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database of each backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        assert POSTGRES_URL, "CI must set IMPROVE_TEST_POSTGRES_URL (see .ci/run)"
        eng = make_engine(POSTGRES_URL)
        _reset_postgres(eng)
    migrate(eng)
    yield eng
    if request.param != "sqlite":
        _reset_postgres(eng)
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed when the test ends normally."""
    with session_factory(engine)() as s, s.begin():
        yield s
