"""The `improve` command: human output by default, `--json` for machines.

An ImproveError becomes one red line and exit code 1 (2 for usage errors); with
IMPROVE_DEBUG=1 it is re-raised so tests and developers see the traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

if TYPE_CHECKING:
    from improve.domain.artifacts import DiagnosisReport, Problem

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from improve.domain.base import Locale
from improve.errors import ImproveError, InputDataError

# Prefect reads these when it is first imported (inside the commands that run flows).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # errors reach the user as one line
# Prefect's temporary server can take longer than its 20 s default on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

app = typer.Typer(
    name="improve",
    help="Data-driven PDCA service-improvement cycles.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


class LocaleChoice(StrEnum):
    """Report language."""

    zh = "zh-CN"
    en = "en"


PeriodOption = Annotated[
    str | None,
    typer.Option(help="ISO week like 2026-W07, or month like 2026-02 (default: the last one)."),
]
CatchUpOption = Annotated[
    bool, typer.Option("--catch-up", help="First run every earlier period never reviewed.")
]
DataRootOption = Annotated[
    Path | None,
    typer.Option(help="Folder the data paths are relative to (default: the programme file's)."),
]


class Grain(StrEnum):
    """Period of `improve kpis`."""

    week = "week"
    month = "month"


def handles_errors(func: F) -> F:
    """Turn an ImproveError into one red line and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImproveError as exc:
            if os.environ.get("IMPROVE_DEBUG"):
                raise
            err_console.print(
                f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _json_default(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_json_default, indent=2) + "\n")


@app.command("sample-data")
@handles_errors
def sample_data(directory: Annotated[Path, typer.Argument(help="Folder to write into.")]) -> None:
    """Write the deterministic demo data set: tickets, surveys and progress reports."""
    from improve.config import demo_programme_path, load_playbook, load_programme
    from improve.data.sample import write_sample_data
    from improve.domain.calendar import china_calendar

    programme = load_programme(demo_programme_path())
    with console.status("Generating 18 months of tickets and surveys..."):
        files = write_sample_data(
            directory,
            playbook=load_playbook(programme),
            plan_start=programme.cycle.plan_start,
            calendar=china_calendar(range(2024, 2028)),
        )
    console.print(f"Wrote {files.tickets_count:,} tickets to {files.tickets}")
    console.print(f"Wrote {files.surveys_count:,} survey answers to {files.surveys}")
    console.print(f"Wrote progress reports to {files.progress}")


@app.command()
@handles_errors
def demo(
    out: Annotated[Path, typer.Option(help="Folder for data, database and reports.")] = Path(
        "artifacts/demo"
    ),
    locale: Annotated[LocaleChoice, typer.Option(help="Report language.")] = LocaleChoice.zh,
) -> None:
    """Sample data plus the full six-stage cycle with auto-approval, and the portal."""
    from improve.config import demo_programme_path

    out = out.resolve()
    os.environ["IMPROVE_HOME"] = str(out)
    os.environ["IMPROVE_ARTIFACTS_DIR"] = str(out / "reports")
    os.environ["IMPROVE_DATABASE_URL"] = f"sqlite:///{out / 'improve.db'}"
    sample_data(out / "data")
    outcome = _run_cycle(
        demo_programme_path(), stages=None, data_root=out, locale=locale.value, auto_approve=True
    )
    console.print(f"[green]Cycle complete.[/green] Open {outcome.index}")
    from improve.orchestration.portal import publish_portal
    from improve.settings import load_settings

    _, portal = publish_portal(load_settings(), None, as_of=date.today(), default=locale.value)
    console.print(f"Portal over every programme in the store: {portal.root}")


def _run_cycle(
    config: Path,
    *,
    stages: list[str] | None,
    data_root: Path | None,
    locale: Locale | None,
    auto_approve: bool,
    quiet: bool = False,
) -> Any:
    from improve.orchestration.flows import cycle_flow

    with console.status("Running the improvement cycle (Prefect)..."):
        outcome = cycle_flow(
            str(config),
            stages=stages,
            data_root=str(data_root) if data_root else None,
            locale=locale,
            auto_approve=auto_approve,
        )
    if quiet:
        return outcome
    for s in outcome.stages:
        state = "new version" if s.created else "unchanged"
        console.print(f"  {s.stage:<9} {s.artifact_id} v{s.version}  {state}, {s.status}")
    if outcome.waiting_for is not None:
        w = outcome.waiting_for
        console.print(
            f"[yellow]Stage gate:[/yellow] {w.artifact_id} v{w.version} awaits "
            f"approval. Run `improve approve {w.artifact_id} --as NAME`, then run "
            "the cycle again."
        )
    return outcome


@app.command()
@handles_errors
def run(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    stage: Annotated[str | None, typer.Option(help="Run only this stage.")] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Approve each artifact as the owner.")
    ] = False,
    data_root: DataRootOption = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Report language.")] = None,
) -> None:
    """Run the cycle (or one stage) of a programme; stops at each unapproved stage gate."""
    from improve.domain.base import Stage

    if stage is not None and stage not in {s.value for s in Stage}:
        raise typer.BadParameter(
            f"{stage!r}; choose one of {', '.join(s.value for s in Stage)}", param_hint="--stage"
        )
    outcome = _run_cycle(
        config,
        stages=[stage] if stage else None,
        data_root=data_root,
        locale=locale.value if locale else None,
        auto_approve=auto_approve,
    )
    console.print(f"Reports: {outcome.index}")


