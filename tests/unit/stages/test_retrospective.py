"""The monthly retrospective (月度复盘) on the sample's February 2026: the vendor's delay
and the stalled criteria explained, the system test and launch training re-planned, a risk
raised for the late critical task, each target's outlook at its deadline, scorecards."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from tests.chain import Chain
from tests.samples import ref_of

from improve.data.facts import monthly_facts
from improve.domain.artifacts import Target
from improve.domain.base import Dimension, Direction, Text
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import GroupKpis, PeriodKpis
from improve.domain.meetings import MonthlyRetrospective, parse_month
from improve.domain.programme import Programme, RiskSetting
from improve.stages.retrospective import forecast, monthly_retrospective, scorecard


@pytest.fixture(scope="module")
def february(
    chain: Chain, sample_con: duckdb.DuckDBPyConnection, programme: Programme,
    calendar: WorkCalendar,
) -> MonthlyRetrospective:  # fmt: skip
    start, end = parse_month("2026-02")
    facts = monthly_facts(
        sample_con, start=start, end=end, plan_start=programme.cycle.plan_start,
        progress=chain.execution_facts.progress,
    )  # fmt: skip
    risky = programme.model_copy(
        update={
            "risks": (
                RiskSetting(
                    key="turnover", title=Text(zh="人员流失", en="Staff turnover"),
                    probability=3, impact=5, owner="李娜",
                    response=Text(zh="保留计划", en="Retention plan"),
                ),
            )
        }
    )  # fmt: skip
    return monthly_retrospective(
        chain.plan, chain.targets, facts, period="2026-02", plan_ref=ref_of(chain.plan),
        targets_ref=ref_of(chain.targets), programme=risky, calendar=calendar,
    )  # fmt: skip


def test_months_parse() -> None:
    assert parse_month("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ValueError, match="like 2026-02"):
        parse_month("2026-13")


def test_deviations_carry_their_causes(february: MonthlyRetrospective) -> None:
    causes = {d.task_id: d.cause for d in february.deviations}
    assert causes["skills-training/criteria"] == "新绩效方案待人力资源部审批"
    assert "smart-service/test" in causes
    assert february.spi is not None and february.spi < 1


def test_late_tasks_and_their_dependants_are_re_planned(
    february: MonthlyRetrospective, chain: Chain, calendar: WorkCalendar
) -> None:
    shifts = {s.task_id: s for s in february.shifts}
    test, launch = shifts["smart-service/test"], shifts["smart-service/launch-training"]
    assert test.new_end > test.end and launch.because_of == "smart-service/test"
    assert launch.new_start > test.new_end
    assert calendar.working_days_between(launch.new_start, launch.new_end) == (
        chain.plan.task("smart-service/launch-training").working_days
    )
    assert february.plan_end == max(s.new_end for s in february.shifts)
    assert not february.past_deadline


def test_the_risk_register_raises_late_critical_tasks(february: MonthlyRetrospective) -> None:
    keys = [r.key for r in february.risks]
    assert "late-smart-service/test" in keys and "turnover" in keys
    assert [r.score for r in february.risks] == sorted((r.score for r in february.risks),
                                                       reverse=True)  # fmt: skip
    raised = next(r for r in february.risks if r.key == "late-smart-service/test")
    assert raised.raised == "late_critical_task" and raised.impact == 4


def test_scorecards_weigh_the_kpis_of_each_role(february: MonthlyRetrospective) -> None:
    teams = {c.name: c for c in february.scorecards if c.kind == "team"}
    assert set(teams) == {"一线客服组", "二线技术组", "账务组", "投诉处理组"}
    # customer service weighs satisfaction most, technical support resolution
    assert teams["一线客服组"].weights["csat_rate"] == 0.5
    assert teams["二线技术组"].weights["resolution_median_h"] == 0.5
    assert teams["账务组"].weights == {
        "frt_median_min": 0.2,
        "resolution_median_h": 0.5,
        "csat_rate": 0.3,
    }  # the source's default
    for card in teams.values():  # fmt: skip
        assert card.total is not None and 0 <= card.total <= 100
    agents = [c for c in february.scorecards if c.kind == "agent"]
    assert agents and all(c.team in teams for c in agents)
    assert all(c.total is None for c in agents if c.tickets < 20)


def test_a_scorecard_caps_each_kpi_at_its_reference() -> None:
    group = GroupKpis(name="A", tickets=100, kpis={"frt_median_min": 50.0, "csat_rate": 0.6})
    card = scorecard(group, "team", {"frt_median_min": 0.5, "csat_rate": 0.5},
                     {"frt_median_min": 100.0, "csat_rate": 0.8})  # fmt: skip
    assert card.scores == {"frt_median_min": 100.0, "csat_rate": 75.0}
    assert card.total == 87.5


def _target(baseline: float, value: float) -> Target:
    from improve.domain.artifacts import SmartCheck

    ok = SmartCheck(specific=True, measurable=True, achievable=True, relevant=True,
                    time_bound=True)  # fmt: skip
    return Target(
        id="T1", kpi="frt_median_min", dimension=Dimension.EFFICIENCY,
        direction=Direction.LOWER, unit="min", baseline=baseline, target=value, benchmark=None,
        best_decile=None, deadline=date(2026, 6, 30), owner_department="cs",
        problem_ids=("P1",), objective=Text(zh="x", en="x"), rule=Text(zh="x", en="x"),
        smart=ok,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("values", "outlook"),
    [
        ((90, 85, 80, 75), "likely"),  # falls 5 a month: 60 by June, well under 70
        ((90, 91, 89, 90), "unlikely"),  # flat at 90
        ((90, 80, 88, 76), "at_risk"),  # falling, but noisy
        ((90, 85), "unknown"),  # too few months
    ],
)
def test_forecast_at_the_deadline(values: tuple[float, ...], outlook: str) -> None:
    months = tuple(
        PeriodKpis(period=date(2026, m, 1), values={"frt_median_min": v})
        for m, v in enumerate(values, start=1)
    )
    got = forecast(_target(90, 70), months, plan_start=date(2026, 1, 5),
                   month_end=date(2026, len(values), 28))  # fmt: skip
    assert got.outlook == outlook, got
    if outlook != "unknown":
        assert got.low is not None and got.high is not None and got.low <= got.high


def test_the_retrospective_is_published_as_a_workbook_and_a_page(
    february: MonthlyRetrospective, programme: Programme, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from improve.reports.meetings import monthly_markdown, write_monthly

    xlsx, html = write_monthly(tmp_path, february, locale="en", programme=programme)
    assert load_workbook(xlsx).sheetnames == [
        "Summary", "Tasks", "Deviations and their causes",
        "Forecast at the deadline", "Proposed re-planning", "Risk register",
        "Team and agent scorecards",
    ]  # fmt: skip
    page = html.read_text(encoding="utf-8")
    assert "monthly-forecast" in page and "新绩效方案待人力资源部审批" in page
    assert monthly_markdown(february, locale="zh-CN").startswith("# 月度复盘 2026-02")
