"""Small, realistic stage artifacts built by hand (no sample data, no stages), one per stage,
for the demo programme's departments (cs, tech, ops, product). Keyword arguments put hostile
text where data text goes."""

from __future__ import annotations

from datetime import date

from improve.domain.artifacts import (
    CarryOver,
    Comparison,
    CustomerMeasure,
    CustomerVerification,
    DiagnosisReport,
    Estimate,
    EvaluationReport,
    Evidence,
    ExecutionReport,
    ImplementationPlan,
    KeywordShift,
    KpiBaseline,
    KpiTrajectory,
    OptimisationReport,
    PeriodValue,
    PilotEvaluation,
    PilotKpiResult,
    PlanTask,
    Problem,
    RaciEntry,
    Rating,
    Segment,
    SmartCheck,
    StandardMeasure,
    StrategyChoice,
    SubTarget,
    Target,
    TargetList,
    TargetResult,
    TaskProgress,
    TrajectoryPoint,
)
from improve.domain.base import (
    Artifact,
    ArtifactRef,
    Dimension,
    Direction,
    RootCause,
    Stage,
    Text,
)
from improve.domain.control import ControlChart, Shift, SpecialCause
from improve.domain.hashing import content_hash
from improve.domain.programme import RatingWeights

HEADER = {"programme": "demo", "cycle": "2026-H1"}
MONTHS = [date(2025, m, 1) for m in range(1, 13)]


WEEKS = tuple(date.fromordinal(date(2025, 8, 4).toordinal() + 7 * i) for i in range(20))


def ref_of(artifact: Artifact, version: int = 1) -> ArtifactRef:
    """The reference the store would give `artifact`."""
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    return ArtifactRef(
        stage=stage,
        artifact_id=f"{artifact.programme}/{artifact.cycle}/{stage.value}",
        version=version,
        content_hash=content_hash(artifact),
    )


def make_diagnosis(
    *, title: Text | None = None, segment: str = "邮件", source: str | None = None
) -> DiagnosisReport:
    """A diagnosis with three KPIs, one driver list and three problems; `title`, `segment`
    and `source` let a test put hostile text where data text goes."""
    frt = [118.0 + 3 * i for i in range(12)]
    fcr = [0.64 - 0.003 * i for i in range(12)]
    evidence = Evidence(
        signal="concentration",
        metric="frt_median_min",
        segment_value=210.0,
        overall_value=142.0,
        strength=2.4,
        text=Text(
            zh="邮件渠道首次响应 210 分钟，整体 142 分钟", en="Email first reply 210 min vs 142"
        ),
    )
    return DiagnosisReport(
        **HEADER,
        window_start=date(2025, 1, 1),
        window_end=date(2025, 12, 31),
        tickets=48_210,
        data_fingerprint="ab" * 32,
        baseline=(
            KpiBaseline(
                kpi="frt_median_min",
                value=142.0,
                benchmark=98.0,
                benchmark_source=source or "Zendesk benchmark",
                gap=44.0,
                early=121.0,
                late=148.5,
                deteriorated=True,
                monthly=tuple(
                    PeriodValue(period=m, value=v) for m, v in zip(MONTHS, frt, strict=True)
                ),
                chart=ControlChart(
                    kpi="frt_median_min",
                    kind="xmr",
                    weeks=WEEKS,
                    values=tuple([118.0, 125.0, 121.0, 119.0, 124.0] * 2 + [150.0, 146.0] * 5),
                    center=134.0,
                    lower=(98.0,) * 20,
                    upper=(170.0,) * 20,
                    signals=(
                        SpecialCause(
                            rule="run_of_eight",
                            first_week=WEEKS[10],
                            week=WEEKS[17],
                            direction="up",
                            worse=True,
                        ),
                    ),
                    shift=Shift(
                        started=WEEKS[10], before=121.6, after=148.0, p_value=0.0003, worse=True
                    ),
                ),
            ),
            KpiBaseline(
                kpi="fcr_rate",
                value=0.62,
                benchmark=0.70,
                benchmark_source="SQM Group",
                gap=0.08,
                early=0.637,
                late=0.61,
                deteriorated=False,
                monthly=tuple(
                    PeriodValue(period=m, value=v) for m, v in zip(MONTHS, fcr, strict=True)
                ),
                chart=ControlChart(
                    kpi="fcr_rate",
                    kind="p",
                    weeks=WEEKS,
                    values=tuple([0.63, 0.61, 0.62, 0.60] * 5),
                    center=0.615,
                    lower=(0.58,) * 20,
                    upper=(0.65,) * 20,
                ),
            ),
            KpiBaseline(kpi="csat_rate", value=0.87, benchmark=0.85, gap=-0.02),
            KpiBaseline(kpi="volume", value=48_210.0),
        ),
        drivers={
            "frt_median_min": (
                Segment(
                    dimension="channel",
                    value="邮件",
                    tickets=12_000,
                    share=0.249,
                    kpi_value=210.0,
                    weight=11_800,
                    contribution=0.61,
                ),
                Segment(
                    dimension="channel",
                    value="web",
                    tickets=20_000,
                    share=0.415,
                    kpi_value=130.0,
                    weight=19_500,
                    contribution=0.22,
                ),
            )
        },
        problems=(
            Problem(
                id="P1",
                key=f"process/channel/{segment}",
                kpi="frt_median_min",
                title=title or Text(zh="邮件渠道首次响应超时", en="Email first reply too slow"),
                category=RootCause.PROCESS,
                suggested=RootCause.PROCESS,
                dimension="channel",
                segment=segment,
                evidence=(evidence,),
                confidence=0.82,
                affected_tickets=12_000,
                impact=0.74,
                feasibility=0.66,
                quadrant=1,
                priority=1,
                strategy="smart-service",
            ),
            Problem(
                id="P2",
                key="people/category/账务",
                kpi="fcr_rate",
                title=Text(zh="账务问题一次解决率低", en="Billing issues rarely solved first time"),
                category=RootCause.PEOPLE,
                suggested=RootCause.PEOPLE,
                dimension="category",
                segment="账务",
                evidence=(evidence.model_copy(update={"signal": "rework"}),),
                confidence=0.7,
                affected_tickets=6_400,
                impact=0.61,
                feasibility=0.35,
                quadrant=2,
                priority=2,
                strategy="skills-training",
            ),
            Problem(
                id="P3",
                key="tools/team/一线客服组",
                kpi="csat_rate",
                title=Text(zh="工单平台缺少模板", en="Ticket tool lacks templates"),
                category=RootCause.TOOLS,
                suggested=RootCause.TOOLS,
                dimension="team",
                segment="一线客服组",
                evidence=(evidence.model_copy(update={"signal": "load"}),),
                confidence=0.55,
                affected_tickets=3_000,
                impact=0.3,
                feasibility=0.8,
                quadrant=3,
                priority=3,
                strategy="smart-service",
            ),
        ),
    )


