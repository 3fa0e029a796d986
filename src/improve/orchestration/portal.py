"""Build the portfolio and the weekly digests from the store (plain functions; the Prefect
digest flow and the CLI wrap them)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from improve.domain.artifacts import EvaluationReport, ImplementationPlan, TargetList
from improve.domain.base import Locale, Stage
from improve.domain.facts import ProgressReport
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview, parse_week
from improve.domain.portfolio import Digest, Portfolio, ProgrammeSummary
from improve.domain.programme import Programme
from improve.errors import StageError
from improve.orchestration.context import RunContext, programme_calendar
from improve.reports.digest import write_digest
from improve.reports.portal import PortalPaths, write_portal
from improve.settings import Settings
from improve.stages.portfolio import summarise, weekly_digest
from improve.storage import audit
from improve.storage import portfolio as reads
from improve.storage import repository as repo
from improve.storage.db import make_engine, migrate, session_factory
from improve.storage.repository import StoredArtifact, StoredReport

NOTIFIED = "digest.notified"


@contextmanager
def store_session(settings: Settings) -> Iterator[Session]:
    """A read session on the migrated store, its engine disposed afterwards."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _progress(session: Session, programme: Programme) -> list[ProgressReport]:
    rows = repo.load_progress(
        session=session, programme_key=programme.key, cycle_key=programme.cycle.key
    )
    return [r.report() for r in rows]


def _in_force(session: Session, programme: Programme, stage: Stage) -> object | None:
    stored = reads.in_force(
        session=session, programme_key=programme.key, cycle_key=programme.cycle.key, stage=stage
    )
    return None if stored is None else stored.artifact


def programme_summary(session: Session, programme: Programme, as_of: date) -> ProgrammeSummary:
    """One programme as of `as_of`, read from the store."""
    plan = _in_force(session, programme, Stage.DESIGN)
    targets = _in_force(session, programme, Stage.TARGET)
    evaluation = _in_force(session, programme, Stage.EVALUATE)
    return summarise(
        programme,
        reads.cycle_entries(session=session, programme_key=programme.key),
        plan=plan if isinstance(plan, ImplementationPlan) else None,
        progress=_progress(session, programme),
        targets=targets if isinstance(targets, TargetList) else None,
        evaluation=evaluation if isinstance(evaluation, EvaluationReport) else None,
        monthly=reads.monthly_kpis(session=session, programme_key=programme.key),
        as_of=as_of,
        calendar=programme_calendar(programme),
    )


def stored_programmes(session: Session) -> dict[str, Programme]:
    """Every stored programme's definition, by key."""
    return {
        key: repo.get_programme(session=session, key=key)
        for key in reads.programme_keys(session=session)
    }


def portfolio(session: Session, programmes: Mapping[str, Programme], as_of: date) -> Portfolio:
    """The programmes as of `as_of`."""
    return Portfolio(
        as_of=as_of,
        programmes=tuple(programme_summary(session, p, as_of) for p in programmes.values()),
    )


def digest(session: Session, programme: Programme, period: str) -> Digest:
    """The programme's digest of ISO week `period`: its tasks as of that Sunday and the
    alerts of the latest weekly review and monthly retrospective stored by then."""
    _, sunday = parse_week(period)
    cycle = programme.cycle.key
    weekly = reads.latest_cadence(
        session=session, programme_key=programme.key, cycle_key=cycle, kind="weekly", up_to=period
    )
    monthly = reads.latest_cadence(
        session=session,
        programme_key=programme.key,
        cycle_key=cycle,
        kind="monthly",
        up_to=sunday.strftime("%Y-%m"),
    )
    plan = _in_force(session, programme, Stage.DESIGN)
    return weekly_digest(
        programme,
        reads.cycle_entries(session=session, programme_key=programme.key),
        period=period,
        plan=plan if isinstance(plan, ImplementationPlan) else None,
        progress=_progress(session, programme),
        weekly=weekly[0] if weekly and isinstance(weekly[0], WeeklyReview) else None,
        monthly=monthly[0] if monthly and isinstance(monthly[0], MonthlyRetrospective) else None,
        sources=[name for found in (weekly, monthly) if found for _, name in [found]],
        calendar=programme_calendar(programme),
    )


def publish_portal(
    settings: Settings, out: Path | None, *, as_of: date, default: Locale
) -> tuple[Portfolio, PortalPaths]:
    """Build the portal over every stored programme into `out` (default: `portal/` in the
    artifacts folder), every version read from the store once, in one session (each has a
    page per language)."""
    target = (out or settings.artifacts_dir / "portal").resolve()
    with store_session(settings) as session:
        programmes = stored_programmes(session)
        summary = portfolio(session, programmes, as_of)

        @functools.cache
        def load(artifact_id: str, version: int) -> StoredArtifact:
            return repo.get_artifact(session=session, artifact_id=artifact_id, version=version)

        paths = write_portal(target, summary, programmes=programmes, load=load, default=default)
    return summary, paths


def compute_digest(ctx: RunContext, period: str) -> Digest:
    """The programme's digest of ISO week `period`, from its store."""
    try:
        parse_week(period)
    except ValueError as exc:
        raise StageError(f"weekly digest: {exc}") from None
    with ctx.transaction() as session:
        return digest(session, ctx.programme, period)


def publish_digest(ctx: RunContext, found: Digest) -> list[Path]:
    """The digest's Markdown and page beside the cycle's reports."""
    return write_digest(ctx.reports_dir, found, locale=ctx.locale)


def _digest_object(ctx: RunContext, stored: StoredReport) -> str:
    p = ctx.programme
    return audit.cadence_object(p.key, p.cycle.key, "digest", stored.period, stored.version)


def was_notified(ctx: RunContext, stored: StoredReport) -> bool:
    """Whether this digest version was sent already (a rerun sends nothing twice)."""
    with ctx.transaction() as session:
        return audit.recorded(session=session, action=NOTIFIED, object=_digest_object(ctx, stored))


def record_notified(ctx: RunContext, stored: StoredReport, block: str) -> None:
    """Audit that the digest version went out through the notification block."""
    with ctx.transaction() as session:
        repo.record_audit(
            session=session,
            actor=repo.SYSTEM_ACTOR,
            action=NOTIFIED,
            object=_digest_object(ctx, stored),
            hash_after=stored.content_hash,
            detail={"block": block},
        )
