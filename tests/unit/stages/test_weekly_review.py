"""The weekly review (周例会) on the sample: the vendor's delay makes the system test overdue,
the stalled criteria show up as a blocker of customer service, SPI falls below one."""

from __future__ import annotations

from datetime import date

import pytest
from tests.chain import Chain
from tests.samples import ref_of

from improve.domain.calendar import WorkCalendar
from improve.domain.facts import WeeklyFacts
from improve.domain.meetings import WeeklyReview, parse_week, week_of
from improve.domain.programme import Programme
from improve.reports.meetings import weekly_markdown
from improve.stages.review import weekly_review


def _review(chain: Chain, programme: Programme, calendar: WorkCalendar, period: str,
            kpis: dict[str, float | None] | None = None) -> WeeklyReview:  # fmt: skip
    start, end = parse_week(period)
    facts = WeeklyFacts(
        start=start, end=end, kpis=kpis or {}, progress=chain.execution_facts.progress
    )
    return weekly_review(
        chain.plan,
        chain.targets,
        facts,
        period=period,
        plan_ref=ref_of(chain.plan),
        targets_ref=ref_of(chain.targets),
        plan_start=programme.cycle.plan_start,
        calendar=calendar,
    )


def test_iso_weeks_parse_and_name() -> None:
    assert parse_week("2026-W05") == (date(2026, 1, 26), date(2026, 2, 1))
    assert week_of(date(2026, 2, 1)) == "2026-W05" and week_of(date(2026, 1, 1)) == "2026-W01"
    with pytest.raises(ValueError, match="like 2026-W04"):
        parse_week("2026-5")
    with pytest.raises(ValueError, match="has no week 54"):
        parse_week("2026-W54")


def test_the_week_after_the_vendor_slipped(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    review = _review(chain, programme, calendar, "2026-W07")
    assert review.spi is not None and review.spi < 1 and review.sv_points is not None
    assert review.sv_points < 0
    assert set(review.overdue) == {"smart-service/test", "skills-training/criteria"}
    test = next(t for t in review.tasks if t.task_id == "smart-service/test")
    assert test.overdue_days >= 1 and test.behind_days > 0 and test.critical
    [cs] = review.blockers
    assert cs.department == "cs" and cs.blockers == (
        ("skills-training/criteria", "新绩效方案待人力资源部审批"),
    )
    assert review.due_soon == ("smart-service/launch-training",)
    assert review.plan == ref_of(chain.plan)


def test_kpis_of_the_week_against_their_paths(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    t1 = chain.targets.targets[0]
    worse = t1.baseline + (1 if t1.direction.value == "lower" else -1)
    review = _review(chain, programme, calendar, "2026-W07", kpis={t1.kpi: worse})
    row = next(k for k in review.kpis if k.target_id == t1.id)
    assert row.actual == worse and row.on_track is False and row.target == t1.target
    # a week into the plan the path has moved a little from the baseline towards the target
    assert min(t1.baseline, t1.target) < row.planned < max(t1.baseline, t1.target)
    other = next(k for k in review.kpis if k.target_id != t1.id)
    assert other.actual is None and other.on_track is None


def test_the_markdown_keeps_data_inert(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    review = _review(chain, programme, calendar, "2026-W07")
    hostile = review.model_copy(
        update={
            "blockers": (
                review.blockers[0].model_copy(
                    update={"blockers": (("x", "<script>alert(1)</script> | *bold* [a](b)"),)}
                ),
            )
        }
    )
    text = weekly_markdown(hostile, locale="en")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\\| \\*bold\\* \\[a\\](b)" in text
    assert "# Weekly review 2026-W07" in text and "SPI **0.89**" in text
