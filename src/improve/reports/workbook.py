"""Excel workbooks (openpyxl): a sheet per section, titled, frozen, formatted; the plan adds a
Gantt sheet drawn in week cells and a RACI sheet with drop-down validation.

Every cell goes through `write_cell`, so text from data is always a text cell: stakeholders
open these files, and a note such as `=HYPERLINK(...)` must never run as a formula.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from improve.domain.artifacts import ARTIFACT_TITLES, ImplementationPlan
from improve.domain.base import Artifact, Locale, Stage
from improve.domain.programme import Programme
from improve.reports.content import sections_for
from improve.reports.sections import Fmt, Section, Val, Words, display

NUMBER_FORMATS: dict[Fmt, str] = {
    "text": "@",
    "int": "#,##0",
    "num1": "0.0",
    "num2": "0.00",
    "num3": "0.000",
    "pct": "0.0%",
    "pval": "0.000",
    "date": "yyyy-mm-dd",
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
BAR_FILL = PatternFill("solid", fgColor="5B9BD5")
CRITICAL_FILL = PatternFill("solid", fgColor="C00000")
MILESTONE_FONT = Font(color="FFFFFF", bold=True)
# A text starting with one of these is read as a formula (or DDE) by Excel and LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's limit; longer text is cut rather than corrupting the file
MAX_WIDTH = 60
HEADER_ROW = 4  # title, subtitle, a blank row, then the table
RACI_CHOICES = "R,A,C,I,A/R"  # A/R: one department both accountable and responsible


def write_cell(ws: Worksheet, row: int, column: int, value: Any, fmt: Fmt = "text") -> Cell:
    """Write one value with its number format; a str is always a text cell, never a formula.

    Characters XML cannot hold are dropped and over-long text is cut, so odd input never
    makes the workbook unwritable."""
    if isinstance(value, Val):
        value, fmt = value.value, value.fmt
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
        cell.value = text
        cell.data_type = "s"  # openpyxl itself would store '=...' as a formula
        if text.startswith(FORMULA_START):
            # the apostrophe-prefix flag: Excel and LibreOffice show it as typed, and an
            # edit of the cell keeps it text
            cell.quotePrefix = True
            cell.number_format = "@"
    elif isinstance(value, bool) or value is None:
        cell.value = value
    else:
        cell.value = value
        cell.number_format = NUMBER_FORMATS[fmt]
    return cell


def display_width(text: str) -> int:
    """Columns a text needs: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit_columns(ws: Worksheet, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(8, width + 2))


