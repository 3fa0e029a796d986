"""The cycle flow under Prefect: gates, idempotent reruns, stages re-run alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from improve.config import demo_programme_path
from improve.domain.base import Stage
from improve.orchestration.context import RunContext
from improve.orchestration.flows import cycle_flow
from improve.storage import repository as repo

ROOT = Path(__file__).resolve().parents[2]


def _versions(sample_root: Path) -> dict[Stage, tuple[int, str]]:
    ctx = RunContext.load(demo_programme_path(), data_root=sample_root)
    try:
        with ctx.transaction() as session:
            out = {}
            for s in Stage:
                stored = repo.latest_artifact(
                    session=session, programme_key="demo", cycle_key="2026-H1", stage=s
                )
                if stored is not None:
                    out[s] = (stored.ref.version, stored.status)
            return out
    finally:
        ctx.close()


@pytest.mark.slow
def test_full_cycle_with_auto_approval_then_rerun_adds_nothing(
    store: Path, sample_root: Path
) -> None:
    first = cycle_flow(
        str(demo_programme_path()), data_root=str(sample_root), locale="en", auto_approve=True
    )
    assert first.waiting_for is None
    assert [s.stage for s in first.stages] == [s.value for s in Stage]
    assert all(s.created and s.status == "approved" for s in first.stages)
    reports = store / "reports" / "demo" / "2026-H1"
    assert {p.name for p in reports.glob("*.xlsx")} == {
        *(f"{s.value}.xlsx" for s in Stage),
        "diagnose-worksheet.xlsx",  # the root-cause worksheet stakeholders fill in
    }
    assert (reports / "index.html").exists()

    again = cycle_flow(
        str(demo_programme_path()), data_root=str(sample_root), locale="en", auto_approve=True
    )
    assert not any(s.created for s in again.stages)
    assert _versions(sample_root) == {s: (1, "approved") for s in Stage}


@pytest.mark.slow
def test_cycle_stops_at_each_gate_until_approved(store: Path, sample_root: Path) -> None:
    config = str(demo_programme_path())
    first = cycle_flow(config, data_root=str(sample_root))
    assert first.waiting_for is not None and first.waiting_for.stage == "diagnose"
    assert [s.stage for s in first.stages] == ["diagnose"]

    ctx = RunContext.load(config, data_root=str(sample_root))
    try:
        with ctx.transaction() as session:
            approvers = ctx.programme.approvers
            for name in (*approvers.author[:1], *approvers.cross, *approvers.final[:1]):
                repo.approve(
                    session=session,
                    artifact_id=first.waiting_for.artifact_id,
                    version=1,
                    approver=name,
                    approvers=approvers,
                )
    finally:
        ctx.close()
    second = cycle_flow(config, data_root=str(sample_root))
    assert [s.stage for s in second.stages] == ["diagnose", "target"]
    assert not second.stages[0].created  # same inputs, same artifact: no new version
    assert second.waiting_for is not None and second.waiting_for.stage == "target"


@pytest.mark.slow
def test_a_stage_runs_alone_from_the_store(store: Path, sample_root: Path) -> None:
    config = str(demo_programme_path())
    cycle_flow(config, data_root=str(sample_root), auto_approve=True, stages=["diagnose", "target"])
    alone = cycle_flow(config, data_root=str(sample_root), stages=["design"], auto_approve=True)
    assert [s.stage for s in alone.stages] == ["design"] and alone.stages[0].created


def test_a_stage_without_its_input_says_what_to_run(store: Path, sample_root: Path) -> None:
    from improve.errors import StageError

    with pytest.raises(StageError, match="--stage diagnose"):
        cycle_flow(str(demo_programme_path()), data_root=str(sample_root), stages=["target"])


@pytest.mark.parametrize("path", sorted((ROOT / "flows").glob("*.py")), ids=lambda p: p.name)
def test_every_flow_module_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"flows_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
