"""Excel workbooks (openpyxl): a sheet per section, titled, frozen, formatted; the plan adds a
Gantt sheet drawn in week cells and a RACI sheet with drop-down validation."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from improve.domain.artifacts import ARTIFACT_TITLES, ImplementationPlan
from improve.domain.base import Artifact, Locale
from improve.domain.programme import Programme
from improve.reports.content import sections_for
from improve.reports.sections import Fmt, Section, Val, Words

NUMBER_FORMATS: dict[Fmt, str] = {
    "text": "@",
    "int": "#,##0",
    "num1": "0.0",
    "num2": "0.00",
    "num3": "0.000",
    "pct": "0.0%",
    "date": "yyyy-mm-dd",
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
BAR_FILL = PatternFill("solid", fgColor="5B9BD5")
CRITICAL_FILL = PatternFill("solid", fgColor="C00000")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60
HEADER_ROW = 4  # title, subtitle, a blank row, then the table


def write_cell(ws: Worksheet, row: int, column: int, value: Any, fmt: Fmt = "text") -> Cell:
    """Write one value; text is always a text cell, never a formula, whatever it starts with."""
    if isinstance(value, Val):
        value, fmt = value.value, value.fmt
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl would read '=...' as a formula
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True
    elif isinstance(value, bool):
        cell.value = value
    else:
        cell.value = value
        if value is not None:
            cell.number_format = NUMBER_FORMATS[fmt]
    return cell


def display_width(text: str) -> int:
    """Columns a text needs: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit_columns(ws: Worksheet, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(8, width + 2))


def _title(ws: Worksheet, title: str, subtitle: str) -> None:
    write_cell(ws, 1, 1, title).font = TITLE_FONT
    write_cell(ws, 2, 1, subtitle)


def _section_sheet(ws: Worksheet, section: Section, title: str, subtitle: str) -> None:
    _title(ws, title, section.title + (f" — {subtitle}" if subtitle else ""))
    header_row = HEADER_ROW
    widths: dict[int, int] = {}
    for col, header in enumerate(section.headers, start=1):
        cell = write_cell(ws, header_row, col, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        widths[col] = display_width(header)
    for r, row in enumerate(section.rows, start=header_row + 1):
        for col, (value, fmt) in enumerate(zip(row, section.formats, strict=True), start=1):
            write_cell(ws, r, col, value, fmt)
            shown = value.value if isinstance(value, Val) else value
            widths[col] = max(
                widths[col],
                min(
                    MAX_WIDTH,
                    display_width(
                        shown.isoformat() if isinstance(shown, date) else str(shown or "")
                    ),
                ),
            )
    if section.note:
        write_cell(ws, header_row + len(section.rows) + 2, 1, section.note)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    _fit_columns(ws, widths)


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]
    while clean in used:
        clean = clean[:28] + f"_{len(used)}"
    used.add(clean)
    return clean


def _gantt(ws: Worksheet, plan: ImplementationPlan, w: Words, title: str) -> None:
    _title(
        ws,
        title,
        w(
            "甘特图（每列一周，红色为关键路径，◆ 为里程碑）",
            "Gantt chart (a column per week; red = critical path; ◆ = milestone)",
        ),
    )
    first_monday = plan.start - timedelta(days=plan.start.weekday())
    weeks = []
    week = first_monday
    while week <= plan.end:
        weeks.append(week)
        week += timedelta(days=7)
    fixed = [w("任务编号", "Task ID"), w("任务", "Task"), w("开始", "Start"), w("结束", "End")]
    header_row = 4
    for col, header in enumerate(fixed + [wk.strftime("%m-%d") for wk in weeks], start=1):
        cell = write_cell(ws, header_row, col, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    milestones = {
        max((t for t in plan.tasks if t.strategy == s.key), key=lambda t: t.end).id
        for s in plan.strategies
    }
    widths = {1: 10, 2: 10, 3: 11, 4: 11}
    for r, task in enumerate(plan.tasks, start=header_row + 1):
        name = w.text(task.name)
        write_cell(ws, r, 1, task.id)
        write_cell(ws, r, 2, name)
        write_cell(ws, r, 3, task.start, "date")
        write_cell(ws, r, 4, task.end, "date")
        widths[1] = max(widths[1], display_width(task.id))
        widths[2] = max(widths[2], display_width(name))
        for c, wk in enumerate(weeks, start=len(fixed) + 1):
            if task.start <= wk + timedelta(days=6) and task.end >= wk:
                cell = ws.cell(row=r, column=c)
                cell.fill = CRITICAL_FILL if task.critical else BAR_FILL
                if task.id in milestones and wk <= task.end <= wk + timedelta(days=6):
                    write_cell(ws, r, c, "◆").font = Font(color="FFFFFF", bold=True)
    _fit_columns(ws, widths)
    for c in range(len(fixed) + 1, len(fixed) + len(weeks) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 6
    ws.freeze_panes = ws.cell(row=header_row + 1, column=len(fixed) + 1)


def _raci_validation(ws: Worksheet, section: Section, w: Words) -> None:
    """Drop-down lists on the RACI cells, so an edited matrix keeps to R, A, C, I."""
    validation = DataValidation(
        type="list",
        formula1='"R,A,C,I,A/R"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="RACI",
        error=w("请选择 R、A、C、I 或 A/R", "Choose R, A, C, I or A/R"),
    )
    ws.add_data_validation(validation)
    if section.rows and len(section.headers) > 1:
        last = get_column_letter(len(section.headers))
        validation.add(f"B{HEADER_ROW + 1}:{last}{HEADER_ROW + len(section.rows)}")
    for row in ws.iter_rows(min_row=HEADER_ROW + 1, min_col=2):
        for cell in row:
            cell.alignment = Alignment(horizontal="center")


def build_workbook(artifact: Artifact, *, locale: Locale, programme: Programme) -> Workbook:
    """The stage's workbook: one sheet per section (and Gantt and RACI for the plan)."""
    w = Words(locale)
    title = w.text(ARTIFACT_TITLES[artifact.stage])  # type: ignore[attr-defined]
    subtitle = f"{w.text(programme.name)} · {artifact.cycle}"
    book = Workbook()
    used: set[str] = set()
    first = True
    for section in sections_for(artifact, locale, programme):
        if first:
            ws = book.active
            assert ws is not None
            ws.title = _sheet_name(section.title, used)
            first = False
        else:
            ws = book.create_sheet(_sheet_name(section.title, used))
        _section_sheet(ws, section, title, subtitle)
        if section.key == "raci":
            _raci_validation(ws, section, w)
    if isinstance(artifact, ImplementationPlan):
        _gantt(book.create_sheet(_sheet_name(w("甘特图", "Gantt"), used)), artifact, w, title)
    book.properties.title = title
    book.properties.creator = "improve"
    return book