def make_targets() -> TargetList:
    """Two targets, one failing a SMART letter, with department sub-targets."""
    return TargetList(
        **HEADER,
        targets=(
            Target(
                id="T1",
                kpi="frt_median_min",
                dimension=Dimension.EFFICIENCY,
                direction=Direction.LOWER,
                unit="min",
                baseline=142.0,
                target=115.6,
                benchmark=98.0,
                best_decile=112.0,
                deadline=date(2026, 6, 30),
                owner_department="cs",
                problem_ids=("P1", "P3"),
                objective=Text(zh="更快响应客户", en="Answer customers faster"),
                rule=Text(zh="缩小与基准差距的 60%", en="Close 60% of the gap to benchmark"),
                smart=SmartCheck(
                    specific=True, measurable=True, achievable=True, relevant=True, time_bound=True
                ),
                sub_targets=(
                    SubTarget(department="cs", baseline=150.0, target=120.0, volume_share=0.7),
                    SubTarget(department="tech", baseline=125.0, target=104.0, volume_share=0.3),
                ),
            ),
            Target(
                id="T2",
                kpi="fcr_rate",
                dimension=Dimension.QUALITY,
                direction=Direction.HIGHER,
                unit="%",
                baseline=0.62,
                target=0.668,
                benchmark=0.70,
                best_decile=0.66,
                deadline=date(2026, 6, 30),
                owner_department="tech",
                problem_ids=("P2",),
                objective=Text(zh="一次把问题解决", en="Solve it the first time"),
                rule=Text(zh="缩小与基准差距的 60%", en="Close 60% of the gap to benchmark"),
                smart=SmartCheck(
                    specific=True,
                    measurable=True,
                    achievable=False,
                    relevant=True,
                    time_bound=True,
                    failures=(
                        Text(zh="高于自身最佳十分位", en="Beyond the programme's best decile"),
                    ),
                ),
            ),
        ),
    )


