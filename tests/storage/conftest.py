"""A migrated store on a real SQLite file, and on PostgreSQL when IMPROVE_TEST_POSTGRES_URL is
set (CI sets it; .ci/run starts the server); plus small hand-built artifacts of every stage."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from improve.domain.artifacts import (
    CarryOver,
    CustomerVerification,
    DiagnosisReport,
    EvaluationReport,
    Evidence,
    ExecutionReport,
    ImplementationPlan,
    KpiBaseline,
    KpiTrajectory,
    OptimisationReport,
    PeriodValue,
    PilotResult,
    PlanTask,
    Problem,
    RaciEntry,
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
from improve.domain.hashing import content_hash
from improve.domain.programme import (
    Approvers,
    CycleSettings,
    DataSource,
    DataSources,
    Department,
    Programme,
)
from improve.storage.db import make_engine, migrate, session_factory

POSTGRES_URL = os.environ.get("IMPROVE_TEST_POSTGRES_URL")
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

KEY, CYCLE = "care", "2026-H1"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend: a new SQLite file, or a new PostgreSQL schema that
    is dropped afterwards (so runs never see each other's tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'improve.db'}"
        return
    assert POSTGRES_URL, "CI must set IMPROVE_TEST_POSTGRES_URL (see .ci/run)"
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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


def _ref(artifact: Artifact) -> ArtifactRef:
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    return ArtifactRef(
        stage=stage,
        artifact_id=f"{artifact.programme}/{artifact.cycle}/{stage.value}",
        version=1,
        content_hash=content_hash(artifact),
    )


def build_artifacts() -> dict[Stage, Artifact]:
    """One small valid artifact per stage, each derived from the previous one."""
    head = {"programme": KEY, "cycle": CYCLE}
    diagnosis = DiagnosisReport(
        **head,
        window_start=date(2025, 1, 1),
        window_end=date(2025, 12, 31),
        tickets=1200,
        data_fingerprint="f" * 64,
        baseline=(
            KpiBaseline(
                kpi="fcr_rate",
                value=0.62,
                benchmark=0.75,
                benchmark_source="行业报告",
                gap=0.13,
                early=0.64,
                late=0.6,
                monthly=(PeriodValue(period=date(2025, 1, 1), value=0.64),),
            ),
        ),
        drivers={
            "fcr_rate": (
                Segment(
                    dimension="region",
                    value="华东",
                    tickets=400,
                    share=1 / 3,
                    kpi_value=0.5,
                    weight=380,
                    contribution=0.45,
                ),
            )
        },
        problems=(
            Problem(
                id="P1",
                kpi="fcr_rate",
                title=_t("华东首次解决率低", "Low first-contact resolution in East China"),
                category=RootCause.PEOPLE,
                dimension="region",
                segment="华东",
                evidence=(
                    Evidence(
                        signal="concentration",
                        metric="fcr_rate",
                        segment_value=0.5,
                        overall_value=0.62,
                        strength=1.8,
                        text=_t("集中在华东", "Concentrated in East China"),
                    ),
                ),
                confidence=0.8,
                affected_tickets=400,
                impact=0.6,
                feasibility=0.7,
                quadrant=1,
                priority=1,
                strategy="coaching",
            ),
        ),
    )
    targets = TargetList(
        **head,
        derived_from=(_ref(diagnosis),),
        targets=(
            Target(
                id="T1",
                kpi="fcr_rate",
                dimension=Dimension.QUALITY,
                direction=Direction.HIGHER,
                unit="%",
                baseline=0.62,
                target=0.7,
                benchmark=0.75,
                best_decile=0.71,
                deadline=date(2026, 6, 30),
                owner_department="support",
                problem_ids=("P1",),
                objective=_t("一次解决", "Resolve at first contact"),
                rule=_t("缩小差距 60%", "Close 60% of the gap"),
                smart=SmartCheck(
                    specific=True,
                    measurable=True,
                    achievable=True,
                    relevant=True,
                    time_bound=True,
                ),
                sub_targets=(
                    SubTarget(department="support", baseline=0.62, target=0.7, volume_share=1),
                ),
            ),
        ),
    )
    tasks = (
        PlanTask(
            id="coaching/train",
            strategy="coaching",
            name=_t("坐席培训", "Agent training"),
            role="agent",
            department="support",
            start=date(2026, 1, 5),
            end=date(2026, 1, 30),
            working_days=20,
            resources=_t("培训师", "Trainer"),
            acceptance=_t("全员考试通过", "Everyone passes the test"),
            critical=True,
            slack_days=0,
        ),
        PlanTask(
            id="coaching/review",
            strategy="coaching",
            name=_t("质检复盘", "Quality review"),
            role="agent",
            department="support",
            start=date(2026, 2, 2),
            end=date(2026, 2, 13),
            working_days=10,
            depends_on=("coaching/train",),
            resources=_t("质检员", "QA staff"),
            acceptance=_t("复盘报告", "Review report"),
            critical=False,
            slack_days=3,
        ),
    )
    plan = ImplementationPlan(
        **head,
        derived_from=(_ref(targets), _ref(diagnosis)),
        start=date(2026, 1, 5),
        end=date(2026, 2, 13),
        strategies=(
            StrategyChoice(
                key="coaching",
                category=RootCause.PEOPLE,
                name=_t("辅导", "Coaching"),
                description=_t("针对性辅导", "Targeted coaching"),
                problem_ids=("P1",),
                target_ids=("T1",),
            ),
        ),
        tasks=tasks,
        raci=tuple(
            RaciEntry(task_id=t.id, department="support", letter=letter)
            for t in tasks
            for letter in ("R", "A")
        ),
        days_off=(date(2026, 1, 1),),
    )
    execution = ExecutionReport(
        **head,
        derived_from=(_ref(plan), _ref(targets)),
        as_of=date(2026, 2, 6),
        progress=(
            TaskProgress(
                task_id="coaching/train",
                planned_pct=100,
                actual_pct=100,
                status="done",
                reported_on=date(2026, 1, 30),
            ),
            TaskProgress(task_id="coaching/review", planned_pct=40, status="no_report"),
        ),
        spi=0.9,
        trajectories=(
            KpiTrajectory(
                target_id="T1",
                kpi="fcr_rate",
                points=(TrajectoryPoint(period=date(2026, 1, 1), actual=0.64, planned=0.63),),
                on_track=True,
            ),
        ),
        pilot=PilotResult(
            name=_t("华东试点", "East China pilot"),
            strategy="coaching",
            kpi="fcr_rate",
            scope={"region": "华东"},
            start=date(2026, 1, 5),
            end=date(2026, 2, 13),
            pilot_before=0.5,
            pilot_after=0.6,
            control_before=0.65,
            control_after=0.66,
            effect=0.09,
            ci_low=0.02,
            ci_high=0.16,
            p_value=0.01,
            tickets_pilot=300,
            tickets_control=900,
            verdict="effective",
        ),
    )
    evaluation = EvaluationReport(
        **head,
        derived_from=(_ref(execution), _ref(targets)),
        before_start=date(2025, 1, 1),
        before_end=date(2025, 12, 31),
        after_start=date(2026, 4, 1),
        after_end=date(2026, 6, 30),
        results=(
            TargetResult(
                target_id="T1",
                kpi="fcr_rate",
                baseline=0.62,
                target=0.7,
                actual=0.71,
                achievement=1.125,
                achievement_display=1.125,
                met=True,
            ),
        ),
        customer=(CustomerVerification(kpi="csat", before=4.1, after=4.3, improved=True),),
        execution_discipline=0.5,
        score=82.5,
        grade="B",
        outcome="successful",
    )
    optimisation = OptimisationReport(
        **head,
        derived_from=(_ref(evaluation),),
        standardise=(
            StandardMeasure(
                strategy="coaching",
                name=_t("辅导", "Coaching"),
                standard=_t("每月辅导", "Monthly coaching"),
                target_ids=("T1",),
                evidence=_t("达成 112%", "112% achieved"),
            ),
        ),
        carry_over=(
            CarryOver(
                kind="incomplete_task",
                ref="coaching/review",
                kpi=None,
                reason=_t("未完成", "Not finished"),
            ),
        ),
        lessons=(_t("先试点", "Pilot first"),),
    )
    built: list[Artifact] = [diagnosis, targets, plan, execution, evaluation, optimisation]
    return {_ref(a).stage: a for a in built}


@pytest.fixture
def care() -> Programme:
    """The programme the hand-built artifacts belong to (not the demo programme)."""
    return build_programme()


@pytest.fixture
def stage_artifacts() -> dict[Stage, Artifact]:
    """One hand-built artifact per stage."""
    return build_artifacts()