@app.command("import")
@handles_errors
def import_(
    file: Annotated[Path, typer.Argument(help="Ticket export: CSV, XLSX or Parquet.")],
    config: Annotated[Path, typer.Option(help="Programme definition (YAML).")],
    preset: Annotated[
        str | None,
        typer.Option(help="Export preset (default: the programme's, else detected)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Add an export to the programme's ticket store: validated all or nothing, tickets
    matched by id (the newer export wins), never counted twice."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import import_tickets

    ctx = RunContext.load(config)
    try:
        with console.status(f"Importing {file.name}..."):
            result = import_tickets(ctx, file, preset=preset, actor=ctx.programme.owner)
    finally:
        ctx.close()
    if as_json:
        _print_json(
            {
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "generation": result.generation,
                "months_written": list(result.months_written),
            }
        )
        return
    changed = (
        f"; months rewritten: {', '.join(result.months_written)}"
        if result.months_written
        else "; the store is unchanged"
    )
    console.print(
        f"{file.name}: {result.added:,} new, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged tickets{changed}"
    )


class LevelChoice(StrEnum):
    """A level of the three-level review."""

    author = "author"
    cross = "cross"
    final = "final"


@app.command()
@handles_errors
def approve(
    artifact_id: Annotated[str, typer.Argument(help="e.g. demo/2026-H1/diagnose")],
    as_: Annotated[str, typer.Option("--as", help="Approver name from the programme.")],
    level: Annotated[
        LevelChoice | None,
        typer.Option(help="Review level (default: the one the version awaits)."),
    ] = None,
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead.")] = False,
    comment: Annotated[str | None, typer.Option(help="Comment, required to reject.")] = None,
) -> None:
    """Decide on a stage artifact version at one level of its three-level review: the
    author (初审), every cross-department head (二审), then the final sign-off (终审), which
    approves it; a rejection sends the stage back with the comment. Only the people the
    programme lists for a level decide at it."""
    from improve.domain.gate import LEVEL_NAMES, awaited
    from improve.settings import load_settings
    from improve.storage import repository as repo
    from improve.storage.db import make_engine, migrate, session_factory

    if reject and not comment:
        raise typer.BadParameter(
            "a rejection needs --comment saying what to change", param_hint="--comment"
        )
    engine = make_engine(load_settings().resolved_database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session, session.begin():
            current = repo.get_artifact(session=session, artifact_id=artifact_id, version=version)
            programme = repo.get_programme(session=session, key=current.artifact.programme)
            stored = repo.approve(
                session=session,
                artifact_id=artifact_id,
                version=current.ref.version,
                approver=as_,
                approvers=programme.approvers,
                level=level.value if level else None,
                reject=reject,
                comment=comment,
            )
            decisions = repo.approvals(
                session=session, artifact_id=artifact_id, version=current.ref.version
            )
    finally:
        engine.dispose()
    verb = "rejected" if reject else "approved"
    console.print(f"{stored.ref.artifact_id} v{stored.ref.version}: {verb} by {as_}")
    step = awaited(
        [(d.level, d.approver) for d in decisions if d.decision == "approved"],
        programme.approvers,
    )
    if stored.status == "pending" and step is not None:
        console.print(f"  next: the {LEVEL_NAMES[step[0]]} by {', '.join(step[1])}")
    else:
        console.print(f"  status: {stored.status}")


@app.command()
@handles_errors
def kpis(
    file: Annotated[Path, typer.Argument(help="Tickets: CSV, XLSX or Parquet.")],
    config: Annotated[
        Path | None, typer.Option(help="Programme whose column mapping (and surveys) to use.")
    ] = None,
    by: Annotated[Grain, typer.Option(help="Period.")] = Grain.month,
    dims: Annotated[str, typer.Option(help="Comma-separated dimensions, e.g. team,channel.")] = "",
    preset: Annotated[
        str | None,
        typer.Option(
            help="Export preset: zendesk, servicenow, jira, freshdesk or generic "
            "(default: detected from the header row)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """KPIs per period (and dimension values) with KPI.md's default definitions."""
    from improve.data import engine
    from improve.data.business import add_business_hours
    from improve.data.canonical import SURVEYS, TICKETS, load_canonical
    from improve.data.kpis import compute_kpis
    from improve.domain.programme import DataSource

    dim_list = [d.strip() for d in dims.split(",") if d.strip()]
    con = engine.connect()
    try:
        if config is None:
            source = DataSource(path=str(file.resolve()), preset=preset)
            load_canonical(con, TICKETS, source, base_dir=Path.cwd())
        else:
            from improve.config import load_programme

            programme = load_programme(config)
            source = programme.data.tickets.model_copy(
                update={
                    "path": str(file.resolve()),
                    "preset": preset or programme.data.tickets.preset,
                }
            )
            load_canonical(con, TICKETS, source, base_dir=Path.cwd(), timezone=programme.timezone)
            if programme.business_hours is not None:
                add_business_hours(con, programme.business_hours)
            if programme.data.surveys is not None:
                load_canonical(
                    con,
                    SURVEYS,
                    programme.data.surveys,
                    base_dir=config.resolve().parent,
                    timezone=programme.timezone,
                )
        rows = compute_kpis(con, grain=by.value, dims=dim_list)
    finally:
        con.close()
    if as_json:
        _print_json(rows)
        return
    shown = [
        "volume",
        "frt_median_min",
        "resolution_median_h",
        "fcr_rate",
        "reopen_rate",
        "csat_rate",
        "complaint_rate",
        "backlog_end",
    ]
    table = Table(title=f"KPIs by {by.value}: {file.name}")
    short = {
        "volume": "tickets",
        "frt_median_min": "FRT med",
        "resolution_median_h": "res med h",
        "fcr_rate": "FCR",
        "reopen_rate": "reopen",
        "csat_rate": "CSAT",
        "complaint_rate": "complaint",
        "backlog_end": "backlog",
    }
    for col in ["period", *dim_list]:
        table.add_column(col, no_wrap=True)
    for col in shown:
        table.add_column(short[col], justify="right")
    for row in rows:
        cells = [str(row["period"]), *(str(row[d]) for d in dim_list)]
        for name in shown:
            v = row[name]
            cells.append(
                "—"
                if v is None
                else f"{v:.1%}"
                if name.endswith("_rate")
                else f"{v:,.1f}"
                if isinstance(v, float)
                else f"{v:,}"
            )
        table.add_row(*cells)
    console.print(table)


@app.command()
@handles_errors
def diagnose(
    config: Annotated[
        Path | None, typer.Argument(help="Programme definition (YAML); or give --data.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="A bare ticket export, diagnosed with the default settings."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Export preset for --data (default: detected from the header row)."),
    ] = None,
    data_root: Annotated[
        Path | None,
        typer.Option(help="Folder the programme's data paths are relative to."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the report (Excel and HTML) here.")
    ] = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Report language.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """Diagnose a programme's baseline, or a bare export: problems in priority order with
    segment, root cause, the week the KPI shifted, share of the gap, impact, feasibility."""
    from improve.orchestration.diagnosis import diagnose_export, diagnose_programme

    if (config is None) == (data is None):
        raise typer.BadParameter("give a programme definition or --data FILE (not both)")
    if data is not None:
        report, programme = diagnose_export(data, preset=preset)
    else:
        assert config is not None
        report, programme = diagnose_programme(config, data_root=data_root)
    if out is not None:
        from improve.orchestration.diagnosis import write_report

        chosen = locale.value if locale else programme.locale
        written = write_report(report, programme, out, locale=chosen)
    if as_json:
        _print_json([_problem_json(report, p) for p in report.problems])
        return
    _print_problems(report)
    if out is not None:
        console.print(f"Report: {written}")


def _problem_json(report: DiagnosisReport, problem: Problem) -> dict[str, Any]:
    row = report.kpi_baseline(problem.kpi)
    return {
        "id": problem.id,
        "priority": problem.priority,
        "kpi": problem.kpi,
        "segment": {problem.dimension: problem.segment},
        "root_cause": problem.category.value,
        "started": problem.started,
        "gap": row.gap,
        "share_of_gap_explained": problem.gap_share,
        "impact": problem.impact,
        "feasibility": problem.feasibility,
        "confidence": problem.confidence,
        "evidence": [
            {
                "signal": e.signal,
                "metric": e.metric,
                "segment_value": e.segment_value,
                "overall_value": e.overall_value,
                "strength": e.strength,
                "text": e.text.model_dump(),
            }
            for e in problem.evidence
        ],
    }


def _print_problems(report: DiagnosisReport) -> None:
    console.print(
        f"{report.tickets:,} tickets, {report.window_start} to {report.window_end}: "
        f"{len(report.problems)} problem(s)"
    )
    table = Table()
    for col in ("#", "KPI", "segment", "root cause", "started", "gap share", "impact", "feas."):
        table.add_column(col)
    for p in report.problems:
        table.add_row(
            str(p.priority),
            p.kpi,
            f"{p.dimension}={p.segment}",
            p.category.value,
            str(p.started or "—"),
            "—" if p.gap_share is None else f"{p.gap_share:.0%}",
            f"{p.impact:.2f}",
            f"{p.feasibility:.2f}",
        )
    console.print(table)


@app.command()
@handles_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Programmes, cycles and each stage's latest artifact version and approval state."""
    from improve.settings import load_settings
    from improve.storage import repository as repo
    from improve.storage.db import make_engine, migrate, session_factory

    engine = make_engine(load_settings().resolved_database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            cycles = repo.cycle_status(session=session)
    finally:
        engine.dispose()
    data = [c.model_dump(mode="json") for c in cycles]
    if as_json:
        _print_json(data)
        return
    if not data:
        console.print("No programme has run yet. Try `improve demo`.")
        return
    for c in cycles:
        table = Table(title=f"{c.programme_key} / {c.cycle_key}")
        for col in ("stage", "artifact", "version", "status"):
            table.add_column(col)
        for s in c.stages:
            table.add_row(s.stage, s.artifact_id or "—", str(s.version or "—"), s.status or "—")
        console.print(table)


audit = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit, name="audit")


@audit.command("verify")
@handles_errors
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Check the audit trail's hash chain entry by entry, and every stored artifact, review,
    standard and programme definition against the entry that recorded it; exit 1 naming
    each entry that does not hold."""
    from improve.settings import load_settings
    from improve.storage.audit import verify
    from improve.storage.db import make_engine, migrate, session_factory

    engine = make_engine(load_settings().resolved_database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            check = verify(session=session)
    finally:
        engine.dispose()
    if as_json:
        _print_json(
            {
                "ok": check.ok,
                "entries": check.entries,
                "contents": check.contents,
                "problems": [
                    {"entry": p.entry, "object": p.object, "problem": p.problem}
                    for p in check.problems
                ],
            }
        )
    elif check.ok:
        console.print(
            f"[green]Audit trail intact:[/green] {check.entries} entries chained, "
            f"{check.contents} stored contents match their entries."
        )
    else:
        for p in check.problems:
            where = f"entry #{p.entry}" if p.entry is not None else "no entry"
            err_console.print(f"[red]{where}[/red] {escape(p.object)}: {escape(p.problem)}")
        err_console.print(
            f"{len(check.problems)} problem(s) in {check.entries} entries; restore the "
            "database from a backup taken before the first entry named"
        )
    if not check.ok:
        raise typer.Exit(1)


rootcause = typer.Typer(
    help="The 5-Why / fishbone worksheet: write it for stakeholders, import it filled in.",
    no_args_is_help=True,
)
app.add_typer(rootcause, name="rootcause")


@rootcause.command("write")
@handles_errors
def rootcause_write(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    out: Annotated[
        Path | None, typer.Option(help="Workbook to write (default: beside the reports).")
    ] = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Worksheet language.")] = None,
) -> None:
    """Write the worksheet of the latest diagnosis: a sheet per problem, prefilled with the
    answers already imported."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import write_worksheet

    ctx = RunContext.load(config, locale=locale.value if locale else None)
    try:
        path = write_worksheet(ctx, out.resolve() if out else None)
    finally:
        ctx.close()
    console.print(f"Worksheet: {path}")


@rootcause.command("import")
@handles_errors
def rootcause_import(
    file: Annotated[Path, typer.Argument(help="The filled-in worksheet (.xlsx).")],
    config: Annotated[Path, typer.Option(help="Programme definition (YAML).")],
    as_: Annotated[
        str | None, typer.Option("--as", help="Who imports it (default: the owner).")
    ] = None,
    data_root: DataRootOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Validate a filled worksheet (every error located, nothing stored on one), store the
    answers, and diagnose again: the new version merges them."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import import_reviews

    ctx = RunContext.load(config, data_root=data_root)
    try:
        review, added = import_reviews(ctx, file, actor=as_ or ctx.programme.owner)
    finally:
        ctx.close()
    outcome = None
    if added:
        outcome = _run_cycle(
            config,
            stages=["diagnose"],
            data_root=data_root,
            locale=None,
            auto_approve=False,
            quiet=as_json,
        ).stages[0]
    if as_json:
        _print_json(
            {
                "reviews": len(review.reviews),
                "added": added,
                "diagnosis": None
                if outcome is None
                else {"artifact_id": outcome.artifact_id, "version": outcome.version},
            }
        )
        return
    if outcome is None:
        console.print(f"{file.name}: every answer was already imported; nothing changed")
    else:
        console.print(
            f"{file.name}: {added} review(s) stored; {outcome.artifact_id} "
            f"v{outcome.version} merges them ({outcome.status})"
        )


@app.command()
@handles_errors
def targets(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """The cycle's target list (服务提升目标清单): each SMART target with its check letter by
    letter, its department sub-targets and the arithmetic showing they add up."""
    from improve.domain.artifacts import TargetList
    from improve.domain.base import Stage
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import latest_of

    ctx = RunContext.load(config)
    try:
        stored = latest_of(ctx, Stage.TARGET, "there are no targets to show")
    finally:
        ctx.close()
    target_list = stored.artifact
    assert isinstance(target_list, TargetList)
    if as_json:
        _print_json(
            {
                "artifact_id": stored.ref.artifact_id,
                "version": stored.ref.version,
                "status": stored.status,
                "targets": [
                    {**t.model_dump(mode="json"), "smart_passed": t.smart.passed}
                    for t in target_list.targets
                ],
            }
        )
        return
    console.print(f"{stored.ref.artifact_id} v{stored.ref.version} ({stored.status})")
    table = Table()
    for col in ("id", "KPI", "baseline", "target", "deadline", "owner", "SMART", "cascade"):
        table.add_column(col)
    for t in target_list.targets:
        letters = zip("SMART", (t.smart.specific, t.smart.measurable, t.smart.achievable,
                                t.smart.relevant, t.smart.time_bound), strict=True)  # fmt: skip
        table.add_row(
            t.id,
            t.kpi,
            f"{t.baseline:g} {t.unit}",
            f"{t.target:g} {t.unit}",
            str(t.deadline),
            t.owner_department,
            "".join(c if ok else "·" for c, ok in letters),
            "—" if t.cascade is None else escape(t.cascade.working),
        )
    console.print(table)
    for t in target_list.targets:
        for failure in t.smart.failures:
            console.print(f"  {t.id}: {escape(failure.en)}")


@app.command()
@handles_errors
def evaluate(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """The cycle's evaluation (效果评估报告): per target the achievement, whether the change
    is significant with its interval (same period last year where the data allows), and the
    overall score, grade and closure outcome. `improve run CONFIG --stage evaluate` makes it."""
    from improve.domain.artifacts import EvaluationReport
    from improve.domain.base import Stage
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import latest_of

    ctx = RunContext.load(config)
    try:
        stored = latest_of(ctx, Stage.EVALUATE, "there is no evaluation to show")
    finally:
        ctx.close()
    report = stored.artifact
    assert isinstance(report, EvaluationReport)
    data = _evaluation_json(report)
    if as_json:
        _print_json(
            {
                "artifact_id": stored.ref.artifact_id,
                "version": stored.ref.version,
                "status": stored.status,
                **data,
            }
        )
        return
    console.print(f"{stored.ref.artifact_id} v{stored.ref.version} ({stored.status})")
    table = Table()
    for col in ("id", "KPI", "baseline", "target", "actual", "achievement", "significant",
                "95% CI of the change", "basis", "met"):  # fmt: skip
        table.add_column(col)
    for t in data["targets"]:
        ci = t["ci"]
        table.add_row(
            t["id"],
            t["kpi"],
            f"{t['baseline']:g}",
            f"{t['target']:g}",
            "—" if t["actual"] is None else f"{t['actual']:.4g}",
            "—" if t["achievement"] is None else f"{t['achievement']:.0%}",
            {None: "—", True: "yes", False: "no"}[t["significant"]]
            + (" (seasonal?)" if t["seasonal"] else ""),
            "—" if ci is None else f"{ci[0]:.4g} … {ci[1]:.4g}",
            t["basis"] or "—",
            "✓" if t["met"] else "✗",
        )
    console.print(table)
    console.print(
        f"Score {report.rating.score:g} (targets {report.rating.targets:g}, customers "
        f"{report.rating.customer:g}, discipline {report.rating.discipline:g}), grade "
        f"{report.rating.grade}, outcome {report.outcome}: {escape(report.outcome_reason.en)}"
    )


def _evaluation_json(report: Any) -> dict[str, Any]:
    """The evaluation's figures for `--json`: per target, then the overall rating."""
    targets = []
    for r in report.results:
        judged = r.same_period if r.basis == "same_period" else r.before_after
        ci = None
        if judged is not None and judged.ci_low is not None:
            ci = [judged.ci_low, judged.ci_high]
        targets.append(
            {
                "id": r.target_id,
                "kpi": r.kpi,
                "baseline": r.baseline,
                "target": r.target,
                "actual": r.actual,
                "achievement": r.achievement,
                "achievement_display": r.achievement_display,
                "significant": r.significant,
                "ci": ci,
                "p_value": None if judged is None else judged.p_value,
                "basis": r.basis,
                "seasonal": r.seasonal,
                "met": r.met,
                "before_after": None
                if r.before_after is None
                else r.before_after.model_dump(mode="json"),
                "same_period": None
                if r.same_period is None
                else r.same_period.model_dump(mode="json"),
            }
        )
    return {
        "targets": targets,
        "customer": report.customer.model_dump(mode="json"),
        "rating": report.rating.model_dump(mode="json"),
        "score": report.rating.score,
        "grade": report.rating.grade,
        "outcome": report.outcome,
        "outcome_reason": report.outcome_reason.model_dump(mode="json"),
    }


cycle = typer.Typer(help="PDCA cycles: start the next one.", no_args_is_help=True)
app.add_typer(cycle, name="cycle")


@cycle.command("next")
@handles_errors
def cycle_next(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    key: Annotated[
        str | None, typer.Option(help="The new cycle's key (default: 2026-H1 -> 2026-H2).")
    ] = None,
    data_root: DataRootOption = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Report language.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Start the next cycle: the programme file's `cycle:` block moves on (diagnosed the day
    after the deadline, as long, same rules), and its diagnosis runs with the previous
    cycle's unmet targets, unresolved problems, unfinished tasks and lessons beside the new
    findings. The current cycle's optimisation report must be approved."""
    from datetime import date as _date

    from improve.config_edit import write_next_cycle
    from improve.domain.artifacts import DiagnosisReport
    from improve.domain.base import Stage
    from improve.domain.calendar import china_calendar
    from improve.errors import StageError
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import latest_of
    from improve.stages.next_cycle import next_cycle_settings

    ctx = RunContext.load(config, data_root=data_root)
    try:
        current = ctx.programme.cycle
        optimised = latest_of(ctx, Stage.OPTIMISE, f"cycle {current.key} cannot close yet")
    finally:
        ctx.close()
    if optimised.status != "approved":
        raise StageError(
            f"{optimised.ref.artifact_id} v{optimised.ref.version} is {optimised.status}; "
            f"approve it first (`improve approve {optimised.ref.artifact_id} --as NAME`)"
        )
    years = range(current.deadline.year, current.deadline.year + 3)
    calendar = china_calendar(years, ctx.programme.days_off)
    following = next_cycle_settings(current, calendar, key=key)
    write_next_cycle(ctx.config_path, following, today=_date.today())
    outcome = _run_cycle(
        ctx.config_path,
        stages=[Stage.DIAGNOSE.value],
        data_root=data_root,
        locale=locale.value if locale else None,
        auto_approve=False,
        quiet=True,
    )
    ctx = RunContext.load(config, data_root=data_root)
    try:
        stored = latest_of(ctx, Stage.DIAGNOSE, "the new cycle was not diagnosed")
    finally:
        ctx.close()
    report = stored.artifact
    assert isinstance(report, DiagnosisReport)
    if as_json:
        _print_json(
            {
                "previous": current.key,
                "cycle": following.model_dump(mode="json"),
                "diagnosis": {"artifact_id": stored.ref.artifact_id, "version": stored.ref.version},
                "carried_over": [c.model_dump(mode="json") for c in report.carried_over],
                "problems": [_problem_json(report, p) for p in report.problems],
                "index": str(outcome.index),
            }
        )
        return
    console.print(
        f"Cycle {following.key} started (diagnosis {following.diagnosis_date}, plan from "
        f"{following.plan_start}, deadline {following.deadline}); {ctx.config_path} updated."
    )
    table = Table(title=f"Carried over from {current.key}")
    for col in ("kind", "ref", "KPI", "status", "now"):
        table.add_column(col)
    for c in report.carried_over:
        table.add_row(c.kind, c.ref or "—", c.kpi or "—", c.status, ", ".join(c.problem_ids) or "—")
    console.print(table)
    _print_problems(report)
    console.print(f"Reports: {outcome.index}")


class _ShowByDefault(TyperGroup):
    """`improve plan CONFIG` shows the plan; `improve plan import FILE` imports one."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


plan = typer.Typer(
    cls=_ShowByDefault,
    help="The implementation plan. `improve plan CONFIG [--json] [--out FILE]` shows it and "
    "writes its workbook (the same as `plan show`); `improve plan import FILE` stores the "
    "workbook edited.",
    no_args_is_help=True,
)
app.add_typer(plan, name="plan")


@plan.command("show")
@handles_errors
def plan_show(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    version: Annotated[int | None, typer.Option(help="Plan version (default: latest).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the plan workbook to edit here (.xlsx).")
    ] = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Workbook language.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """The plan's tasks with owner, dates, dependencies, critical path, slack and RACI."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import plan_version, write_plan_workbook

    ctx = RunContext.load(config, locale=locale.value if locale else None)
    try:
        stored = plan_version(ctx, version)
        written = write_plan_workbook(ctx, out.resolve(), version=version) if out else None
    finally:
        ctx.close()
    data = _plan_json(stored)
    if as_json:
        _print_json(data)
        return
    console.print(
        f"{data['artifact_id']} v{data['version']} ({data['status']}): "
        f"{data['start']} to {data['end']}"
    )
    table = Table()
    for col in ("task", "owner", "start", "end", "after", "critical", "slack", "RACI"):
        table.add_column(col)
    for t in data["tasks"]:
        table.add_row(
            t["id"],
            escape(t["owner"]),
            str(t["start"]),
            str(t["end"]),
            ", ".join(t["depends_on"]) or "—",
            "yes" if t["critical"] else "",
            str(t["slack_days"]),
            " ".join(f"{d}:{x}" for d, x in t["raci"].items()),
        )
    console.print(table)
    for o in data["overallocations"]:
        console.print(
            f"[yellow]over-allocated:[/yellow] {escape(o['owner'])} {o['booked']:.0%} of "
            f"{o['capacity']:.0%} from {o['start']} to {o['end']} ({', '.join(o['task_ids'])})"
        )
    if written:
        console.print(f"Plan workbook: {written}")


def _plan_json(stored: Any) -> dict[str, Any]:
    from improve.domain.artifacts import ImplementationPlan
    from improve.reports.content import raci_matrix

    p = stored.artifact
    assert isinstance(p, ImplementationPlan)
    _, cells = raci_matrix(p)
    return {
        "artifact_id": stored.ref.artifact_id,
        "version": stored.ref.version,
        "status": stored.status,
        "start": p.start,
        "end": p.end,
        "revised_from": p.revised_from,
        "tasks": [
            {
                "id": t.id,
                "name": t.name.model_dump(),
                "owner": t.owner,
                "department": t.department,
                "start": t.start,
                "end": t.end,
                "working_days": t.working_days,
                "depends_on": list(t.depends_on),
                "critical": t.critical,
                "slack_days": t.slack_days,
                "milestone": t.milestone,
                "raci": cells[t.id],
            }
            for t in p.tasks
        ],
        "overallocations": [o.model_dump(mode="json") for o in p.overallocations],
        "changes": [c.model_dump(mode="json") for c in p.changes],
    }


@plan.command("import")
@handles_errors
def plan_import(
    file: Annotated[Path, typer.Argument(help="The edited plan workbook (.xlsx).")],
    config: Annotated[
        Path | None,
        typer.Option(help="Programme definition (default: as stored with the plan)."),
    ] = None,
    as_: Annotated[
        str | None, typer.Option("--as", help="Who imports it (default: the owner).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Validate an edited plan workbook (dependencies, days off, owners and their capacity,
    RACI: every error located, nothing stored on one), store it as the next plan version
    and show what changed."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import import_plan

    ctx = RunContext.load(config) if config else RunContext.from_store(_programme_of(file))
    try:
        result = import_plan(ctx, file, actor=as_ or ctx.programme.owner)
    finally:
        ctx.close()
    changes = [c.model_dump(mode="json") for c in result.changes]
    if as_json:
        _print_json(
            {
                "artifact_id": result.stored.ref.artifact_id,
                "version": result.stored.ref.version,
                "created": result.created,
                "status": result.stored.status,
                "changes": changes,
            }
        )
        return
    if not result.created:
        console.print(
            f"{file.name}: nothing new; plan v{result.stored.ref.version} already holds it"
        )
        return
    console.print(
        f"{file.name}: stored as {result.stored.ref.artifact_id} v{result.stored.ref.version} "
        f"({result.stored.status}); {len(changes)} change(s):"
    )
    for c in changes:
        console.print(f"  {c['task_id']} {c['field']}: {escape(c['before'] or '—')} → "
                      f"{escape(c['after'] or '—')}")  # fmt: skip


progress = typer.Typer(
    help="The progress tracking table (执行进度跟踪表): write it for owners, import it filled in.",
    no_args_is_help=True,
)
app.add_typer(progress, name="progress")


@progress.command("write")
@handles_errors
def progress_write(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date, YYYY-MM-DD (default: today).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Workbook to write (default: beside the reports).")
    ] = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Workbook language.")] = None,
) -> None:
    """Write the progress workbook of the latest plan: a row per task with its planned and
    last reported percent, yellow cells for % complete, status, blocker and note."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import write_progress_workbook

    day = _date_option(as_of, "--as-of") if as_of else date.today()
    ctx = RunContext.load(config, locale=locale.value if locale else None)
    try:
        path = write_progress_workbook(ctx, out.resolve() if out else None, as_of=day)
    finally:
        ctx.close()
    console.print(f"Progress workbook for {day}: {path}")


@progress.command("import")
@handles_errors
def progress_import(
    file: Annotated[Path, typer.Argument(help="The filled progress workbook (.xlsx).")],
    config: Annotated[
        Path | None,
        typer.Option(help="Programme definition (default: as stored with the plan)."),
    ] = None,
    as_: Annotated[
        str | None, typer.Option("--as", help="Who imports it (default: the owner).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Validate a filled progress workbook (unknown tasks, impossible percentages, a status
    that contradicts its percent, a blocked task without its blocker: every error located,
    nothing stored on one) and store its rows; the same file twice stores nothing."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import import_progress

    ctx = RunContext.load(config) if config else RunContext.from_store(_programme_of(file))
    try:
        result = import_progress(ctx, file, actor=as_ or ctx.programme.owner)
    finally:
        ctx.close()
    if as_json:
        _print_json({"as_of": result.as_of, "reported": result.reported, "stored": result.stored})
        return
    if not result.stored:
        console.print(f"{file.name}: every row was already imported; nothing changed")
    else:
        console.print(
            f"{file.name}: {result.reported} task(s) reported as of {result.as_of}; "
            f"{result.stored} row(s) new or corrected"
        )


def _programme_of(workbook: Path) -> str:
    """The programme key of the plan a workbook written by improve names in its `_meta`."""
    from improve.data.readers import workbook_meta

    plan_id = str(workbook_meta(workbook).get("plan_id") or "")
    if "/" not in plan_id:
        raise InputDataError(
            f"{workbook}: names no plan in its _meta sheet; write it again with improve, or "
            "give --config"
        )
    return plan_id.split("/")[0]


def _date_option(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; write YYYY-MM-DD", param_hint=name
        ) from None


review = typer.Typer(
    help="The execution cadence: the weekly review (周例会) and the monthly retrospective "
    "(月度复盘).",
    no_args_is_help=True,
)
app.add_typer(review, name="review")


@review.command("weekly")
@handles_errors
def review_weekly(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    period: PeriodOption = None,
    data_root: DataRootOption = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Report language.")] = None,
    catch_up: CatchUpOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Run the weekly review flow (Prefect) for one week: SPI and schedule variance,
    overdue and due-soon tasks, blockers by department, KPIs against their target paths;
    a rerun of the same week on the same data stores nothing new."""
    from improve.domain.meetings import parse_week
    from improve.orchestration.flows import weekly_review_flow

    outcome = _run_review(
        weekly_review_flow, parse_week, config, period, data_root, locale, catch_up
    )
    if as_json:
        _print_review_json(outcome)
        return
    r = outcome.review
    spi = "—" if r["spi"] is None else f"{r['spi']:.2f}"
    console.print(
        f"Weekly review {outcome.period} v{outcome.version} ({_state(outcome)}): SPI {spi}, "
        f"{len(r['overdue'])} overdue, {len(r['due_soon'])} due soon, "
        f"{sum(len(b['blockers']) for b in r['blockers'])} blocked"
    )
    for f in outcome.files:
        console.print(f"  {f}")


@review.command("monthly")
@handles_errors
def review_monthly(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    period: PeriodOption = None,
    data_root: DataRootOption = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Report language.")] = None,
    catch_up: CatchUpOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Run the monthly retrospective flow (Prefect) for one month: deviations and their
    causes, each KPI's forecast at its deadline, proposed re-planning, the risk register,
    team and agent scorecards; a rerun of the same month on the same data stores nothing."""
    from improve.domain.meetings import parse_month
    from improve.orchestration.flows import monthly_retrospective_flow

    outcome = _run_review(
        monthly_retrospective_flow, parse_month, config, period, data_root, locale, catch_up
    )
    if as_json:
        _print_review_json(outcome)
        return
    r = outcome.review
    spi = "—" if r["spi"] is None else f"{r['spi']:.2f}"
    outlooks = ", ".join(f"{f['target_id']} {f['outlook']}" for f in r["forecasts"])
    console.print(
        f"Monthly retrospective {outcome.period} v{outcome.version} ({_state(outcome)}): "
        f"SPI {spi}, {len(r['deviations'])} deviation(s), {len(r['shifts'])} task(s) to "
        f"re-plan, {len(r['risks'])} risk(s); outlook: {outlooks}"
    )
    for f in outcome.files:
        console.print(f"  {f}")


def _run_review(
    flow: Any,
    parse: Callable[[str], object],
    config: Path,
    period: str | None,
    data_root: Path | None,
    locale: LocaleChoice | None,
    catch_up: bool,
) -> Any:
    if period is not None:
        try:
            parse(period)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from None
    with console.status("Running the review (Prefect)..."):
        return flow(
            str(config),
            period=period,
            data_root=str(data_root) if data_root else None,
            locale=locale.value if locale else None,
            catch_up=catch_up,
        )


def _state(outcome: Any) -> str:
    return "new version" if outcome.created else "unchanged"


def _print_review_json(outcome: Any) -> None:
    _print_json(
        {
            **outcome.review,
            "period": outcome.period,
            "version": outcome.version,
            "created": outcome.created,
            "files": outcome.files,
            "caught_up": outcome.caught_up,
        }
    )


@app.command()
@handles_errors
def serve(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    data_root: DataRootOption = None,
) -> None:
    """Serve the programme's schedules on this machine (the weekly review on its cron, in the
    programme's time zone) until stopped; runs show in the Prefect UI."""
    from improve.orchestration.schedules import serve_programme

    console.print(f"Serving the schedules of {config} (Ctrl-C to stop)")
    serve_programme(config, data_root=data_root)


pilot = typer.Typer(
    help="Pilots (试点): evaluate one on the data as it stands.", no_args_is_help=True
)
app.add_typer(pilot, name="pilot")


@pilot.command("evaluate")
@handles_errors
def pilot_evaluate(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    name: Annotated[str, typer.Option("--pilot", help="The pilot's key in the programme.")],
    data_root: DataRootOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Difference in differences of each of the pilot's KPIs against its control group, with
    a bootstrap interval, the test that fits the metric, its power and a verdict: roll out,
    extend or stop. Nothing is stored (the execute stage stores it)."""
    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import evaluate_pilot_now

    ctx = RunContext.load(config, data_root=data_root)
    try:
        with console.status(f"Evaluating pilot {name}..."):
            evaluation = evaluate_pilot_now(ctx, name)
    finally:
        ctx.close()
    if as_json:
        _print_json(evaluation.model_dump(mode="json"))
        return
    name_, why = escape(evaluation.name.en), escape(evaluation.reason.en)
    console.print(f"{name_}: [bold]{evaluation.verdict}[/bold] ({why})")
    table = Table()
    for col in ("KPI", "effect", "95% CI", "test", "p", "power", "verdict"):
        table.add_column(col)
    for r in evaluation.kpis:
        table.add_row(
            r.kpi,
            "—" if r.effect is None else f"{r.effect:.3g}",
            "—" if r.ci_low is None or r.ci_high is None else f"[{r.ci_low:.3g}, {r.ci_high:.3g}]",
            r.test,
            "—" if r.p_value is None else f"{r.p_value:.3g}",
            "—" if r.power is None else f"{r.power:.0%}",
            r.verdict,
        )
    console.print(table)


from improve.cli import portal as _portal  # noqa: E402, F401  (registers its commands)
from improve.cli import standards as _standards  # noqa: E402  (it uses the helpers above)

app.add_typer(_standards.standards, name="standards")


def main() -> None:
    """Console-script entry point."""
    app()
