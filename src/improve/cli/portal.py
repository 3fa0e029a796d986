"""`improve portal` and `improve digest`: what leaders and teams read across programmes,
built from the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from improve.cli.app import (
    DataRootOption,
    LocaleChoice,
    PeriodOption,
    _date_option,
    _print_json,
    app,
    console,
    handles_errors,
)


@app.command()
@handles_errors
def portal(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of the site (default: artifacts/portal)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge tasks and KPIs as of this day (YYYY-MM-DD)."),
    ] = None,
    locale: Annotated[
        LocaleChoice, typer.Option(help="Language the site opens in (both are built).")
    ] = LocaleChoice.zh,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Build the static portal over every programme in the store: the portfolio (stage,
    status, overdue and due-soon tasks, pending approvals, KPIs against target with
    sparklines) with a search box, each cycle's artifacts and versions, in zh-CN and en;
    open its index.html from any folder or file share, no network needed."""
    from improve.orchestration.portal import publish_portal
    from improve.settings import load_settings

    day = _date_option(as_of, "--as-of") if as_of else date.today()
    summary, paths = publish_portal(load_settings(), out, as_of=day, default=locale.value)
    if as_json:
        _print_json(
            {
                "index": str(paths.root),
                "pages": paths.pages,
                "portfolio": summary.model_dump(mode="json"),
            }
        )
        return
    for s in summary.programmes:
        console.print(
            f"{s.key} / {s.cycle}: {s.stage.value if s.stage else 'not started'}"
            f"{f' ({s.status})' if s.status else ''}, {len(s.overdue)} overdue, "
            f"{len(s.due_soon)} due soon, {len(s.pending)} pending approval(s)"
        )
    console.print(f"Portal: {paths.root} ({paths.pages} pages, zh-CN and en)")


@app.command()
@handles_errors
def digest(
    config: Annotated[Path, typer.Argument(help="Programme definition (YAML).")],
    period: PeriodOption = None,
    data_root: DataRootOption = None,
    locale: Annotated[LocaleChoice | None, typer.Option(help="Digest language.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Run the weekly digest flow (Prefect) for one week: reviews waiting on someone, tasks
    overdue and due soon, KPI alerts, as Markdown and a page; sent once through the
    programme's Prefect notification block when `notifications.block` names one."""
    from improve.domain.meetings import parse_week
    from improve.orchestration.flows import weekly_digest_flow

    if period is not None:
        try:
            parse_week(period)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from None
    with console.status("Running the weekly digest (Prefect)..."):
        outcome = weekly_digest_flow(
            str(config),
            period=period,
            data_root=str(data_root) if data_root else None,
            locale=locale.value if locale else None,
        )
    d = outcome.digest
    if as_json:
        _print_json(
            {
                **d,
                "version": outcome.version,
                "created": outcome.created,
                "notified": outcome.notified,
                "files": outcome.files,
            }
        )
        return
    console.print(
        f"Weekly digest {outcome.period} v{outcome.version} "
        f"({'new version' if outcome.created else 'unchanged'}"
        f"{', sent' if outcome.notified else ''}): {len(d['pending'])} pending approval(s), "
        f"{len(d['overdue'])} overdue, {len(d['due_soon'])} due soon, "
        f"{len(d['alerts'])} KPI alert(s)"
    )
    for f in outcome.files:
        console.print(f"  {f}")
