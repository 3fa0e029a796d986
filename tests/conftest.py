"""Shared fixtures: the sample data set (generated once) and a DuckDB with it loaded."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Each test process (each worker of `pytest -n`) gets its own Prefect home, so in-process flow
# runs never share one ephemeral server database, and no test touches ~/.prefect.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="improve-test-prefect-")

from improve.config import demo_programme_path, load_playbook, load_programme, load_rules
from improve.data.canonical import PROGRESS, SURVEYS, TICKETS, load_canonical
from improve.data.sample import SampleFiles, write_sample_data
from improve.domain.calendar import WorkCalendar, china_calendar
from improve.domain.programme import Playbook, Programme, RootCauseRules
from tests.chain import Chain, build_chain


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove this process's Prefect home."""
    shutil.rmtree(os.environ["PREFECT_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def programme() -> Programme:
    return load_programme(demo_programme_path())


@pytest.fixture(scope="session")
def playbook(programme: Programme) -> Playbook:
    return load_playbook(programme)


@pytest.fixture(scope="session")
def rules(programme: Programme) -> RootCauseRules:
    return load_rules(programme)


@pytest.fixture(scope="session")
def calendar() -> WorkCalendar:
    return china_calendar(range(2024, 2028))


@pytest.fixture(scope="session")
def sample_root(
    tmp_path_factory: pytest.TempPathFactory,
    programme: Programme,
    playbook: Playbook,
    calendar: WorkCalendar,
) -> Path:
    """A folder holding data/ with the sample data set, as the demo writes it."""
    root = tmp_path_factory.mktemp("sample")
    write_sample_data(
        root / "data", playbook=playbook, plan_start=programme.cycle.plan_start, calendar=calendar
    )
    return root


@pytest.fixture(scope="session")
def sample_files(sample_root: Path) -> SampleFiles:
    data = sample_root / "data"
    return SampleFiles(data / "tickets.parquet", data / "surveys.csv", data / "progress.xlsx", 0, 0)


@pytest.fixture(scope="session")
def sample_con(sample_root: Path, programme: Programme) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    load_canonical(con, TICKETS, programme.data.tickets, base_dir=sample_root)
    load_canonical(con, SURVEYS, programme.data.surveys, base_dir=sample_root)  # type: ignore[arg-type]
    load_canonical(con, PROGRESS, programme.data.progress, base_dir=sample_root)  # type: ignore[arg-type]
    yield con
    con.close()


@pytest.fixture(scope="session")
def chain(
    sample_con: duckdb.DuckDBPyConnection,
    programme: Programme,
    playbook: Playbook,
    rules: RootCauseRules,
    calendar: WorkCalendar,
) -> Chain:
    """The six stages chained on the sample data, computed once."""
    return build_chain(sample_con, programme, playbook, rules, calendar)
