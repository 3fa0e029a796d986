"""Service standards glue: the cycle's stored optimisation, evaluation and plan into a draft,
an edited workbook into the next version, review decisions into the store, the workbooks and
pages under <artifacts>/<programme>/standards/; and the quarterly review reminder as a Prefect
flow (a Markdown artifact and a Markdown file listing the published standards due)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from improve.config import load_standard_template
from improve.domain.artifacts import (
    EvaluationReport,
    ImplementationPlan,
    OptimisationReport,
    TargetResult,
)
from improve.domain.base import Locale, Stage, Text
from improve.domain.gate import LEVEL_TITLES, ReviewLevel
from improve.domain.hashing import content_hash
from improve.domain.standards import (
    StandardVersion,
    TemplateKey,
)
from improve.errors import ApprovalError, InputDataError, StageError
from improve.orchestration.context import RunContext
from improve.orchestration.notify import announce_failure
from improve.reports.site import save_workbook, write_text_atomic
from improve.reports.standards import (
    StandardFacts,
    build_standard_workbook,
    read_standard_workbook,
    reminder_markdown,
    write_standard_reports,
    write_standards_index,
)
from improve.stages import standards as stage
from improve.storage import repository as repo
from improve.storage import standards as store
from improve.storage.standards import StoredStandard

DEFAULT_KEY = "service-standard"
STANDARDS_REVIEW_CRON = "0 9 1 1,4,7,10 *"  # 09:00 on the first day of every quarter


@dataclass(frozen=True)
class StandardOutcome:
    """What a command did to a standard: the version it produced or decided on, whether
    that is new, the versions it superseded and the files it wrote."""

    stored: StoredStandard
    created: bool
    superseded: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class StandardRow:
    """A version as `improve standards list` shows it."""

    stored: StoredStandard
    next_review: date | None
    awaiting: tuple[ReviewLevel, tuple[str, ...]] | None


def standards_dir(ctx: RunContext) -> Path:
    """Where the programme's standards are published."""
    return (ctx.settings.artifacts_dir / ctx.programme.key / "standards").resolve()


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _named(ctx: RunContext, who: str, what: str) -> str:
    """`who`, if the programme names them (owner, approvers, department heads and members)."""
    p = ctx.programme
    known = {p.owner, *p.approvers.everyone, *p.people}
    if who not in known:
        raise ApprovalError(
            f"{who!r} may not {what}: not named in programme {p.key} (its owner, approvers, "
            "department heads or members); use one of those names with --as"
        )
    return who


def history(ctx: RunContext, key: str) -> list[StoredStandard]:
    """Every stored version of standard `key`, oldest first."""
    with ctx.transaction() as session:
        return store.standard_versions(session=session, programme_key=ctx.programme.key, key=key)


def resolve_key(ctx: RunContext, key: str | None) -> str:
    """`key`, or the programme's only standard; an error lists the keys to choose from."""
    if key is not None:
        return key
    with ctx.transaction() as session:
        keys = store.standard_keys(session=session, programme_key=ctx.programme.key)
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise StageError(
            f"programme {ctx.programme.key} has no standard yet; draft one with `improve "
            f"standards draft {ctx.config_path} --as NAME`"
        )
    raise StageError(
        f"programme {ctx.programme.key} has several standards; choose one with "
        f"--key: {', '.join(keys)}"
    )


def facts_of(ctx: RunContext, version: StandardVersion) -> StandardFacts:
    """A version's next quarterly review and the review level it awaits, as reports show them."""
    step = stage.awaiting(version, ctx.programme.approvers)
    w = ctx.locale
    waiting = None
    if step is not None:
        level, names = step
        waiting = f"{LEVEL_TITLES[level].get(w)}: {', '.join(names) or '—'}"
    return StandardFacts(
        next_review=stage.next_review(version, timezone=ctx.programme.timezone),
        awaiting=waiting,
    )


