"""The six stage artifacts, each read by the next stage.

DiagnosisReport (服务问题诊断报告) -> TargetList (服务提升目标清单) -> ImplementationPlan
(服务提升实施方案) -> ExecutionReport (执行进度跟踪表 / 试点效果评估报告) -> EvaluationReport
(效果评估报告) -> OptimisationReport (持续优化报告).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from improve.domain.base import Artifact, Dimension, Direction, Model, RootCause, Stage, Text
from improve.domain.control import ControlChart
from improve.domain.facts import DepartmentFacts
from improve.domain.programme import RatingWeights
from improve.domain.review import ProblemReview
from improve.domain.voice import CustomerVoice


class PeriodValue(Model):
    """A KPI value in one period (the period's first day)."""

    period: date
    value: float | None


class KpiBaseline(Model):
    """A KPI over the baseline window, against its benchmark and its own trend."""

    kpi: str
    value: float | None = Field(description="Over the whole baseline window.")
    benchmark: float | None = None
    benchmark_source: str | None = None
    gap: float | None = Field(default=None, description="How far worse than benchmark (>0 worse).")
    early: float | None = Field(default=None, description="First three months of the window.")
    late: float | None = Field(default=None, description="Last three months of the window.")
    deteriorated: bool = Field(default=False, description="Late is >= 5% worse than early.")
    monthly: tuple[PeriodValue, ...] = ()
    chart: ControlChart | None = Field(
        default=None, description="Weekly control chart, its special causes and shift."
    )


class Segment(Model):
    """One value of one dimension and what it contributes to a KPI gap."""

    dimension: str
    value: str
    tickets: int = Field(ge=0)
    share: float = Field(ge=0, le=1, description="Share of the window's tickets.")
    kpi_value: float | None
    weight: int = Field(ge=0, description="Tickets the KPI's measure counts (its denominator).")
    contribution: float = Field(description="Share of the overall gap this segment explains.")
    mix: float | None = Field(
        default=None,
        description="Share of the early-to-late change from its share of tickets moving.",
    )
    rate: float | None = Field(
        default=None, description="Share of the early-to-late change from its own value moving."
    )


class DimensionSplit(Model):
    """A KPI's gap across one dimension: how much its top segments explain, and (for a KPI
    that deteriorated) how much of the change is mix and how much is rate."""

    dimension: str
    top: tuple[str, ...] = Field(description="Its segments explaining most, up to three.")
    explained: float = Field(description="Share of the gap the top segments explain.")
    weight_share: float = Field(ge=0, le=1, description="Their share of the KPI's tickets.")
    mix: float | None = Field(default=None, description="Share of the change that is mix.")
    rate: float | None = Field(default=None, description="Share of the change that is rate.")

    @property
    def concentration(self) -> float:
        """How much more of the gap the top segments explain than their size would."""
        return self.explained - self.weight_share


class DrillDown(Model):
    """The second level: the lead segment's share of the gap across another dimension."""

    parent_dimension: str
    parent: str
    dimension: str
    segments: tuple[Segment, ...] = Field(
        description="Ranked; contribution is the share of the KPI's whole gap."
    )
    explained: float = Field(description="Share of the parent's gap its top three explain.")


class GapExplanation(Model):
    """Where a KPI's gap comes from: every dimension's split, the leading one first, and a
    drill-down into its leading segment."""

    kpi: str
    basis: Literal["benchmark", "trend"] = Field(
        description="Measured against the benchmark it misses, or against its own first months."
    )
    reference: float = Field(description="The benchmark or the first three months' value.")
    value: float = Field(description="The window's value, or the last three months' (trend).")
    dimensions: tuple[DimensionSplit, ...] = Field(description="Most concentrated first.")
    drill: DrillDown | None = None

    @property
    def lead(self) -> DimensionSplit:
        """The dimension whose top segments concentrate the gap most."""
        return self.dimensions[0]


class Evidence(Model):
    """A measured fact supporting a problem's root-cause category."""

    signal: str = Field(description="concentration, rework, extra_contacts or load.")
    metric: str
    segment_value: float
    overall_value: float
    strength: float = Field(ge=0, description="Signal strength compared with the rule threshold.")
    text: Text


class Problem(Model):
    """A service problem: which KPI, which segment drives it, why, and how urgent."""

    id: str = Field(pattern=r"^P\d+$")
    key: str = Field(
        description="Stable across versions: suggested category/dimension/segment. Worksheet "
        "answers are merged by it."
    )
    kpi: str
    title: Text
    category: RootCause = Field(description="In force: the confirmed one once reviewed.")
    suggested: RootCause = Field(description="The category the evidence points to.")
    dimension: str
    segment: str
    members: tuple[str, ...] = Field(
        default=(), description="The dimension's values the segment groups (several agents)."
    )
    evidence: tuple[Evidence, ...] = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)
    affected_tickets: int = Field(ge=0)
    gap_share: float | None = Field(
        default=None, description="Share of the KPI's gap the segment explains."
    )
    impact: float = Field(ge=0, le=1, description="Customers affected x severity, 0..1.")
    feasibility: float = Field(
        ge=0, le=1, description="Stakeholders' rating when given, else the playbook's effort."
    )
    feasibility_source: Literal["playbook", "stakeholders"] = "playbook"
    quadrant: Literal[1, 2, 3, 4] = Field(
        description="1 high impact/high feasibility, 2 high/low, 3 low/high, 4 low/low."
    )
    priority: int = Field(ge=1, description="1 is first.")
    strategy: str = Field(description="Playbook strategy suggested for it.")
    started: date | None = Field(
        default=None,
        description="First week the problem's segment shifted for the worse on its KPI.",
    )
    review: ProblemReview | None = Field(
        default=None, description="Its stakeholders' 5-Why and fishbone, once imported."
    )


