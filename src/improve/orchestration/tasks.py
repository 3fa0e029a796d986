"""Prefect tasks: each wraps one pipeline step; only I/O steps retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from improve.domain.base import Artifact, Stage
from improve.domain.facts import MonthlyFacts, WeeklyFacts
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview
from improve.domain.portfolio import Digest
from improve.orchestration import pipeline, portal
from improve.orchestration.context import RunContext
from improve.orchestration.notify import send
from improve.storage.repository import StoredArtifact, StoredReport

# The context holds live connections: never hash or persist it. I/O steps retry twice.
RETRIES, RETRY_DELAY_S = 2, 2


@task(name="read-inputs", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S)
def read_inputs(ctx: RunContext, stage: Stage) -> pipeline.Inputs:
    """Latest approved input artifacts from the store."""
    return pipeline.read_inputs(ctx, stage)


@task(name="read-facts", cache_policy=NO_CACHE)
def read_facts(ctx: RunContext, stage: Stage, inputs: pipeline.Inputs) -> Any:
    """Facts from the data files (no retry: a bad file stays bad)."""
    return pipeline.read_facts(ctx, stage, inputs)


@task(name="compute-artifact", cache_policy=NO_CACHE)
def compute(ctx: RunContext, stage: Stage, inputs: pipeline.Inputs, facts: Any) -> Artifact:
    """The pure stage function."""
    return pipeline.compute(ctx, stage, inputs, facts)


@task(
    name="store-artifact", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S
)
def store(
    ctx: RunContext, artifact: Artifact, facts: Any, actor: str
) -> tuple[StoredArtifact, bool]:
    """Save the artifact version, idempotently."""
    return pipeline.store(ctx, artifact, facts, actor=actor)


@task(
    name="auto-approve-artifact",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def auto_approve(ctx: RunContext, stored: StoredArtifact) -> StoredArtifact:
    """Sign the version off at every level as the owner (`--auto-approve`)."""
    return pipeline.auto_approve(ctx, stored)


@task(
    name="publish-reports",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def publish(ctx: RunContext) -> Path:
    """Write the cycle's workbooks, pages and index."""
    return pipeline.publish(ctx)


@task(name="read-week", cache_policy=NO_CACHE)
def read_week(ctx: RunContext, period: str) -> tuple[pipeline.Inputs, WeeklyFacts]:
    """The plan and targets in force, the week's KPIs and the progress reports (no retry:
    an unapproved plan or a bad file stays so)."""
    return pipeline.read_inputs(ctx, Stage.EXECUTE), pipeline.weekly_facts_of(ctx, period)


@task(name="compute-weekly-review", cache_policy=NO_CACHE)
def compute_week(
    ctx: RunContext, inputs: pipeline.Inputs, facts: WeeklyFacts, period: str
) -> WeeklyReview:
    """The pure weekly review."""
    return pipeline.compute_weekly(ctx, inputs, facts, period)


@task(
    name="store-weekly-review",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def store_week(ctx: RunContext, review: WeeklyReview, actor: str) -> tuple[StoredReport, bool]:
    """Save the review version, idempotently."""
    return pipeline.store_review(ctx, review, actor=actor)


@task(
    name="publish-weekly-review",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def publish_week(ctx: RunContext, review: WeeklyReview) -> list[Path]:
    """Write the review's workbook and page and the coming week's progress workbook."""
    return pipeline.publish_weekly(ctx, review)


@task(name="read-month", cache_policy=NO_CACHE)
def read_month(ctx: RunContext, period: str) -> tuple[pipeline.Inputs, MonthlyFacts]:
    """The plan and targets in force, the month's KPIs and the progress reports."""
    return pipeline.read_inputs(ctx, Stage.EXECUTE), pipeline.monthly_facts_of(ctx, period)


@task(name="compute-monthly-retrospective", cache_policy=NO_CACHE)
def compute_month(
    ctx: RunContext, inputs: pipeline.Inputs, facts: MonthlyFacts, period: str
) -> MonthlyRetrospective:
    """The pure monthly retrospective."""
    return pipeline.compute_monthly(ctx, inputs, facts, period)


@task(
    name="store-monthly-retrospective",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def store_month(
    ctx: RunContext, retro: MonthlyRetrospective, actor: str
) -> tuple[StoredReport, bool]:
    """Save the retrospective version, idempotently."""
    return pipeline.store_review(ctx, retro, actor=actor)


@task(
    name="publish-monthly-retrospective",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_S,
)
def publish_month(ctx: RunContext, retro: MonthlyRetrospective) -> list[Path]:
    """Write the retrospective's workbook and page."""
    return pipeline.publish_monthly(ctx, retro)


@task(
    name="compute-digest", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S
)
def compute_digest(ctx: RunContext, period: str) -> Digest:
    """The week's digest, read from the store."""
    return portal.compute_digest(ctx, period)


@task(
    name="store-digest", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S
)
def store_digest(ctx: RunContext, digest: Digest) -> tuple[StoredReport, bool]:
    """Save the digest (the same content again stores nothing)."""
    return pipeline.store_review(ctx, digest, actor=ctx.programme.owner)


@task(
    name="publish-digest", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S
)
def publish_digest(ctx: RunContext, digest: Digest) -> list[Path]:
    """The digest's Markdown and page beside the reports."""
    return portal.publish_digest(ctx, digest)


@task(name="notify", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=10)
def notify(block: str, subject: str, body: str) -> None:
    """Send through the programme's Prefect notification block (retried: networks fail)."""
    send(block, subject, body)
