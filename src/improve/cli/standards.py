"""`improve standards`: service standards and operating guides (服务标准与操作指南), drafted
from the cycle's measures that worked, edited in their workbook, reviewed at three levels
(author, cross-department heads, final sign-off) and published as V1.0, V1.1 ..."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from improve.cli.app import LocaleChoice, _print_json, console, handles_errors

if TYPE_CHECKING:
    from improve.orchestration.context import RunContext
    from improve.storage.standards import StoredStandard

standards: typer.Typer = typer.Typer(
    help="Service standards and operating guides (服务标准与操作指南): draft one from the "
    "cycle, import its edited workbook as the next version, review it at three levels, list, "
    "show and diff its versions.",
    no_args_is_help=True,
)


class TemplateChoice(StrEnum):
    """The document templates of config/standards/."""

    general = "general"
    industry = "industry"
    simplified = "simplified"


class LevelChoice(StrEnum):
    """The three review levels."""

    author = "author"
    cross = "cross"
    final = "final"


ConfigArgument = Annotated[Path, typer.Argument(help="Programme definition (YAML).")]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="The standard (default: the programme's only one).")
]
LocaleOption = Annotated[LocaleChoice | None, typer.Option(help="Language of the output.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def _version(label: str, name: str) -> str:
    from improve.domain.standards import parse_version

    try:
        parse_version(label)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None
    return label


def _context(config: Path, locale: LocaleChoice | None) -> RunContext:
    from improve.orchestration.context import RunContext

    return RunContext.load(config, locale=locale.value if locale else None)


def _version_json(stored: StoredStandard, ctx: RunContext) -> dict[str, Any]:
    from improve.stages.standards import awaiting, next_review

    v = stored.version
    step = awaiting(v, ctx.programme.approvers)
    due = next_review(v, timezone=ctx.programme.timezone)
    return {
        **v.model_dump(mode="json"),
        "content_hash": stored.content_hash,
        "next_review": due.isoformat() if due else None,
        "awaiting": None if step is None else {"level": step[0], "reviewers": list(step[1])},
    }


def _outcome_json(outcome: Any, ctx: RunContext) -> dict[str, Any]:
    v = outcome.stored.version
    return {
        "key": v.key,
        "version": v.version,
        "status": v.status,
        "created": outcome.created,
        "superseded": outcome.superseded,
        "changes": [c.model_dump(mode="json") for c in v.changes],
        "files": [str(f) for f in outcome.files],
        "awaiting": _version_json(outcome.stored, ctx)["awaiting"],
    }


def _print_outcome(outcome: Any, ctx: RunContext, verb: str) -> None:
    from improve.domain.gate import LEVEL_TITLES
    from improve.domain.standards import STATUS_TITLES
    from improve.stages.standards import awaiting

    v = outcome.stored.version
    status = STATUS_TITLES[v.status].en
    if not outcome.created:
        console.print(f"{v.key} {v.version} ({status}) already holds it; nothing was stored")
        return
    console.print(f"{v.key} {v.version}: {verb} ({status})")
    for old in outcome.superseded:
        console.print(f"  {v.key} {old} is superseded (still readable)")
    step = awaiting(v, ctx.programme.approvers)
    if step is not None:
        level, names = step
        console.print(f"  awaits the {LEVEL_TITLES[level].en} by {escape(', '.join(names))}")
    for f in outcome.files:
        if f.suffix == ".xlsx":
            console.print(f"  {f}")


@standards.command("list")
@handles_errors
def list_(config: ConfigArgument, locale: LocaleOption = None, as_json: JsonOption = False) -> None:
    """Every standard and version with its status, when it was published, its next
    quarterly review and the review level it awaits."""
    from improve.domain.gate import LEVEL_TITLES
    from improve.domain.standards import STATUS_TITLES
    from improve.orchestration import standards as glue

    ctx = _context(config, locale)
    try:
        rows = glue.listing(ctx)
        if as_json:
            _print_json([_version_json(r.stored, ctx) for r in rows])
            return
    finally:
        ctx.close()
    if not rows:
        console.print(
            f"No standard yet; draft one with `improve standards draft {config} --as NAME`."
        )
        return
    table = Table(title=f"{ctx.programme.key}: service standards")
    columns = ("standard", "version", "status", "template", "by", "published", "next review")
    for col in (*columns, "awaiting"):
        table.add_column(col)
    tz = ZoneInfo(ctx.programme.timezone)
    for r in rows:
        v = r.stored.version
        published = v.published_at.astimezone(tz).date() if v.published_at else "—"
        waiting = (
            "—"
            if r.awaiting is None
            else f"{LEVEL_TITLES[r.awaiting[0]].en}: {', '.join(r.awaiting[1])}"
        )
        table.add_row(
            v.key,
            v.version,
            STATUS_TITLES[v.status].en,
            v.document.template,
            escape(v.created_by),
            str(published),
            str(r.next_review or "—"),
            escape(waiting),
        )
    console.print(table)


@standards.command("show")
@handles_errors
def show(
    config: ConfigArgument,
    version: Annotated[
        str | None, typer.Option(help="Version, like V1.0 (default: latest).")
    ] = None,
    key: KeyOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the version's workbook here, to edit.")
    ] = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """A version's document, change log and review record (every version stays readable)."""
    from improve.orchestration import standards as glue
    from improve.reports.sections import Words, display
    from improve.reports.standards import standard_sections

    label = _version(version, "--version") if version else None
    ctx = _context(config, locale)
    try:
        stored = glue.get(ctx, key=key, version=label)
        written = glue.write_workbook(ctx, stored, out.resolve()) if out else None
        data = _version_json(stored, ctx)
    finally:
        ctx.close()
    if as_json:
        _print_json(data)
        return
    w = Words(ctx.locale)
    facts = glue.facts_of(ctx, stored.version)
    for s in standard_sections(stored.version, w, timezone=ctx.programme.timezone, facts=facts):
        if not s.rows and not s.note:
            continue
        table = Table(title=s.title, title_justify="left")
        for h in s.headers:
            table.add_column(h)
        for row in s.rows:
            table.add_row(*(escape(display(v, f)) for v, f in zip(row, s.formats, strict=True)))
        console.print(table)
        if s.note:
            console.print(escape(s.note))
    if written:
        console.print(f"Workbook: {written}")