class CarriedItem(Model):
    """What the previous cycle left for this one (unmet target, unresolved problem,
    unfinished task or lesson), and whether this diagnosis finds it again."""

    from_cycle: str = Field(description="The cycle it carries over from.")
    kind: Literal["unmet_target", "unresolved_problem", "incomplete_task", "lesson"]
    ref: str | None = Field(description="Target, problem or task id in that cycle.")
    kpi: str | None
    reason: Text
    status: Literal["found_again", "not_found_again", "open"] = Field(
        description="found_again: a problem of this diagnosis is on the same KPI; "
        "not_found_again: no longer a problem by the data; open: not a KPI finding (a task or "
        "lesson), for the owner to take up."
    )
    problem_ids: tuple[str, ...] = Field(default=(), description="This diagnosis's problems on it.")


class DiagnosisReport(Artifact):
    """服务问题诊断报告: KPI baseline, the gaps, problems, causes and priorities."""

    stage: Literal[Stage.DIAGNOSE] = Stage.DIAGNOSE
    window_start: date
    window_end: date = Field(description="Last day of the baseline window (inclusive).")
    tickets: int = Field(ge=0)
    data_fingerprint: str = Field(description="SHA-256 over the canonical tickets read.")
    baseline: tuple[KpiBaseline, ...]
    drivers: dict[str, tuple[Segment, ...]] = Field(
        description="Per KPI with a gap: segments ranked by contribution."
    )
    explanations: dict[str, GapExplanation] = Field(
        default_factory=dict, description="Per KPI with a gap: where it comes from."
    )
    problems: tuple[Problem, ...]
    departments: tuple[DepartmentFacts, ...] = Field(
        default=(), description="Each department's baseline KPIs, for the target cascade."
    )
    voice: CustomerVoice | None = Field(
        default=None, description="Survey figures, comment keywords and quotes per problem."
    )
    carried_over: tuple[CarriedItem, ...] = Field(
        default=(), description="What the previous cycle left, beside the new findings."
    )

    def kpi_baseline(self, kpi_name: str) -> KpiBaseline:
        """The baseline row of `kpi_name`."""
        return next(b for b in self.baseline if b.kpi == kpi_name)


