"""The cycle flow and the stage subflow: each stage reads its inputs from the store, so any
stage can be re-run alone; without auto-approval the cycle stops at each stage gate."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.utilities.annotations import quote
from pydantic import Field

from improve.domain.base import Locale, Stage
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview
from improve.errors import ApprovalError
from improve.faults import crash_point
from improve.orchestration import pipeline, runs, tasks
from improve.orchestration.context import RunContext
from improve.orchestration.notify import announce_failure
from improve.orchestration.portal import record_notified, was_notified
from improve.reports.digest import digest_markdown, digest_subject
from improve.reports.meetings import monthly_markdown, weekly_markdown
from improve.storage.repository import StoredReport


@dataclass(frozen=True)
class StageOutcome:
    """What one stage run produced."""

    stage: str
    artifact_id: str
    version: int
    created: bool
    status: str


@dataclass(frozen=True)
class CycleOutcome:
    """Where a cycle run got to."""

    programme: str
    cycle: str
    stages: list[StageOutcome] = field(default_factory=list)
    waiting_for: StageOutcome | None = None
    index: str | None = None


def _whole(value: Any) -> Any:
    """Pass `value` to a task as it is: Prefect does not walk it looking for futures."""
    return quote(value)


@flow(name="improve-stage", flow_run_name="{stage}")
def stage_flow(
    config_path: str,
    stage: str,
    data_root: str | None = None,
    locale: Locale | None = None,
    actor: str | None = None,
    auto_approve: bool = False,
) -> StageOutcome:
    """Run one stage: inputs from the store, facts from the data, artifact into the store,
    reports out; with `auto_approve` the programme owner signs every review level off."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    try:
        step = Stage(stage)
        who = actor or ctx.programme.owner
        inputs = tasks.read_inputs(ctx, step)
        # quote(): Prefect would walk these large values twice per task (17 s of a cycle)
        facts = tasks.read_facts(ctx, step, _whole(inputs))
        artifact = tasks.compute(ctx, step, _whole(inputs), _whole(facts))
        stored, created = tasks.store(ctx, _whole(artifact), _whole(facts), who)
        if auto_approve and stored.status != "approved":
            stored = tasks.auto_approve(ctx, stored)
        crash_point(f"approved-{step.value}")
        tasks.publish(ctx)
        crash_point(f"after-{step.value}")
        get_run_logger().info(
            "%s: %s v%s (%s, %s)",
            step.value,
            stored.ref.artifact_id,
            stored.ref.version,
            "new" if created else "unchanged",
            stored.status,
        )
        return StageOutcome(
            stage=step.value,
            artifact_id=stored.ref.artifact_id,
            version=stored.ref.version,
            created=created,
            status=stored.status,
        )
    finally:
        ctx.close()