@standards.command("diff")
@handles_errors
def diff(
    config: ConfigArgument,
    old: Annotated[str, typer.Argument(help="The earlier version, like V1.0.")],
    new: Annotated[str, typer.Argument(help="The later version, like V1.1.")],
    key: KeyOption = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed between two versions, field by field, in words."""
    from improve.orchestration import standards as glue
    from improve.reports.sections import Words
    from improve.reports.standards import change_rows
    from improve.stages.standards import document_diff

    a, b = _version(old, "OLD"), _version(new, "NEW")
    ctx = _context(config, locale)
    try:
        first = glue.get(ctx, key=key, version=a)
        second = glue.get(ctx, key=key, version=b)
    finally:
        ctx.close()
    changes = document_diff(first.version.document, second.version.document)
    if as_json:
        _print_json(
            {
                "key": first.version.key,
                "from": a,
                "to": b,
                "changes": [c.model_dump(mode="json") for c in changes],
            }
        )
        return
    if not changes:
        console.print(f"{first.version.key} {a} and {b} hold the same document")
        return
    console.print(f"{first.version.key} {a} → {b}: {len(changes)} change(s)")
    for c in change_rows(changes, Words(ctx.locale)):
        console.print(f"  {escape(c['what'])}: {escape(c['before'])} → {escape(c['after'])}")


@standards.command("draft")
@handles_errors
def draft(
    config: ConfigArgument,
    template: Annotated[TemplateChoice, typer.Option(help="Document template.")] = (
        TemplateChoice.general
    ),
    key: Annotated[str, typer.Option("--key", help="The standard's key.")] = "service-standard",
    as_: Annotated[
        str | None, typer.Option("--as", help="Who drafts it (default: the programme owner).")
    ] = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draft the standard from the cycle's stored optimisation report: its measures that
    worked, their tasks' acceptance criteria and the values of the targets met; V1.0, or the
    next version of an existing standard (the same draft again stores nothing). Writes the
    draft's workbook and page."""
    from improve.orchestration import standards as glue

    ctx = _context(config, locale)
    try:
        outcome = glue.draft(ctx, template=template.value, key=key, author=as_)
        if as_json:
            _print_json(_outcome_json(outcome, ctx))
            return
        _print_outcome(outcome, ctx, "drafted")
    finally:
        ctx.close()


@standards.command("import")
@handles_errors
def import_(
    config: ConfigArgument,
    file: Annotated[Path, typer.Argument(help="The standard's edited workbook (.xlsx).")],
    as_: Annotated[str, typer.Option("--as", help="Who edited it (named in the programme).")],
    summary: Annotated[str | None, typer.Option(help="Why it was revised.")] = None,
    major: Annotated[
        bool, typer.Option("--major", help="A major revision: V2.0 instead of V1.1.")
    ] = False,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate an edited standard workbook (every problem with its sheet, row and column;
    nothing stored on one) and store it as the next version, a draft, with the change log of
    what changed, who changed it and when."""
    from improve.orchestration import standards as glue

    ctx = _context(config, locale)
    try:
        outcome = glue.import_workbook(ctx, file, who=as_, summary=summary, major=major)
        if as_json:
            _print_json(_outcome_json(outcome, ctx))
            return
        _print_outcome(outcome, ctx, f"imported from {file.name}")
        if outcome.created:
            from improve.reports.sections import Words
            from improve.reports.standards import change_rows

            for c in change_rows(outcome.stored.version.changes, Words(ctx.locale)):
                console.print(
                    f"  {escape(c['what'])}: {escape(c['before'])} → {escape(c['after'])}"
                )
    finally:
        ctx.close()


@standards.command("review")
@handles_errors
def review(
    config: ConfigArgument,
    version: Annotated[str, typer.Argument(help="The version to decide on, like V1.1.")],
    level: Annotated[LevelChoice, typer.Option(help="author, cross or final (in this order).")],
    as_: Annotated[str, typer.Option("--as", help="The reviewer, listed for that level.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject the version.")] = False,
    comment: Annotated[str | None, typer.Option(help="Comment, required to reject.")] = None,
    key: KeyOption = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide on a version at one level of the three-level review: the author (初审), every
    cross-department head (二审), then the final sign-off (终审), which publishes it and
    supersedes the version published before. A rejection sends it back: import a revision."""
    from improve.orchestration import standards as glue

    if reject and not comment:
        raise typer.BadParameter(
            "a rejection needs --comment saying what to change", param_hint="--comment"
        )
    label = _version(version, "VERSION")
    ctx = _context(config, locale)
    try:
        outcome = glue.review(
            ctx, label, key=key, level=level.value, who=as_, reject=reject, comment=comment
        )
        if as_json:
            _print_json(_outcome_json(outcome, ctx))
            return
        decision = "rejected" if reject else "approved"
        _print_outcome(outcome, ctx, f"{level.value} review {decision} by {escape(as_)}")
    finally:
        ctx.close()


@standards.command("confirm")
@handles_errors
def confirm(
    config: ConfigArgument,
    as_: Annotated[str, typer.Option("--as", help="A final approver or author.")],
    comment: Annotated[str | None, typer.Option(help="What the review found.")] = None,
    key: KeyOption = None,
    locale: LocaleOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the quarterly review (每季度回顾) of the published version: it still fits, so
    the next one is due a quarter later."""
    from improve.orchestration import standards as glue

    ctx = _context(config, locale)
    try:
        outcome = glue.confirm(ctx, key=key, who=as_, comment=comment)
        data = _version_json(outcome.stored, ctx)
    finally:
        ctx.close()
    if as_json:
        _print_json(data)
        return
    v = outcome.stored.version
    console.print(
        f"{v.key} {v.version}: quarterly review recorded by {escape(as_)}; next one due "
        f"{data['next_review']}"
    )