class SubTarget(Model):
    """A department's share of a target."""

    department: str
    baseline: float
    target: float
    weight: int = Field(default=0, ge=0, description="What the KPI counts there (tickets, agents).")
    volume_share: float = Field(ge=0, le=1, description="Its share of the overall weight.")
    responsibility: float = Field(
        default=0, ge=0, le=1, description="Its share of the improvement the target asks for."
    )


CascadeRule = Literal["weighted_mean", "every_department", "sum"]


class Cascade(Model):
    """Why meeting every department sub-target meets the overall target, with the arithmetic.

    weighted_mean: the KPI is a weighted mean of the departments' values (weights: what it
    counts), so the sub-targets' weighted mean is the overall value; every_department: a
    percentile, so every department at or better than the target puts the whole there;
    sum: a count, the sub-targets add up."""

    rule: CascadeRule
    achieved: float = Field(description="Overall value if every department meets its sub-target.")
    holds: bool = Field(
        description="`achieved` is at or better than the overall target, and the departments "
        "cover every ticket."
    )
    coverage: float = Field(default=1.0, ge=0, le=1, description="Share of tickets covered.")
    working: str = Field(description="The arithmetic, written out.")


class SmartCheck(Model):
    """Letter by letter, what a target satisfies; `failures` says what it misses."""

    specific: bool
    measurable: bool
    achievable: bool
    relevant: bool
    time_bound: bool
    failures: tuple[Text, ...] = ()

    @property
    def passed(self) -> bool:
        """Every letter holds."""
        return all(
            (self.specific, self.measurable, self.achievable, self.relevant, self.time_bound)
        )


class Target(Model):
    """A SMART target on one KPI."""

    id: str = Field(pattern=r"^T\d+$")
    kpi: str
    dimension: Dimension
    direction: Direction
    unit: str
    baseline: float
    target: float
    benchmark: float | None
    best_decile: float | None = Field(description="Best 10% of the programme's own months.")
    deadline: date
    owner_department: str
    problem_ids: tuple[str, ...] = Field(description="Problems it answers (SMART S and R).")
    objective: Text = Field(description="The strategic objective it serves.")
    rule: Text = Field(description="How the value was set.")
    justification: str | None = Field(
        default=None, description="Why a value beyond the programme's best decile is reachable."
    )
    smart: SmartCheck
    sub_targets: tuple[SubTarget, ...] = ()
    cascade: Cascade | None = Field(default=None, description="None when not split by department.")

    @model_validator(mode="after")
    def _direction(self) -> Target:
        better = (
            self.target < self.baseline
            if self.direction == Direction.LOWER
            else self.target > self.baseline
        )
        if not better:
            raise ValueError(
                f"target {self.id}: {self.target} is not better than baseline "
                f"{self.baseline} for a {self.direction.value}-is-better KPI"
            )
        return self


class TargetList(Artifact):
    """服务提升目标清单: overall targets with their department sub-targets."""

    stage: Literal[Stage.TARGET] = Stage.TARGET
    targets: tuple[Target, ...] = Field(min_length=1)


class StrategyChoice(Model):
    """A playbook strategy chosen for some problems and targets."""

    key: str
    category: RootCause
    name: Text
    description: Text
    problem_ids: tuple[str, ...]
    target_ids: tuple[str, ...]


class PlanTask(Model):
    """A scheduled task: what, who, when, with what, done when."""

    id: str = Field(description="strategy-key/task-key, stable across plan versions.")
    strategy: str
    name: Text
    role: str
    department: str
    start: date
    end: date
    working_days: int = Field(ge=1)
    depends_on: tuple[str, ...] = ()
    lag_days: int = Field(default=0, ge=0, description="Working days after its predecessors.")
    resources: Text
    acceptance: Text
    owner: str = Field(min_length=1, description="The person responsible for delivering it.")
    load: float = Field(default=0.5, gt=0, le=1, description="Share of the owner's time it takes.")
    critical: bool = Field(description="On the critical path (zero slack).")
    slack_days: int = Field(ge=0)
    milestone: bool = Field(default=False, description="Delivers its strategy (its last task).")


