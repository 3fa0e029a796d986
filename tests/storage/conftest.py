"""A migrated store on a real SQLite file, and on PostgreSQL when IMPROVE_TEST_POSTGRES_URL is
set (CI sets it; .ci/run starts the server); plus small hand-built artifacts of every stage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.postgres import POSTGRES_URL, fresh_schema
from tests.samples import make_artifacts

from improve.domain.base import (
    Artifact,
    Stage,
    Text,
)
from improve.domain.programme import (
    Approvers,
    CycleSettings,
    DataSource,
    DataSources,
    Department,
    Programme,
)
from improve.storage.db import make_engine, migrate, session_factory

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

KEY, CYCLE = "demo", "2026-H1"  # the programme of tests/samples.py


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend: a new SQLite file, or a new PostgreSQL schema that
    is dropped afterwards (so runs never see each other's tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'improve.db'}"
        return
    with fresh_schema("test") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A freshly migrated database of each backend."""
    eng = make_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, committed when the test ends normally."""
    with session_factory(engine)() as s, s.begin():
        yield s


def _t(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


def build_programme() -> Programme:
    """A minimal valid programme definition."""
    return Programme(
        key=KEY,
        name=_t("客服提升", "Customer care improvement"),
        owner="王敏",
        data=DataSources(tickets=DataSource(path="tickets.csv")),
        departments=(
            Department(key="support", name=_t("客服部", "Support"), head="李娜", roles=("agent",)),
        ),
        approvers=Approvers(author=("王敏",), cross=("李娜",), final=("张伟",)),
        cycle=CycleSettings(
            key=CYCLE,
            diagnosis_date=date(2026, 1, 1),
            plan_start=date(2026, 1, 5),
            deadline=date(2026, 6, 30),
        ),
    )


@pytest.fixture
def care() -> Programme:
    """A minimal programme keyed like the hand-built artifacts of tests/samples.py."""
    return build_programme()


@pytest.fixture
def stage_artifacts() -> dict[Stage, Artifact]:
    """One hand-built artifact per stage (tests/samples.py, shared with the report tests)."""
    return make_artifacts()
