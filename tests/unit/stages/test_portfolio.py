"""The portfolio's and the digest's view of a programme, from what the store would hold:
who a version waits for, which tasks are off schedule, where each KPI stands."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.chain import Chain
from tests.samples import ref_of

from improve.domain.base import Stage
from improve.domain.calendar import WorkCalendar
from improve.domain.meetings import KpiForecast, MonthlyRetrospective, WeeklyKpi, WeeklyReview
from improve.domain.portfolio import (
    ArtifactEntry,
    CycleEntry,
    DecisionEntry,
    VersionEntry,
)
from improve.domain.programme import Programme
from improve.stages.portfolio import (
    kpi_alerts,
    kpi_lines,
    pending_approvals,
    summarise,
    task_flags,
    weekly_digest,
)

AT = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


def _version(n: int, status: str, *decisions: tuple[str, str, str]) -> VersionEntry:
    return VersionEntry(
        version=n,
        status=status,  # type: ignore[arg-type]
        created_by="improve",
        created_at=AT,
        content_hash=f"{n:064x}",
        decisions=tuple(
            DecisionEntry(level=lvl, approver=who, decision=d, comment=None, at=AT)  # type: ignore[arg-type]
            for lvl, who, d in decisions
        ),
    )


def _cycle(*artifacts: ArtifactEntry, key: str = "2026-H1") -> CycleEntry:
    last = artifacts[-1] if artifacts else None
    return CycleEntry(
        key=key,
        stage=last.stage if last else None,
        status=last.latest.status if last else None,
        artifacts=artifacts,
    )


def test_a_version_waits_for_the_level_it_has_reached(programme: Programme) -> None:
    """Author done and two cross heads approved: the other two heads are awaited; an approved
    or rejected latest version, and earlier pending versions, wait for nobody."""
    heads = programme.approvers.cross
    diagnosis = ArtifactEntry(
        stage=Stage.DIAGNOSE,
        artifact_id="demo/2026-H1/diagnose",
        versions=(_version(1, "approved"),),
    )
    targets = ArtifactEntry(
        stage=Stage.TARGET,
        artifact_id="demo/2026-H1/target",
        versions=(
            _version(1, "rejected"),
            _version(
                2,
                "pending",
                ("author", programme.approvers.author[0], "approved"),
                ("cross", heads[0], "approved"),
                ("cross", heads[1], "approved"),
            ),
        ),
    )
    old = ArtifactEntry(
        stage=Stage.DESIGN, artifact_id="demo/2025-H2/design", versions=(_version(1, "pending"),)
    )
    [waiting, fresh] = pending_approvals(
        [_cycle(diagnosis, targets), _cycle(old, key="2025-H2")], programme
    )
    assert (waiting.artifact_id, waiting.version, waiting.level) == (
        "demo/2026-H1/target",
        2,
        "cross",
    )
    assert waiting.awaiting == heads[2:]
    assert (fresh.level, fresh.awaiting) == ("author", programme.approvers.author)


def test_overdue_and_due_soon_tasks_as_of_a_day(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    """The sample's week 7: the vendor-delayed system test and the stalled criteria are
    overdue (most days first), the launch training is due soon; no plan, no flags."""
    progress = chain.execution_facts.progress
    overdue, due = task_flags(chain.plan, progress, date(2026, 2, 15), calendar)
    assert {t.task_id for t in overdue} == {"smart-service/test", "skills-training/criteria"}
    assert [t.overdue_days for t in overdue] == sorted(
        (t.overdue_days for t in overdue), reverse=True
    )
    assert [t.task_id for t in due] == ["smart-service/launch-training"]
    assert due[0].due_in_days is not None and due[0].overdue_days == 0
    assert all(t.name.zh and t.name.en for t in overdue + due)
    assert task_flags(None, progress, date(2026, 2, 15), calendar) == ([], [])


def test_kpi_status_on_the_path_or_met(chain: Chain, programme: Programme) -> None:
    """Before evaluation the latest month is judged against the straight path from baseline
    to target; after it, met or not; months after the day are left out."""
    t1 = chain.targets.targets[0]
    start = programme.cycle.plan_start
    months = [date(2025, m, 1) for m in range(1, 13)] + [date(2026, m, 1) for m in range(1, 7)]
    good = t1.target
    bad = t1.baseline * (1.5 if t1.direction.value == "lower" else 0.5)
    series = {t1.kpi: [(m, t1.baseline) for m in months[:-1]] + [(months[-1], good)]}
    [line, *_] = kpi_lines(chain.targets, None, series, plan_start=start, as_of=date(2026, 6, 30))
    assert line.status == "on_track" and line.latest == good and len(line.series) == 18
    series[t1.kpi][-1] = (months[-1], bad)
    [line, *_] = kpi_lines(chain.targets, None, series, plan_start=start, as_of=date(2026, 6, 30))
    assert line.status == "off_track" and line.expected is not None
    [early, *_] = kpi_lines(chain.targets, None, series, plan_start=start, as_of=date(2026, 3, 10))
    assert early.latest_period == date(2026, 3, 1)
    assert all(m <= date(2026, 3, 10) for m, _ in early.series)
    lines = kpi_lines(
        chain.targets, chain.evaluation, series, plan_start=start, as_of=date(2026, 6, 30)
    )
    met = {r.target_id: r.met for r in chain.evaluation.results}
    assert {x.target_id: x.status for x in lines} == {
        k: "met" if v else "not_met" for k, v in met.items()
    }
    [none, *_] = kpi_lines(chain.targets, None, {}, plan_start=start, as_of=date(2026, 6, 30))
    assert (none.status, none.series, none.latest) == ("unknown", (), None)


def test_summary_reads_the_current_cycle(
    chain: Chain, programme: Programme, calendar: WorkCalendar
) -> None:
    current = _cycle(
        ArtifactEntry(
            stage=Stage.DIAGNOSE,
            artifact_id="demo/2026-H1/diagnose",
            versions=(_version(1, "approved"),),
        ),
        ArtifactEntry(
            stage=Stage.DESIGN,
            artifact_id="demo/2026-H1/design",
            versions=(_version(1, "pending"),),
        ),
        key=programme.cycle.key,
    )
    summary = summarise(
        programme,
        [_cycle(key="2025-H2"), current],
        plan=chain.plan,
        progress=chain.execution_facts.progress,
        targets=chain.targets,
        evaluation=None,
        monthly={},
        as_of=date(2026, 2, 15),
        calendar=calendar,
    )
    assert (summary.cycle, summary.stage, summary.status) == (
        programme.cycle.key,
        Stage.DESIGN,
        "pending",
    )
    assert len(summary.overdue) == 2 and len(summary.pending) == 1
    assert [k.target_id for k in summary.kpis] == [t.id for t in chain.targets.targets]


def _weekly(chain: Chain, on_track: list[bool | None]) -> WeeklyReview:
    return WeeklyReview(
        programme="demo",
        cycle="2026-H1",
        period="2026-W07",
        start=date(2026, 2, 9),
        end=date(2026, 2, 15),
        plan=ref_of(chain.plan),
        targets=ref_of(chain.targets),
        spi=0.9,
        sv_points=-3.0,
        tasks=(),
        overdue=(),
        due_soon=(),
        look_ahead_days=5,
        blockers=(),
        kpis=tuple(
            WeeklyKpi(
                target_id=t.id,
                kpi=t.kpi,
                actual=t.baseline,
                planned=t.baseline,
                target=t.target,
                on_track=ok,
            )
            for t, ok in zip(chain.targets.targets, on_track, strict=False)
        ),
    )


def test_alerts_and_the_digest(chain: Chain, programme: Programme, calendar: WorkCalendar) -> None:
    """Off-path KPIs of the week, then forecasts that miss or may miss; the digest's tasks
    are judged as of the week's Sunday."""
    weekly = _weekly(chain, [False, True, None])
    t = chain.targets.targets
    assert len(t) == 3
    forecast = [
        KpiForecast(
            target_id=x.id,
            kpi=x.kpi,
            months=3,
            actual=x.baseline,
            planned=x.baseline,
            forecast=x.baseline,
            low=None,
            high=None,
            target=x.target,
            outlook=o,
        )
        for x, o in zip(t, ["likely", "unlikely", "at_risk"], strict=False)
    ]
    monthly = MonthlyRetrospective.model_construct(period="2026-01", forecasts=tuple(forecast))
    alerts = kpi_alerts(weekly, monthly)
    assert [(a.target_id, a.kind, a.period) for a in alerts] == [
        (t[0].id, "off_path", "2026-W07"),
        (t[1].id, "forecast_unlikely", "2026-01"),
        (t[2].id, "forecast_at_risk", "2026-01"),
    ]
    assert kpi_alerts(None, None) == []
    digest = weekly_digest(
        programme,
        [],
        period="2026-W07",
        plan=chain.plan,
        progress=chain.execution_facts.progress,
        weekly=weekly,
        monthly=None,
        sources=["weekly 2026-W07 v1"],
        calendar=calendar,
    )
    assert digest.as_of == date(2026, 2, 15) and not digest.quiet
    assert {f.task_id for f in digest.overdue} == {"smart-service/test", "skills-training/criteria"}
    assert [a.kind for a in digest.alerts] == ["off_path"] and digest.sources == (
        "weekly 2026-W07 v1",
    )