RaciLetter = Literal["R", "A", "C", "I"]


class RaciEntry(Model):
    """One cell of the responsibility matrix (责任矩阵)."""

    task_id: str
    department: str
    letter: RaciLetter


class Overallocation(Model):
    """An owner booked beyond their capacity on overlapping tasks, over [start, end]."""

    owner: str
    start: date
    end: date
    booked: float = Field(gt=0, description="Share of full time booked on those days.")
    capacity: float = Field(gt=0)
    task_ids: tuple[str, ...] = Field(min_length=1)


class PlanChange(Model):
    """One edited value between two plan versions."""

    task_id: str
    field: str = Field(description="start, end, owner or raci:<department>.")
    before: str
    after: str


class ImplementationPlan(Artifact):
    """服务提升实施方案: strategies, scheduled tasks (for the Gantt chart) and the RACI."""

    stage: Literal[Stage.DESIGN] = Stage.DESIGN
    start: date
    end: date
    strategies: tuple[StrategyChoice, ...] = Field(min_length=1)
    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    raci: tuple[RaciEntry, ...]
    days_off: tuple[date, ...] = Field(description="Non-weekend days off inside the plan.")
    overallocations: tuple[Overallocation, ...] = Field(
        default=(), description="Owners booked beyond capacity (a designed plan may have some)."
    )
    revised_from: int | None = Field(
        default=None, description="The plan version the stakeholders edited into this one."
    )
    changes: tuple[PlanChange, ...] = Field(default=(), description="Edits from `revised_from`.")

    def task(self, task_id: str) -> PlanTask:
        """Task `task_id`; KeyError names it."""
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(f"plan has no task {task_id!r}")

    @model_validator(mode="after")
    def _raci_complete(self) -> ImplementationPlan:
        for task in self.tasks:
            letters = [e.letter for e in self.raci if e.task_id == task.id]
            if letters.count("A") != 1 or "R" not in letters:
                raise ValueError(
                    f"task {task.id}: RACI needs exactly one A and at least one R, has {letters}"
                )
        return self


class TaskProgress(Model):
    """Planned against reported progress of one task at the as-of date."""

    task_id: str
    planned_pct: float = Field(ge=0, le=100)
    actual_pct: float | None = Field(default=None, ge=0, le=100)
    status: Literal["not_started", "on_track", "late", "done", "blocked", "no_report"]
    note: str | None = None
    blocker: str | None = Field(default=None, description="What blocks it, while blocked.")
    reported_on: date | None = None


class TrajectoryPoint(Model):
    """A KPI in one month against the straight path from baseline to target."""

    period: date
    actual: float | None
    planned: float


class KpiTrajectory(Model):
    """One target's KPI month by month since the plan started."""

    target_id: str
    kpi: str
    points: tuple[TrajectoryPoint, ...]
    on_track: bool | None = Field(description="Latest month at or better than its path.")


PilotVerdict = Literal["roll_out", "extend", "stop"]


class PilotKpiResult(Model):
    """One KPI of a pilot: difference in differences of its statistic (median, P90, mean or
    rate) with a bootstrap interval, the test that fits the metric, its power and a verdict."""

    kpi: str
    statistic: Literal["median", "p90", "mean", "rate"]
    pilot_before: float | None
    pilot_after: float | None
    control_before: float | None
    control_after: float | None
    effect: float | None = Field(description="(pilot after - before) - (control after - before).")
    ci_low: float | None = Field(description="95% bootstrap percentile interval.")
    ci_high: float | None
    test: Literal["rank_did", "two_proportion", "welch"]
    p_value: float | None
    wanted: float | None = Field(
        description="The change the KPI's target asks for (target - baseline), if targeted."
    )
    power: float | None = Field(description="Power to detect `wanted` at the 5% level.")
    mde: float | None = Field(description="Smallest effect detectable with 80% power.")
    moved: Literal["better", "worse"] | None = Field(
        description="Which way the interval excludes zero, if it does."
    )
    tickets: tuple[int, int, int, int] = Field(
        description="Pilot before, pilot after, control before, control after."
    )
    verdict: PilotVerdict
    reason: Text


