"""A diagnosis on demand (`improve diagnose`): of a programme's baseline, read exactly as its
cycle reads it, or of a bare export with the default settings. Nothing is stored."""

from __future__ import annotations

from pathlib import Path

from improve.config import export_programme, load_playbook, load_rules
from improve.data import engine
from improve.data.canonical import TICKETS, load_canonical
from improve.data.facts import add_months, window_facts
from improve.domain.artifacts import DiagnosisReport
from improve.domain.base import Locale, Stage
from improve.domain.programme import DataSource, Programme
from improve.errors import StageError
from improve.orchestration.context import RunContext
from improve.orchestration.pipeline import compute, last_ticket_day, read_facts
from improve.reports.site import write_cycle_reports
from improve.stages.diagnose import diagnose


def diagnose_programme(
    config: Path, *, data_root: Path | None = None
) -> tuple[DiagnosisReport, Programme]:
    """The programme's diagnosis from its ticket store (or configured files)."""
    ctx = RunContext.load(config, data_root=data_root)
    try:
        facts = read_facts(ctx, Stage.DIAGNOSE, {})
        report = compute(ctx, Stage.DIAGNOSE, {}, facts)
        assert isinstance(report, DiagnosisReport)
        return report, ctx.programme
    finally:
        ctx.close()


def diagnose_export(path: Path, *, preset: str | None) -> tuple[DiagnosisReport, Programme]:
    """A bare export's diagnosis: the 12 months up to its last whole month, the published
    benchmarks, the embedded playbook and root-cause rules (config/export.yaml)."""
    con = engine.connect(deterministic=True)
    try:
        source = DataSource(path=str(path.resolve()), preset=preset)
        load_canonical(con, TICKETS, source, base_dir=Path.cwd())
        programme = export_programme(last_ticket_day(con))
        end = programme.cycle.diagnosis_date
        start = add_months(end, -programme.cycle.baseline_months)
        facts = window_facts(con, start=start, end=end, departments=programme.team_map)
    finally:
        con.close()
    if facts.tickets == 0:
        raise StageError(
            f"{path}: no tickets in the 12 months before {end} (the export's last whole "
            "month); export a longer period"
        )
    report = diagnose(facts, programme=programme, playbook=load_playbook(), rules=load_rules())
    return report, programme


def write_report(
    report: DiagnosisReport, programme: Programme, out: Path, *, locale: Locale
) -> Path:
    """The diagnosis workbook and page (with an index) in `out`; the index's path."""
    paths = write_cycle_reports(
        out,
        programme=programme,
        cycle_key=report.cycle,
        artifacts={Stage.DIAGNOSE: (None, report)},
        locale=locale,
    )
    return paths.index