def _task(
    tid: str,
    strategy: str,
    zh: str,
    en: str,
    start: date,
    end: date,
    *,
    after: tuple[str, ...] = (),
    critical: bool = True,
    department: str = "cs",
    milestone: bool = False,
) -> PlanTask:
    return PlanTask(
        id=tid,
        strategy=strategy,
        name=Text(zh=zh, en=en),
        role="product_manager",
        department=department,
        start=start,
        end=end,
        working_days=max(1, (end - start).days * 5 // 7),
        depends_on=after,
        resources=Text(zh="产品经理 1 人", en="One product manager"),
        acceptance=Text(zh="需求文档评审通过", en="Requirements signed off"),
        owner="李娜",
        critical=critical,
        slack_days=0 if critical else 5,
        milestone=milestone,
    )


def make_plan(*, task_name: str | None = None) -> ImplementationPlan:
    """Two strategies, five tasks with dependencies (the source's smart-service example)."""
    s = "smart-service"
    t = "skills-training"
    tasks = (
        _task(f"{s}/research", s, "需求调研", "Requirements research", date(2026, 1, 5),
              date(2026, 1, 16), department="product"),
        _task(f"{s}/vendor", s, "供应商选型", "Vendor selection", date(2026, 1, 19),
              date(2026, 1, 30), after=(f"{s}/research",), department="tech"),
        _task(f"{s}/test", s, task_name or "系统测试", task_name or "System test",
              date(2026, 2, 2), date(2026, 2, 13), after=(f"{s}/vendor",)),
        _task(f"{s}/launch", s, "上线培训", "Launch training", date(2026, 2, 23),
              date(2026, 2, 27), after=(f"{s}/test",), milestone=True),
        _task(f"{t}/course", t, "账务技能培训", "Billing skills course", date(2026, 1, 12),
              date(2026, 2, 6), critical=False, milestone=True),
    )  # fmt: skip
    raci = []
    for task in tasks:
        raci.append(RaciEntry(task_id=task.id, department="cs", letter="A"))
        responsible = task.department
        raci.append(RaciEntry(task_id=task.id, department=responsible, letter="R"))
        for dept in ("cs", "tech", "ops", "product"):
            if dept not in ("cs", responsible):
                raci.append(RaciEntry(task_id=task.id, department=dept, letter="I"))
    return ImplementationPlan(
        **HEADER,
        start=date(2026, 1, 5),
        end=date(2026, 2, 27),
        strategies=(
            StrategyChoice(
                key=s,
                category=RootCause.TOOLS,
                name=Text(zh="引入智能客服系统", en="Introduce an assistant"),
                description=Text(zh="自动分流与答复", en="Automatic triage and replies"),
                problem_ids=("P1", "P3"),
                target_ids=("T1",),
            ),
            StrategyChoice(
                key=t,
                category=RootCause.PEOPLE,
                name=Text(zh="技能培训", en="Skills training"),
                description=Text(zh="账务专题培训", en="Billing training"),
                problem_ids=("P2",),
                target_ids=("T2",),
            ),
        ),
        tasks=tasks,
        raci=tuple(raci),
        days_off=(date(2026, 2, 16), date(2026, 2, 17)),
    )


def make_execution(*, note: str | None = None) -> ExecutionReport:
    """Progress of the five tasks, two trajectories and an effective pilot."""
    plan = make_plan()
    statuses = ("done", "done", "late", "not_started", "on_track")
    return ExecutionReport(
        **HEADER,
        as_of=date(2026, 2, 9),
        progress=tuple(
            TaskProgress(
                task_id=task.id,
                planned_pct=planned,
                actual_pct=actual,
                status=status,
                note=(note if i == 2 else None) or ("供应商延期" if status == "late" else None),
                reported_on=date(2026, 2, 6) if actual is not None else None,
            )
            for i, (task, planned, actual, status) in enumerate(
                zip(
                    plan.tasks,
                    (100, 100, 60, 0, 80),
                    (100, 100, 30, None, 75),
                    statuses,
                    strict=True,
                )
            )
        ),
        spi=0.83,
        trajectories=(
            KpiTrajectory(
                target_id="T1",
                kpi="frt_median_min",
                points=(
                    TrajectoryPoint(period=date(2026, 1, 1), actual=139.0, planned=137.6),
                    TrajectoryPoint(period=date(2026, 2, 1), actual=131.0, planned=133.2),
                ),
                on_track=True,
            ),
            KpiTrajectory(
                target_id="T2",
                kpi="fcr_rate",
                points=(
                    TrajectoryPoint(period=date(2026, 1, 1), actual=0.62, planned=0.628),
                    TrajectoryPoint(period=date(2026, 2, 1), actual=None, planned=0.636),
                ),
                on_track=None,
            ),
        ),
        pilots=(
            PilotEvaluation(
                key="east",
                name=Text(zh="华东区智能客服试点", en="East China assistant pilot"),
                strategy="smart-service",
                scope={"region": "华东"},
                control={"region": ("华南", "西南")},
                start=date(2026, 2, 2),
                end=date(2026, 3, 31),
                kpis=(
                    PilotKpiResult(
                        kpi="frt_median_min",
                        statistic="median",
                        pilot_before=150.2,
                        pilot_after=101.7,
                        control_before=140.1,
                        control_after=138.0,
                        effect=-46.4,
                        ci_low=-58.0,
                        ci_high=-34.9,
                        test="rank_did",
                        p_value=0.0004,
                        wanted=-30.0,
                        power=0.93,
                        mde=16.2,
                        moved="better",
                        tickets=(2_100, 2_300, 4_800, 5_000),
                        verdict="roll_out",
                        reason=Text(zh="效果真实", en="the effect is real"),
                    ),
                ),
                verdict="roll_out",
                reason=Text(zh="主要指标改善显著", en="the leading KPI improved"),
            ),
        ),
    )


def make_evaluation() -> EvaluationReport:
    """One target met (120%), one missed; grade B."""
    return EvaluationReport(
        **HEADER,
        before_start=date(2025, 4, 1),
        before_end=date(2025, 6, 30),
        after_start=date(2026, 4, 1),
        after_end=date(2026, 6, 30),
        results=(
            TargetResult(
                target_id="T1",
                kpi="frt_median_min",
                baseline=142.0,
                target=115.6,
                actual=110.3,
                achievement=1.2,
                achievement_display=1.2,
                met=True,
            ),
            TargetResult(
                target_id="T2",
                kpi="fcr_rate",
                baseline=0.62,
                target=0.668,
                actual=0.64,
                achievement=0.4167,
                achievement_display=0.4167,
                met=False,
            ),
        ),
        customer=CustomerVerification(
            source="surveys",
            measures=(
                CustomerMeasure(
                    kpi="csat_rate",
                    comparison=Comparison(
                        basis="before_after",
                        reference_start=date(2025, 4, 1),
                        reference_end=date(2025, 6, 30),
                        reference=Estimate(value=0.81, low=0.80, high=0.82, n=4000),
                        current=Estimate(value=0.86, low=0.85, high=0.87, n=3000),
                        change=0.05,
                        ci_low=0.03,
                        ci_high=0.07,
                        p_value=0.0001,
                        test="two_proportion",
                        moved="better",
                    ),
                ),
                CustomerMeasure(kpi="nps", comparison=None),
            ),
            comments_before={"zh": 900},
            comments_after={"zh": 800},
            faded=(
                KeywordShift(
                    term='=HYPERLINK("http://x")',
                    language="en",
                    before_count=90,
                    before_share=0.1,
                    after_count=8,
                    after_share=0.01,
                    p_value=0.0001,
                    trend="faded",
                ),
            ),
            new=(),
        ),
        execution_discipline=0.8,
        rating=Rating(
            targets=70.8,
            customer=100.0,
            discipline=80.0,
            weights=RatingWeights(),
            score=81.4,
            grade="B",
        ),
        outcome="partly_successful",
        outcome_reason=Text(zh="2 个目标中 1 个达成", en="1 of 2 targets met"),
    )


def make_optimisation(*, lesson: str | None = None) -> OptimisationReport:
    """One measure to standardise, two carry-overs, two lessons."""
    return OptimisationReport(
        **HEADER,
        standardise=(
            StandardMeasure(
                strategy="smart-service",
                name=Text(zh="引入智能客服系统", en="Introduce an assistant"),
                standard=Text(
                    zh="常规问题 4 个工作小时内答复", en="Routine questions answered within 4 h"
                ),
                target_ids=("T1",),
                evidence=Text(zh="试点效应 -46 分钟（p<0.001）", en="Pilot effect -46 min"),
            ),
        ),
        carry_over=(
            CarryOver(
                kind="unmet_target",
                ref="T2",
                kpi="fcr_rate",
                reason=Text(zh="达成率 42%", en="Achievement 42%"),
            ),
            CarryOver(
                kind="incomplete_task",
                ref="smart-service/launch",
                kpi=None,
                reason=Text(zh="上线培训未完成", en="Launch training not finished"),
            ),
        ),
        lessons=(
            Text(zh="供应商选型需预留缓冲", en="Leave slack after vendor selection"),
            Text(zh=lesson or "试点先行降低风险", en=lesson or "Piloting first lowered the risk"),
        ),
    )


def make_artifacts() -> dict[Stage, Artifact]:
    """One artifact per stage."""
    return {
        Stage.DIAGNOSE: make_diagnosis(),
        Stage.TARGET: make_targets(),
        Stage.DESIGN: make_plan(),
        Stage.EXECUTE: make_execution(),
        Stage.EVALUATE: make_evaluation(),
        Stage.OPTIMISE: make_optimisation(),
    }
