"""The weekly review flow under Prefect: stored once per content, its Markdown in the Prefect
UI, its workbook, page and the coming week's progress workbook written; a rerun of the same
week leaves the store unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from improve.config import demo_programme_path
from improve.orchestration.context import RunContext
from improve.orchestration.flows import artifact_key, cycle_flow, weekly_review_flow
from improve.storage import repository as repo

pytestmark = pytest.mark.slow


async def _markdown(key: str) -> list[str]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [str(a.data) for a in found]


def _reports(sample_root: Path) -> list[repo.StoredReport]:
    ctx = RunContext.load(demo_programme_path(), data_root=sample_root)
    try:
        with ctx.transaction() as session:
            return repo.cadence_reports(
                session=session, programme_key="demo", cycle_key="2026-H1", kind="weekly"
            )
    finally:
        ctx.close()


def test_weekly_review_runs_once_per_week(store: Path, sample_root: Path) -> None:
    config, root = str(demo_programme_path()), str(sample_root)
    cycle_flow(config, stages=["diagnose", "target", "design"], data_root=root, auto_approve=True)
    first = weekly_review_flow(config, period="2026-W07", data_root=root, locale="en")
    assert first.created and first.version == 1 and first.period == "2026-W07"
    assert set(first.review["overdue"]) == {"smart-service/test", "skills-training/criteria"}
    reports = store / "reports" / "demo" / "2026-H1"
    names = {Path(f).name for f in first.files}
    assert names == {"weekly-2026-W07.xlsx", "weekly-2026-W07.html", "progress-2026-02-22.xlsx"}
    assert all((reports / n).exists() for n in names) and (reports / "plotly.min.js").exists()
    # (the digest flow test may have shown this week's review under the same key already)
    markdowns = asyncio.run(_markdown(artifact_key("demo", "2026-H1", "weekly", "2026-W07")))
    assert markdowns and all(
        m.startswith("# Weekly review 2026-W07") and "smart-service/test" in m for m in markdowns
    )

    stored = _reports(sample_root)
    again = weekly_review_flow(config, period="2026-W07", data_root=root, locale="en")
    assert not again.created and again.version == 1
    assert _reports(sample_root) == stored  # the store is unchanged
    assert artifact_key("Demo", "2026-H1", "weekly", "2026-W07") == "demo-2026-h1-weekly-2026-w07"
    # A scheduler that was down: catching up reviews every earlier week never reviewed
    # (the plan starts in 2026-W02), once.
    caught = weekly_review_flow(config, period="2026-W04", data_root=root, catch_up=True)
    assert caught.caught_up == ["2026-W02", "2026-W03"] and caught.created
    assert [r.period for r in _reports(sample_root)] == ["2026-W02", "2026-W03", "2026-W04",
                                                         "2026-W07"]  # fmt: skip
    again = weekly_review_flow(config, period="2026-W04", data_root=root, catch_up=True)
    assert again.caught_up == [] and not again.created


def _monthly(sample_root: Path) -> list[repo.StoredReport]:
    ctx = RunContext.load(demo_programme_path(), data_root=sample_root)
    try:
        with ctx.transaction() as session:
            return repo.cadence_reports(
                session=session, programme_key="demo", cycle_key="2026-H1", kind="monthly"
            )
    finally:
        ctx.close()


def test_monthly_retrospective_runs_once_per_month(store: Path, sample_root: Path) -> None:
    from datetime import date

    from improve.orchestration.flows import monthly_retrospective_flow
    from improve.orchestration.pipeline import is_first_working_day

    config, root = str(demo_programme_path()), str(sample_root)
    cycle_flow(config, stages=["diagnose", "target", "design"], data_root=root, auto_approve=True)
    first = monthly_retrospective_flow(config, period="2026-02", data_root=root, locale="en")
    assert first.created and first.version == 1
    assert {s["task_id"] for s in first.review["shifts"]} >= {"smart-service/test"}
    reports = store / "reports" / "demo" / "2026-H1"
    assert (reports / "monthly-2026-02.html").exists() and (
        reports / "monthly-2026-02.xlsx"
    ).exists()
    [markdown] = asyncio.run(_markdown(artifact_key("demo", "2026-H1", "monthly", "2026-02")))
    assert markdown.startswith("# Monthly retrospective 2026-02")
    stored = _monthly(sample_root)
    again = monthly_retrospective_flow(config, period="2026-02", data_root=root, locale="en")
    assert not again.created and _monthly(sample_root) == stored
    # The schedule fires on weekdays 1-7; only the first working day runs (holidays move it).
    ctx = RunContext.load(config, data_root=root)
    try:
        assert is_first_working_day(ctx, date(2026, 2, 2))  # 1 February is a Sunday
        assert not is_first_working_day(ctx, date(2026, 2, 3))
        assert not is_first_working_day(ctx, date(2026, 10, 5))  # National Day holidays
        october = ctx.calendar.next_working_day(date(2026, 10, 1))
        assert october > date(2026, 10, 7) and is_first_working_day(ctx, october)
    finally:
        ctx.close()