@flow(name="improve-cycle")
def cycle_flow(
    config_path: str,
    stages: Sequence[str] | None = None,
    data_root: str | None = None,
    locale: Locale | None = None,
    auto_approve: bool = False,
) -> CycleOutcome:
    """Run the stages in PDCA order; stop at the first artifact still awaiting approval."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    programme, cycle, reports = ctx.programme.key, ctx.programme.cycle.key, ctx.reports_dir
    wanted = [Stage(s) for s in stages] if stages else list(Stage)
    done: list[StageOutcome] = []
    try:
        with runs.claimed(ctx):  # one run per programme; a killed one is marked crashed
            for step in sorted(wanted, key=lambda s: s.order):
                outcome = stage_flow(
                    config_path,
                    step.value,
                    data_root=data_root,
                    locale=locale,
                    auto_approve=auto_approve,
                )
                done.append(outcome)
                if outcome.status != "approved":
                    get_run_logger().warning(
                        "stage gate: %s v%s awaits its review; run `improve approve %s --as "
                        "NAME` at each level (author, cross, final), then run the cycle again",
                        outcome.artifact_id,
                        outcome.version,
                        outcome.artifact_id,
                    )
                    return CycleOutcome(
                        programme,
                        cycle,
                        done,
                        waiting_for=outcome,
                        index=str(reports / "index.html"),
                    )
    finally:
        ctx.close()
    return CycleOutcome(programme, cycle, done, index=str(reports / "index.html"))


class GateDecision(RunInput):
    """The form a reviewer fills in at a stage gate in the Prefect UI (or sends through the
    API with `resume_flow_run(..., run_input=...)`)."""

    approver: str = Field(description="Your name, as the programme's approvers list it.")
    level: Literal["author", "cross", "final"] | None = Field(
        default=None, description="Review level; empty for the one the version awaits."
    )
    reject: bool = Field(default=False, description="Send the stage back instead.")
    comment: str | None = Field(default=None, description="Required to reject.")


GATE_TIMEOUT_S = 30 * 24 * 3600  # a gate left undecided for 30 days fails the run


def gate_key(artifact_id: str, version: int, decisions: int, attempt: int) -> str:
    """The wait's key (Prefect allows lowercase letters, digits and dashes): the version, the
    decisions it has and the attempt, so a replayed run takes each decision once."""
    base = re.sub(r"[^a-z0-9]+", "-", f"{artifact_id}-v{version}".lower()).strip("-")
    return f"{base}-d{decisions}-a{attempt}"


@flow(name="improve-gated-cycle", persist_result=True)
def gated_cycle_flow(
    config_path: str,
    data_root: str | None = None,
    locale: Locale | None = None,
) -> CycleOutcome:
    """The cycle as a deployment runs it: at each stage gate the run suspends (no process
    waits for days) with a form for the next reviewer; each decision resumes it, and it goes
    on once the final sign-off approves. A refused decision asks again; a rejection ends the
    run with the stage sent back. On resumption Prefect re-runs the flow from the start: the
    stages are idempotent and each wait has a key of the decisions made so far, so every
    decision is taken once."""
    logger = get_run_logger()
    done: list[StageOutcome] = []
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    programme, cycle, reports = ctx.programme.key, ctx.programme.cycle.key, ctx.reports_dir
    try:
        for step in sorted(Stage, key=lambda s: s.order):
            outcome = stage_flow(config_path, step.value, data_root=data_root, locale=locale)
            attempt = 0
            while True:
                # From the store, not the outcome: a replayed run gets its subflows' results
                # from before the decisions were taken.
                gate = pipeline.gate_state(ctx, outcome.artifact_id, outcome.version)
                outcome = replace(outcome, status=gate.status)
                if gate.status != "pending":
                    break
                decision = suspend_flow_run(
                    wait_for_input=GateDecision.with_initial_data(
                        description=f"{outcome.artifact_id} v{outcome.version}: {gate.prompt}"
                    ),
                    key=gate_key(outcome.artifact_id, outcome.version, gate.decisions, attempt),
                    timeout=GATE_TIMEOUT_S,
                )
                assert isinstance(decision, GateDecision)
                try:
                    stored = pipeline.decide(ctx, outcome.artifact_id, outcome.version, decision)
                except ApprovalError as exc:
                    logger.error("stage gate: %s", exc)
                    attempt += 1
                    continue
                attempt = 0
                logger.info("stage gate: %s %s", outcome.artifact_id, stored.status)
            done.append(outcome)
            if outcome.status == "rejected":
                logger.warning("stage gate: %s was sent back", outcome.artifact_id)
                return CycleOutcome(
                    programme, cycle, done, waiting_for=outcome, index=str(reports / "index.html")
                )
    finally:
        ctx.close()
    return CycleOutcome(programme, cycle, done, index=str(reports / "index.html"))


@dataclass(frozen=True)
class ReviewOutcome:
    """What one weekly review or monthly retrospective run produced (`skipped`: a scheduled
    retrospective on a day that is not its month's first working day)."""

    period: str
    version: int
    created: bool
    files: list[str]
    review: dict[str, Any]
    skipped: bool = False
    caught_up: list[str] = field(default_factory=list)


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from `parts`."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower())).strip("-")


@flow(name="improve-weekly-review", flow_run_name="weekly-{period}", on_failure=[announce_failure])
def weekly_review_flow(
    config_path: str,
    period: str | None = None,
    data_root: str | None = None,
    locale: Locale | None = None,
    catch_up: bool = False,
) -> ReviewOutcome:
    """周例会 of one ISO week (by default the last complete one; with `catch_up`, first every
    earlier week of the cycle with no stored review): progress against plan,
    overdue and due-soon tasks, blockers, KPIs on their target paths; stored once per
    content, published as a workbook and a page, and shown in the Prefect UI as Markdown.
    It also writes the progress workbook owners fill in for the coming week, then runs the
    week's digest (sent through the programme's notification block, if any)."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    try:
        today = date.today()
        week = period or pipeline.last_complete_week(today)
        outcome = _with_catch_up(ctx, "weekly", week, today, catch_up, _one_week)
    finally:
        ctx.close()
    weekly_digest_flow(config_path, period=week, data_root=data_root, locale=locale)
    return outcome


def _with_catch_up(
    ctx: RunContext,
    kind: str,
    period: str,
    today: date,
    catch_up: bool,
    run: Callable[[RunContext, str], ReviewOutcome],
) -> ReviewOutcome:
    """`run` for `period`, after every earlier period of the cycle never reviewed when
    `catch_up`; the outcome names those."""
    missed = pipeline.missing_periods(ctx, kind, today) if catch_up else []
    earlier = [p for p in missed if p < period]
    for p in earlier:
        run(ctx, p)
    return replace(run(ctx, period), caught_up=earlier)


def _published(
    ctx: RunContext,
    review: WeeklyReview | MonthlyRetrospective,
    stored: StoredReport,
    created: bool,
    files: list[Path],
    markdown: str,
) -> ReviewOutcome:
    """Show the review in the Prefect UI as Markdown and say what the run produced."""
    title = "Weekly review" if review.kind == "weekly" else "Monthly retrospective"
    create_markdown_artifact(
        key=artifact_key(ctx.programme.key, ctx.programme.cycle.key, review.kind, review.period),
        markdown=markdown,
        description=f"{title} {review.period} of {ctx.programme.key}",
    )
    get_run_logger().info(
        "%s %s: v%s (%s)", title, review.period, stored.version, "new" if created else "unchanged"
    )
    return ReviewOutcome(
        period=review.period,
        version=stored.version,
        created=created,
        files=[str(f) for f in files],
        review=review.model_dump(mode="json"),
    )


def _one_week(ctx: RunContext, week: str) -> ReviewOutcome:
    inputs, facts = tasks.read_week(ctx, week)
    review = tasks.compute_week(ctx, inputs, facts, week)
    stored, created = tasks.store_week(ctx, review, ctx.programme.owner)
    files = tasks.publish_week(ctx, review)
    return _published(
        ctx, review, stored, created, files, weekly_markdown(review, locale=ctx.locale)
    )


@flow(
    name="improve-monthly-retrospective",
    flow_run_name="monthly-{period}",
    on_failure=[announce_failure],
)
def monthly_retrospective_flow(
    config_path: str,
    period: str | None = None,
    data_root: str | None = None,
    locale: Locale | None = None,
    scheduled: bool = False,
    catch_up: bool = False,
) -> ReviewOutcome:
    """月度复盘 of one month (by default the last complete one): actual against plan and the
    causes of deviation, each KPI's forecast at its deadline, proposed re-planning, the risk
    register, team and agent scorecards; stored once per content, published, shown in the
    Prefect UI. `scheduled` runs (weekdays 1-7 of the month by cron) go on only on the
    month's first working day of the programme's calendar, so holidays move it; with
    `catch_up`, every earlier month of the cycle with no stored retrospective runs first."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    try:
        today = date.today()
        month = period or pipeline.last_complete_month(today)
        if scheduled and period is None and not pipeline.is_first_working_day(ctx, today):
            get_run_logger().info("%s is not the month's first working day; skipped", today)
            return ReviewOutcome(period=month, version=0, created=False, files=[], review={},
                                 skipped=True)  # fmt: skip
        return _with_catch_up(ctx, "monthly", month, today, catch_up, _one_month)
    finally:
        ctx.close()


def _one_month(ctx: RunContext, month: str) -> ReviewOutcome:
    inputs, facts = tasks.read_month(ctx, month)
    retro = tasks.compute_month(ctx, inputs, facts, month)
    stored, created = tasks.store_month(ctx, retro, ctx.programme.owner)
    files = tasks.publish_month(ctx, retro)
    return _published(
        ctx, retro, stored, created, files, monthly_markdown(retro, locale=ctx.locale)
    )


@dataclass(frozen=True)
class DigestOutcome:
    """What one digest run produced, and whether it went out (`notified`) through the
    programme's notification block."""

    period: str
    version: int
    created: bool
    notified: bool
    files: list[str]
    digest: dict[str, Any]


@flow(name="improve-weekly-digest", flow_run_name="digest-{period}", on_failure=[announce_failure])
def weekly_digest_flow(
    config_path: str,
    period: str | None = None,
    data_root: str | None = None,
    locale: Locale | None = None,
) -> DigestOutcome:
    """周报摘要 of one ISO week (by default the last complete one): the reviews waiting on
    someone, tasks overdue and due soon, KPI alerts; stored once per content, written as
    Markdown and a page, shown in the Prefect UI, and sent once per version through the
    programme's notification block when it names one (a week with nothing to act on is not
    sent)."""
    ctx = RunContext.load(config_path, data_root=data_root, locale=locale)
    try:
        week = period or pipeline.last_complete_week(date.today())
        digest = tasks.compute_digest(ctx, week)
        stored, created = tasks.store_digest(ctx, digest)
        files = tasks.publish_digest(ctx, digest)
        markdown = digest_markdown(digest, locale=ctx.locale)
        create_markdown_artifact(
            key=artifact_key(ctx.programme.key, ctx.programme.cycle.key, "digest", week),
            markdown=markdown,
            description=f"Weekly digest {week} of {ctx.programme.key}",
        )
        settings, logger = ctx.programme.notifications, get_run_logger()
        sent = False
        if settings.block and settings.digest and not digest.quiet:
            if was_notified(ctx, stored):
                logger.info("digest %s v%s was sent already", week, stored.version)
            else:
                tasks.notify(settings.block, digest_subject(digest, ctx.locale), markdown)
                record_notified(ctx, stored, settings.block)
                sent = True
        logger.info(
            "Weekly digest %s: v%s (%s)%s",
            week,
            stored.version,
            "new" if created else "unchanged",
            f", sent through {settings.block}" if sent else "",
        )
        return DigestOutcome(
            period=week,
            version=stored.version,
            created=created,
            notified=sent,
            files=[str(f) for f in files],
            digest=digest.model_dump(mode="json"),
        )
    finally:
        ctx.close()