def publish(ctx: RunContext, key: str, changed: list[StandardVersion]) -> list[Path]:
    """Write the changed versions' workbooks and pages, and the standards' index."""
    out = standards_dir(ctx)
    versions = [s.version for s in history(ctx, key)]
    files: list[Path] = []
    for version in changed:
        files += write_standard_reports(
            out,
            version,
            locale=ctx.locale,
            programme=ctx.programme,
            history=versions,
            facts=facts_of(ctx, version),
        )
    with ctx.transaction() as session:
        every = store.standard_versions(session=session, programme_key=ctx.programme.key)
    tz = ctx.programme.timezone
    files.append(
        write_standards_index(
            out,
            [(s.version, stage.next_review(s.version, timezone=tz)) for s in every],
            locale=ctx.locale,
            programme=ctx.programme,
        )
    )
    return files


def _latest_artifact(ctx: RunContext, step: Stage, *, approved: bool) -> Any:
    p = ctx.programme
    with ctx.transaction() as session:
        stored = repo.latest_artifact(
            session=session, programme_key=p.key, cycle_key=p.cycle.key, stage=step
        )
    if stored is None:
        raise StageError(
            f"{p.key}/{p.cycle.key} has no {step.value} artifact, so there is no standard to "
            f"draft; run `improve run {ctx.config_path} --stage {step.value}` first"
        )
    if approved and stored.status != "approved":
        raise StageError(
            f"{stored.ref.artifact_id} v{stored.ref.version} is {stored.status}; approve it "
            f"(`improve approve {stored.ref.artifact_id} --as NAME`) before drafting a standard"
        )
    return stored


def draft(
    ctx: RunContext,
    *,
    template: TemplateKey = "general",
    key: str = DEFAULT_KEY,
    author: str | None = None,
    name: Text | None = None,
    now: datetime | None = None,
) -> StandardOutcome:
    """Draft standard `key` from the cycle's approved optimisation report (its measures
    that worked), the evaluation (the values of the targets met) and the plan (the
    measures' acceptance criteria): V1.0, or the next version when the standard exists. The
    same draft again stores nothing; the draft's workbook and page are written."""
    who = _named(ctx, author or ctx.programme.owner, "draft a standard")
    optimised = _latest_artifact(ctx, Stage.OPTIMISE, approved=True)
    evaluated = _latest_artifact(ctx, Stage.EVALUATE, approved=False)
    planned = _latest_artifact(ctx, Stage.DESIGN, approved=False)
    optimisation, evaluation, plan = optimised.artifact, evaluated.artifact, planned.artifact
    assert isinstance(optimisation, OptimisationReport)
    assert isinstance(evaluation, EvaluationReport) and isinstance(plan, ImplementationPlan)
    if not optimisation.standardise:
        raise StageError(
            f"{optimised.ref.artifact_id} v{optimised.ref.version} standardises no measure "
            "(none met all its targets with its tasks done); there is nothing to make standard"
        )
    results: list[TargetResult] = list(evaluation.results)
    document = stage.draft_document(
        load_standard_template(template),
        optimisation,
        results,
        plan,
        programme=ctx.programme,
        key=key,
        evaluated=(evaluation.after_start, evaluation.after_end),
        name=name,
    )
    at = _now(now)
    sources = (optimised.ref, evaluated.ref, planned.ref)
    previous = history(ctx, key)
    if not previous:
        version = stage.first_version(
            document,
            programme=ctx.programme.key,
            author=who,
            at=at,
            cycle=optimisation.cycle,
            sources=sources,
        )
    else:
        digest = content_hash(document)
        same = next(
            (s for s in previous if s.version.origin == "draft" and s.content_hash == digest),
            None,
        )
        if same is not None or previous[-1].content_hash == digest:
            return StandardOutcome(same or previous[-1], False)
        version = stage.revise_standard(
            previous[-1].version,
            document,
            who=who,
            when=at,
            origin="draft",
            cycle=optimisation.cycle,
            sources=sources,
            summary=f"drafted again from cycle {optimisation.cycle}",
        )
    return _store_new(ctx, version, previous, who)


