"""The quarterly review reminder of the service standards under Prefect: the published
standards three months past publication are listed in a Markdown artifact and a Markdown
file, drafts and superseded versions are not, and a recorded quarterly review moves the
date on."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from tests.samples import make_optimisation, make_plan

from improve.config import demo_programme_path, load_standard_template
from improve.domain.artifacts import TargetResult
from improve.orchestration import standards as glue
from improve.orchestration.context import RunContext
from improve.orchestration.standards import standards_review_reminder_flow
from improve.stages.standards import draft_standard, review_standard
from improve.storage import repository as repo
from improve.storage import standards as standards_store

pytestmark = pytest.mark.slow
PUBLISHED = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _publish(ctx: RunContext, key: str) -> None:
    """Standard `key` of the demo programme, drafted and through its three-level review."""
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    version = draft_standard(
        load_standard_template("simplified"), make_optimisation(), [result], make_plan(),
        programme=ctx.programme, key=key, author="王敏", at=PUBLISHED - timedelta(days=3),
    )  # fmt: skip
    steps = [("author", "王敏"), *(("cross", h) for h in ("李娜", "张伟", "陈静", "刘洋")),
             ("final", "赵总")]  # fmt: skip
    with ctx.transaction() as session:
        repo.save_programme(session=session, programme=ctx.programme)
        stored, _ = standards_store.save_standard_version(
            session=session, version=version, actor="王敏"
        )
        for i, (level, who) in enumerate(steps):
            at = PUBLISHED - timedelta(hours=len(steps) - i - 1)  # the final one at PUBLISHED
            [version] = review_standard(
                [stored.version], "V1.0", level=level, reviewer=who,  # type: ignore[arg-type]
                approvers=ctx.programme.approvers, at=at,
            )  # fmt: skip
            stored = standards_store.update_standard(
                session=session, stored=stored, updated=version, actor=who
            )


async def _markdown(key: str) -> list[str]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [str(a.data) for a in found]


def test_the_reminder_lists_the_standards_due_for_their_quarterly_review(store: Path) -> None:
    config = str(demo_programme_path())
    ctx = RunContext.load(config, locale="en")
    try:
        _publish(ctx, "service-standard")
        not_yet = standards_review_reminder_flow(config, today="2026-10-05", locale="en")
        assert not_yet.due == [] and not_yet.today == date(2026, 10, 5)
        due = standards_review_reminder_flow(config, today="2026-10-06", locale="en")
        assert due.due == [{"key": "service-standard", "version": "V1.0", "due": "2026-10-06"}]
        path = Path(due.file)
        assert path == store / "reports" / "demo" / "standards" / "review-reminder-2026-10-06.md"
        text = path.read_text(encoding="utf-8")
        assert "| service-standard | V1.0 |" in text and "improve standards confirm" in text
        markdowns = asyncio.run(_markdown("demo-standards-review"))
        assert any("2026-10-06" in m and "service-standard" in m for m in markdowns)
        # the quarterly review recorded, the next one falls a quarter later
        glue.confirm(ctx, who="赵总", comment="仍适用", now=datetime(2026, 10, 9, 1, 0, tzinfo=UTC))
        after = standards_review_reminder_flow(config, today="2026-12-31", locale="en")
        assert after.due == []
        assert standards_review_reminder_flow(config, today="2027-01-09").due[0]["due"] == (
            "2027-01-09"
        )
    finally:
        ctx.close()