class PilotEvaluation(Model):
    """试点效果评估: the pilot scope against its control group, KPI by KPI, and whether to roll
    the measure out, extend the pilot or stop it."""

    key: str
    name: Text
    strategy: str
    scope: dict[str, str]
    control: dict[str, tuple[str, ...]] | None = Field(
        description="The matched control segments; None: every ticket outside all scopes."
    )
    start: date
    end: date
    kpis: tuple[PilotKpiResult, ...] = Field(min_length=1)
    verdict: PilotVerdict
    reason: Text


class ExecutionReport(Artifact):
    """执行进度跟踪表 and 试点效果评估报告: progress, KPI trajectories, the pilot."""

    stage: Literal[Stage.EXECUTE] = Stage.EXECUTE
    as_of: date
    progress: tuple[TaskProgress, ...]
    spi: float | None = Field(description="Schedule performance: reported / planned percent.")
    trajectories: tuple[KpiTrajectory, ...]
    pilots: tuple[PilotEvaluation, ...] = ()


Basis = Literal["before_after", "same_period"]
Moved = Literal["better", "worse"]
Test = Literal["mann_whitney", "two_proportion", "welch_t"]


class Estimate(Model):
    """A KPI's statistic over one window, with its 95% interval and how many it counts."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = Field(ge=0, description="Tickets (or survey answers) measured.")


class Comparison(Model):
    """A KPI in the evaluation window against a reference window: the change with its 95%
    interval, the test that fits the metric, and whether it moved significantly.

    `before_after` compares with the baseline window (the diagnosis); `same_period` with the
    evaluation window's calendar dates a year earlier (同期对比), so seasonality cancels.
    """

    basis: Basis
    reference_start: date
    reference_end: date = Field(description="Last day of the reference window (inclusive).")
    reference: Estimate
    current: Estimate
    change: float | None = Field(description="current - reference, in the KPI's unit.")
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: Test | None
    moved: Moved | None = Field(
        description="better / worse when the interval excludes zero and the test agrees."
    )


class TargetResult(Model):
    """How far one target was achieved, and whether the change is real."""

    target_id: str
    kpi: str
    baseline: float
    target: float
    actual: float | None
    achievement: float | None = Field(description="(baseline-actual)/(baseline-target), raw.")
    achievement_display: float | None = Field(description="Capped to 0..150% for charts.")
    counted: float | None = Field(
        default=None,
        description="What the rating counts: achievement capped to 0..100%, zero when the "
        "KPI did not really improve.",
    )
    before_after: Comparison | None = Field(
        default=None, description="Evaluation window against the baseline window."
    )
    same_period: Comparison | None = Field(
        default=None, description="Evaluation window against the same dates a year earlier."
    )
    basis: Basis | None = Field(
        default=None,
        description="The comparison significance is judged on: same_period when last year's "
        "data covers it, else before_after; None when the KPI has no per-ticket measure.",
    )
    significant: bool | None = Field(
        default=None, description="The change on `basis` is significant (either way)."
    )
    seasonal: bool = Field(
        default=False,
        description="Before/after shows a significant improvement the same-period comparison "
        "does not: likely the season, not the measures.",
    )
    met: bool = Field(description="Achievement >= 100% and, where testable, really improved.")


class CustomerMeasure(Model):
    """A survey measure (CSAT or NPS) after against before."""

    kpi: str
    comparison: Comparison | None = Field(description="None when a window has no answers.")


class KeywordShift(Model):
    """A comment term used significantly less (faded) or more (new) after than before."""

    term: str
    language: Literal["zh", "en"]
    before_count: int = Field(ge=0)
    before_share: float = Field(ge=0, le=1, description="Share of that language's comments.")
    after_count: int = Field(ge=0)
    after_share: float = Field(ge=0, le=1)
    p_value: float = Field(ge=0, le=1, description="Two-proportion test of the shares.")
    trend: Literal["faded", "new"]
    also: tuple[str, ...] = Field(default=(), description="Terms always found with it.")


class CustomerVerification(Model):
    """Customer verification (客户验证): survey measures and comment keywords, after vs before."""

    source: Literal["surveys", "tickets"] = Field(
        description="Survey answers, or the tickets' own CSAT when there is no survey table."
    )
    measures: tuple[CustomerMeasure, ...]
    comments_before: dict[str, int] = Field(description="Comments per language, before.")
    comments_after: dict[str, int] = Field(description="Comments per language, after.")
    faded: tuple[KeywordShift, ...] = Field(description="Complaints heard less often.")
    new: tuple[KeywordShift, ...] = Field(description="Terms heard more often: new complaints.")


Grade = Literal["A", "B", "C", "D"]
Outcome = Literal["successful", "partly_successful", "unsuccessful", "withdrawn"]


class Rating(Model):
    """The overall rating: each part's score (0-100), the weights, the score and the grade."""

    targets: float = Field(ge=0, le=100, description="Mean counted achievement, capped at 100%.")
    customer: float = Field(ge=0, le=100, description="Measures better 100, unchanged 50, worse 0.")
    discipline: float = Field(ge=0, le=100, description="Tasks done, in percent.")
    weights: RatingWeights
    score: float = Field(ge=0, le=100)
    grade: Grade