def _page_setup(ws: Worksheet) -> None:
    """Landscape, one page wide: the sheets print (and convert to PDF) legibly."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


def _title(ws: Worksheet, title: str, subtitle: str) -> None:
    write_cell(ws, 1, 1, title).font = TITLE_FONT
    write_cell(ws, 2, 1, subtitle)


def _header(ws: Worksheet, column: int, text: str) -> Cell:
    cell = write_cell(ws, HEADER_ROW, column, text)
    cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def _section_sheet(ws: Worksheet, section: Section, title: str, subtitle: str) -> None:
    _title(ws, title, section.title + (f" — {subtitle}" if subtitle else ""))
    widths: dict[int, int] = {}
    for col, header in enumerate(section.headers, start=1):
        _header(ws, col, header)
        widths[col] = display_width(header)
    for r, row in enumerate(section.rows, start=HEADER_ROW + 1):
        for col, (value, fmt) in enumerate(zip(row, section.formats, strict=True), start=1):
            write_cell(ws, r, col, value, fmt)
            shown = "" if value is None else display(value, fmt)
            widths[col] = max(widths[col], min(MAX_WIDTH, display_width(shown)))
    last_row = HEADER_ROW + len(section.rows)
    if section.note:
        write_cell(ws, last_row + 2, 1, section.note)
    if section.rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(section.headers))}{last_row}"
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    _fit_columns(ws, widths)
    _page_setup(ws)


def _sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\ and at most 31 characters."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    candidate, n = clean, 1
    while candidate.lower() in {u.lower() for u in used}:
        n += 1
        candidate = f"{clean[: 31 - len(str(n)) - 1]}_{n}"
    used.add(candidate)
    return candidate


def _weeks(plan: ImplementationPlan) -> list[date]:
    """The Monday of every week the plan touches."""
    first = min(plan.start, *(t.start for t in plan.tasks))
    last = max(plan.end, *(t.end for t in plan.tasks))
    week = first - timedelta(days=first.weekday())
    weeks = []
    while week <= last:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


def _milestone_ids(plan: ImplementationPlan) -> set[str]:
    """The last task of each strategy: when it ends, the strategy is delivered."""
    ids = set()
    for s in plan.strategies:
        tasks = [t for t in plan.tasks if t.strategy == s.key]
        if tasks:
            ids.add(max(tasks, key=lambda t: t.end).id)
    return ids


def _gantt(ws: Worksheet, plan: ImplementationPlan, w: Words, title: str, subtitle: str) -> None:
    """A bar per task drawn as filled week cells; red on the critical path, ◆ a milestone."""
    _title(
        ws,
        title,
        w(
            "甘特图（每列一周，红色为关键路径，◆ 为里程碑）",
            "Gantt chart (a column per week; red = critical path; ◆ = milestone)",
        )
        + f" — {subtitle}",
    )
    weeks = _weeks(plan)
    fixed = [
        w("任务编号", "Task ID"),
        w("任务", "Task"),
        w("开始", "Start"),
        w("结束", "End"),
        w("前置任务", "Depends on"),
    ]
    widths: dict[int, int] = {}
    for col, header in enumerate(fixed, start=1):
        _header(ws, col, header)
        widths[col] = display_width(header)
    for c, wk in enumerate(weeks, start=len(fixed) + 1):
        cell = write_cell(ws, HEADER_ROW, c, wk, "date")
        cell.number_format = "mm-dd"
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", text_rotation=90)
    milestones = _milestone_ids(plan)
    for r, task in enumerate(plan.tasks, start=HEADER_ROW + 1):
        values: list[Any] = [
            task.id,
            w.text(task.name),
            Val(task.start, "date"),
            Val(task.end, "date"),
            ", ".join(task.depends_on),
        ]
        for col, value in enumerate(values, start=1):
            write_cell(ws, r, col, value)
            widths[col] = max(widths[col], min(MAX_WIDTH, display_width(display(value, "text"))))
        for c, wk in enumerate(weeks, start=len(fixed) + 1):
            if task.start <= wk + timedelta(days=6) and task.end >= wk:
                cell = ws.cell(row=r, column=c)
                cell.fill = CRITICAL_FILL if task.critical else BAR_FILL
                if task.id in milestones and wk <= task.end <= wk + timedelta(days=6):
                    write_cell(ws, r, c, "◆").font = MILESTONE_FONT
    legend = HEADER_ROW + len(plan.tasks) + 2
    write_cell(ws, legend, 1, w("图例", "Legend")).font = Font(bold=True)
    ws.cell(row=legend, column=2).fill = CRITICAL_FILL
    write_cell(ws, legend, 3, w("关键路径", "Critical path"))
    ws.cell(row=legend + 1, column=2).fill = BAR_FILL
    write_cell(ws, legend + 1, 3, w("非关键任务", "Other task"))
    write_cell(ws, legend + 2, 2, "◆")
    write_cell(ws, legend + 2, 3, w("里程碑（策略交付）", "Milestone (strategy delivered)"))
    widths[3] = max(widths[3], 10)
    widths[4] = max(widths[4], 10)
    _fit_columns(ws, widths)
    for c in range(len(fixed) + 1, len(fixed) + len(weeks) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 4
    ws.row_dimensions[HEADER_ROW].height = 40
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=len(fixed) + 1)
    _page_setup(ws)


def _raci_validation(ws: Worksheet, section: Section, w: Words) -> None:
    """Drop-down lists on the RACI cells, so an edited matrix keeps to R, A, C, I."""
    validation = DataValidation(
        type="list",
        formula1=f'"{RACI_CHOICES}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="RACI",
        error=w("请选择 R、A、C、I 或 A/R", "Choose R, A, C, I or A/R"),
        showInputMessage=True,
        promptTitle="RACI",
        prompt=w(
            "R 执行、A 负责、C 咨询、I 知会",
            "R responsible, A accountable, C consulted, I informed",
        ),
    )
    ws.add_data_validation(validation)
    if section.rows and len(section.headers) > 1:
        last = get_column_letter(len(section.headers))
        validation.add(f"B{HEADER_ROW + 1}:{last}{HEADER_ROW + len(section.rows)}")
    for row in ws.iter_rows(
        min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(section.rows), min_col=2
    ):
        for cell in row:
            cell.alignment = Alignment(horizontal="center")


def build_workbook(
    artifact: Artifact, *, locale: Locale, programme: Programme | None = None
) -> Workbook:
    """The stage's workbook: a sheet per section; the plan's Gantt sheet sits before its RACI.

    `programme` supplies the department names and the programme name in each sheet's
    subtitle; without it the department keys and the programme key are shown."""
    w = Words(locale)
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    title = w.text(ARTIFACT_TITLES[stage])
    subtitle = f"{w.text(programme.name) if programme else artifact.programme} · {artifact.cycle}"
    book = Workbook()
    default = book.active
    used: set[str] = set()
    for section in sections_for(artifact, locale, programme):
        if section.key == "raci" and isinstance(artifact, ImplementationPlan):
            _gantt(
                book.create_sheet(_sheet_name(w("甘特图", "Gantt"), used)),
                artifact,
                w,
                title,
                subtitle,
            )
        ws = book.create_sheet(_sheet_name(section.title, used))
        _section_sheet(ws, section, title, subtitle)
        if section.key == "raci":
            _raci_validation(ws, section, w)
    if default is not None:
        book.remove(default)
    book.active = 0
    book.properties.title = title
    book.properties.creator = "improve"
    return book
