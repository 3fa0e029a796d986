"""One Prefect test harness (a temporary server) for the whole session's flow tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite store and report folder for one test."""
    monkeypatch.setenv("IMPROVE_DATABASE_URL", f"sqlite:///{tmp_path / 'improve.db'}")
    monkeypatch.setenv("IMPROVE_ARTIFACTS_DIR", str(tmp_path / "reports"))
    yield tmp_path