class EvaluationReport(Artifact):
    """效果评估报告: achievement per target, customer verification, overall rating."""

    stage: Literal[Stage.EVALUATE] = Stage.EVALUATE
    before_start: date
    before_end: date = Field(description="Last day of the baseline window (inclusive).")
    after_start: date
    after_end: date = Field(description="Last day of the evaluation window (inclusive).")
    results: tuple[TargetResult, ...]
    customer: CustomerVerification
    execution_discipline: float = Field(ge=0, le=1, description="Share of tasks done.")
    rating: Rating
    outcome: Outcome
    outcome_reason: Text

    @property
    def score(self) -> float:
        """The overall score (0-100)."""
        return self.rating.score

    @property
    def grade(self) -> Grade:
        """The overall grade."""
        return self.rating.grade


class StandardMeasure(Model):
    """A measure that worked and becomes a service standard."""

    strategy: str
    name: Text
    standard: Text
    target_ids: tuple[str, ...]
    evidence: Text


class CarryOver(Model):
    """Something the next cycle must take up."""

    kind: Literal["unmet_target", "unresolved_problem", "incomplete_task"]
    ref: str = Field(description="Target, problem or task id in this cycle.")
    kpi: str | None
    reason: Text


class OptimisationReport(Artifact):
    """持续优化: what to standardise, and what carries into the next cycle."""

    stage: Literal[Stage.OPTIMISE] = Stage.OPTIMISE
    standardise: tuple[StandardMeasure, ...]
    carry_over: tuple[CarryOver, ...]
    lessons: tuple[Text, ...]


ARTIFACT_TYPES: dict[Stage, type[Artifact]] = {
    Stage.DIAGNOSE: DiagnosisReport,
    Stage.TARGET: TargetList,
    Stage.DESIGN: ImplementationPlan,
    Stage.EXECUTE: ExecutionReport,
    Stage.EVALUATE: EvaluationReport,
    Stage.OPTIMISE: OptimisationReport,
}

ARTIFACT_TITLES: dict[Stage, Text] = {
    Stage.DIAGNOSE: Text(zh="服务问题诊断报告", en="Service problem diagnosis report"),
    Stage.TARGET: Text(zh="服务提升目标清单", en="Service improvement target list"),
    Stage.DESIGN: Text(zh="服务提升实施方案", en="Service improvement implementation plan"),
    Stage.EXECUTE: Text(
        zh="执行进度跟踪表与试点效果评估报告", en="Progress tracking and pilot evaluation report"
    ),
    Stage.EVALUATE: Text(zh="效果评估报告", en="Effect evaluation report"),
    Stage.OPTIMISE: Text(zh="持续优化报告", en="Continuous optimisation report"),
}
