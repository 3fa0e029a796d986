"""Fixtures of the report tests: one hand-built artifact per stage."""

from __future__ import annotations

import pytest
from tests.samples import make_artifacts

from improve.domain.base import Artifact, Stage


@pytest.fixture(scope="session")
def artifacts() -> dict[Stage, Artifact]:
    """One hand-built artifact per stage."""
    return make_artifacts()