def _store_new(
    ctx: RunContext, version: StandardVersion, previous: list[StoredStandard], who: str
) -> StandardOutcome:
    """Save a new version; a draft it revises before any review is superseded by it."""
    superseded: list[StandardVersion] = []
    with ctx.transaction() as session:
        repo.save_programme(session=session, programme=ctx.programme)
        stored, created = store.save_standard_version(session=session, version=version, actor=who)
        if created and previous:
            withdrawn = stage.superseded_draft(previous[-1].version)
            if withdrawn is not None:
                store.update_standard(
                    session=session, stored=previous[-1], updated=withdrawn, actor=who
                )
                superseded.append(withdrawn)
    files = publish(ctx, version.key, [stored.version, *superseded]) if created else []
    return StandardOutcome(stored, created, [v.version for v in superseded], files)


def import_workbook(
    ctx: RunContext,
    path: Path,
    *,
    who: str,
    summary: str | None = None,
    major: bool = False,
    now: datetime | None = None,
) -> StandardOutcome:
    """Store an edited standard workbook as the next version (a draft), its change log
    computed from the version it was written from; every problem located and nothing stored
    on one; the same file again stores nothing."""
    _named(ctx, who, "import a standard")
    book = read_standard_workbook(path)
    if book.programme != ctx.programme.key:
        raise InputDataError(
            f"{path}: is a standard of programme {book.programme}, not {ctx.programme.key}; "
            "import it with that programme's definition"
        )
    versions = history(ctx, book.key)
    base = next((s for s in versions if s.version.version == book.version), None)
    if base is None:
        raise InputDataError(
            f"{path}: written from {book.key} {book.version}, which is not in the store; "
            f"check IMPROVE_DATABASE_URL, or write the workbook again"
        )
    if base.content_hash != book.content_hash:
        raise InputDataError(
            f"{path}: written from {book.key} {book.version}, whose stored content differs; "
            f"write a fresh workbook with `improve standards show {ctx.config_path} --version "
            f"{book.version} --out FILE`"
        )
    digest = content_hash(book.document)
    if digest == base.content_hash:
        return StandardOutcome(base, False)
    newest = versions[-1]
    if newest is not base:
        same = next(
            (
                s
                for s in versions
                if s.version.revises == base.version.version and s.content_hash == digest
            ),
            None,
        )
        if same is not None:
            return StandardOutcome(same, False)
        raise InputDataError(
            f"{path}: edits {book.key} {book.version}, but {newest.version.version} is the "
            f"latest version; write its workbook (`improve standards show {ctx.config_path} "
            f"--version {newest.version.version} --out FILE`) and make the edits there"
        )
    version = stage.revise_standard(
        base.version, book.document, who=who, when=_now(now), summary=summary, major=major
    )
    return _store_new(ctx, version, versions, who)


def review(
    ctx: RunContext,
    label: str,
    *,
    key: str | None = None,
    level: ReviewLevel,
    who: str,
    reject: bool = False,
    comment: str | None = None,
    now: datetime | None = None,
) -> StandardOutcome:
    """Record one decision of the three-level review; the final approval publishes the
    version and supersedes the one published before (both stay readable)."""
    name = resolve_key(ctx, key)
    with ctx.transaction() as session:
        versions = store.standard_versions(
            session=session, programme_key=ctx.programme.key, key=name
        )
        if not versions:
            raise StageError(f"programme {ctx.programme.key} has no standard {name!r}")
        changed = stage.review_standard(
            [s.version for s in versions],
            label,
            level=level,
            reviewer=who,
            approvers=ctx.programme.approvers,
            reject=reject,
            comment=comment,
            at=_now(now),
        )
        by_label = {s.version.version: s for s in versions}
        saved = [
            store.update_standard(session=session, stored=by_label[v.version], updated=v, actor=who)
            for v in changed
        ]
    files = publish(ctx, name, [s.version for s in saved])
    return StandardOutcome(saved[0], True, [s.version.version for s in saved[1:]], files)


def confirm(
    ctx: RunContext,
    *,
    key: str | None = None,
    who: str,
    comment: str | None = None,
    now: datetime | None = None,
) -> StandardOutcome:
    """Record the quarterly review of the published version: it still fits."""
    name = resolve_key(ctx, key)
    with ctx.transaction() as session:
        versions = store.standard_versions(
            session=session, programme_key=ctx.programme.key, key=name
        )
        published = next((s for s in versions if s.version.status == "published"), None)
        if published is None:
            raise ApprovalError(f"{name} has no published version to review")
        updated = stage.confirm_standard(
            published.version,
            reviewer=who,
            approvers=ctx.programme.approvers,
            comment=comment,
            at=_now(now),
        )
        saved = store.update_standard(session=session, stored=published, updated=updated, actor=who)
    return StandardOutcome(saved, True, [], publish(ctx, name, [saved.version]))


def listing(ctx: RunContext) -> list[StandardRow]:
    """Every version of every standard of the programme, with its next quarterly review and
    the review level it awaits."""
    with ctx.transaction() as session:
        every = store.standard_versions(session=session, programme_key=ctx.programme.key)
    tz, approvers = ctx.programme.timezone, ctx.programme.approvers
    return [
        StandardRow(
            s, stage.next_review(s.version, timezone=tz), stage.awaiting(s.version, approvers)
        )
        for s in every
    ]


def get(ctx: RunContext, *, key: str | None, version: str | None) -> StoredStandard:
    """A stored version (the latest when `version` is None)."""
    name = resolve_key(ctx, key)
    with ctx.transaction() as session:
        return store.get_standard(
            session=session, programme_key=ctx.programme.key, key=name, version=version
        )


def write_workbook(ctx: RunContext, stored: StoredStandard, out: Path) -> Path:
    """The version's workbook at `out`, to edit and import."""
    book = build_standard_workbook(
        stored.version,
        locale=ctx.locale,
        programme=ctx.programme,
        facts=facts_of(ctx, stored.version),
    )
    save_workbook(book, out)
    return out


def due(ctx: RunContext, today: date) -> list[tuple[StandardVersion, date]]:
    """The published standards due for their quarterly review by `today`."""
    with ctx.transaction() as session:
        every = store.standard_versions(session=session, programme_key=ctx.programme.key)
    return stage.due_for_review(
        [s.version for s in every], today=today, timezone=ctx.programme.timezone
    )


@dataclass(frozen=True)
class ReminderOutcome:
    """What a reminder run found and wrote."""

    today: date
    due: list[dict[str, str]]
    file: str


@flow(
    name="improve-standards-review-reminder",
    flow_run_name="standards-review",
    on_failure=[announce_failure],
)
def standards_review_reminder_flow(
    config_path: str, today: str | None = None, locale: Locale | None = None
) -> ReminderOutcome:
    """The quarterly review reminder (每季度回顾): the programme's published standards three
    months or more past their publication or last quarterly review, as a Markdown artifact in
    the Prefect UI and a Markdown file beside the standards."""
    ctx = RunContext.load(config_path, locale=locale)
    try:
        day = (
            date.fromisoformat(today)
            if today
            else datetime.now(ZoneInfo(ctx.programme.timezone)).date()
        )
        found = due(ctx, day)
        markdown = reminder_markdown(found, today=day, locale=ctx.locale, programme=ctx.programme)
        path = standards_dir(ctx) / f"review-reminder-{day.isoformat()}.md"
        write_text_atomic(path, markdown)
        create_markdown_artifact(
            key=re.sub(r"[^a-z0-9]+", "-", f"{ctx.programme.key}-standards-review".lower()),
            markdown=markdown,
            description=f"Standards due for their quarterly review, {ctx.programme.key}",
        )
        get_run_logger().info("%d standard(s) due for review on %s", len(found), day)
        return ReminderOutcome(
            today=day,
            due=[
                {"key": v.key, "version": v.version, "due": when.isoformat()} for v, when in found
            ],
            file=str(path),
        )
    finally:
        ctx.close()
