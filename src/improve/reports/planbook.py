"""The plan workbook's editable sheets: the Gantt sheet (a bar per task in week cells, red
on the critical path, ◆ at each milestone; owner, start and end editable) and the RACI
matrix (letters editable from a drop-down), plus a hidden `_meta` sheet naming the plan
version and where each task and department sits, which `improve plan import` reads back."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from improve.domain.artifacts import ImplementationPlan
from improve.domain.base import ArtifactRef
from improve.domain.programme import Programme
from improve.reports import cells
from improve.reports.cells import HEADER_ROW, INPUT_FILL, MAX_WIDTH, write_cell
from improve.reports.content import raci_matrix
from improve.reports.sections import Val, Words, display

FORMAT = "improve.plan-workbook"
FORMAT_VERSION = 1
META_SHEET = "_meta"
BAR_FILL = PatternFill("solid", fgColor="5B9BD5")
CRITICAL_FILL = PatternFill("solid", fgColor="C00000")
MILESTONE_FONT = Font(color="FFFFFF", bold=True)
RACI_CHOICES = "R,A,C,I,A/R"  # A/R: one department both accountable and responsible
# Gantt columns; the reader uses the same numbers.
COL_ID, COL_TASK, COL_OWNER, COL_DEPARTMENT, COL_START, COL_END = 1, 2, 3, 4, 5, 6
COL_DEPENDS, COL_CRITICAL, COL_SLACK = 7, 8, 9
FIRST_WEEK = 10
FIRST_ROW = HEADER_ROW + 1
MAX_LIST_CHARS = 255  # Excel's limit on an inline drop-down list


def weeks(plan: ImplementationPlan) -> list[date]:
    """The Monday of every week the plan touches."""
    first = min(plan.start, *(t.start for t in plan.tasks))
    last = max(plan.end, *(t.end for t in plan.tasks))
    week = first - timedelta(days=first.weekday())
    out = []
    while week <= last:
        out.append(week)
        week += timedelta(days=7)
    return out


def gantt_sheet(
    ws: Worksheet,
    plan: ImplementationPlan,
    w: Words,
    programme: Programme | None,
    *,
    title: str,
    subtitle: str,
) -> None:
    """A bar per task drawn as filled week cells; red on the critical path, ◆ a milestone;
    the owner, start and end cells are yellow and editable."""
    cells.title(
        ws,
        title,
        w(
            "甘特图（每列一周，红色为关键路径，◆ 为里程碑；黄色单元格可修改后导入）",
            "Gantt chart (a column per week; red = critical path; ◆ = milestone; edit the "
            "yellow cells, then import the file)",
        )
        + f" — {subtitle}",
    )
    fixed = [
        w("任务编号", "Task ID"),
        w("任务", "Task"),
        w("负责人", "Owner"),
        w("部门", "Department"),
        w("开始", "Start"),
        w("结束", "End"),
        w("前置任务", "Depends on"),
        w("关键路径", "Critical"),
        w("浮动天数", "Slack"),
    ]
    widths: dict[int, int] = {}
    for col, text in enumerate(fixed, start=1):
        cells.header(ws, col, text)
        widths[col] = cells.display_width(text)
    spans = weeks(plan)
    for c, wk in enumerate(spans, start=FIRST_WEEK):
        cell = write_cell(ws, HEADER_ROW, c, wk, "date")
        cell.number_format = "mm-dd"
        cell.font, cell.fill = cells.HEADER_FONT, cells.HEADER_FILL
        cell.alignment = Alignment(horizontal="center", text_rotation=90)
    departments = {d.key: w.text(d.name) for d in programme.departments} if programme else {}
    for r, task in enumerate(plan.tasks, start=FIRST_ROW):
        values: list[Any] = [
            task.id,
            w.text(task.name),
            task.owner,
            departments.get(task.department, task.department),
            Val(task.start, "date"),
            Val(task.end, "date"),
            ", ".join(task.depends_on),
            w("是", "yes") if task.critical else "",
            Val(task.slack_days, "int"),
        ]
        for col, value in enumerate(values, start=1):
            write_cell(ws, r, col, value)
            shown = display(value, "text")
            widths[col] = max(widths[col], min(MAX_WIDTH, cells.display_width(shown)))
        for col in (COL_OWNER, COL_START, COL_END):
            cells.editable(ws, r, col)
        for c, wk in enumerate(spans, start=FIRST_WEEK):
            if task.start <= wk + timedelta(days=6) and task.end >= wk:
                cell = ws.cell(row=r, column=c)
                cell.fill = CRITICAL_FILL if task.critical else BAR_FILL
                if task.milestone and wk <= task.end <= wk + timedelta(days=6):
                    write_cell(ws, r, c, "◆").font = MILESTONE_FONT
    last = FIRST_ROW + len(plan.tasks) - 1
    _validations(ws, programme, w, last)
    legend = last + 2
    write_cell(ws, legend, 1, w("图例", "Legend")).font = Font(bold=True)
    ws.cell(row=legend, column=2).fill = CRITICAL_FILL
    write_cell(ws, legend, 3, w("关键路径", "Critical path"))
    ws.cell(row=legend + 1, column=2).fill = BAR_FILL
    write_cell(ws, legend + 1, 3, w("非关键任务", "Other task"))
    write_cell(ws, legend + 2, 2, "◆")
    write_cell(ws, legend + 2, 3, w("里程碑（策略交付）", "Milestone (strategy delivered)"))
    ws.cell(row=legend + 3, column=2).fill = INPUT_FILL
    write_cell(
        ws,
        legend + 3,
        3,
        w(
            "可修改：负责人、开始、结束（仅限工作日）；修改后运行 improve plan import 文件",
            "Editable: owner, start, end (working days only); then run improve plan import FILE",
        ),
    )
    for col in (COL_START, COL_END):
        widths[col] = max(widths[col], 10)
    cells.fit_columns(ws, widths)
    for c in range(FIRST_WEEK, FIRST_WEEK + len(spans)):
        ws.column_dimensions[get_column_letter(c)].width = 4
    ws.row_dimensions[HEADER_ROW].height = 40
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=FIRST_WEEK)
    cells.page_setup(ws)
    cells.protect(ws)


def _validations(ws: Worksheet, programme: Programme | None, w: Words, last: int) -> None:
    """A date check on start and end, and the programme's people as the owner drop-down."""
    dates = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="DATE(2000,1,1)",
        showErrorMessage=True,
        errorTitle=w("日期", "Date"),
        error=w("请输入日期（YYYY-MM-DD）", "Enter a date (YYYY-MM-DD)"),
    )
    ws.add_data_validation(dates)
    for col in (COL_START, COL_END):
        letter = get_column_letter(col)
        dates.add(f"{letter}{FIRST_ROW}:{letter}{last}")
    names = ",".join(sorted(programme.people)) if programme else ""
    listable = all(_listable(n) for n in programme.people) if programme else False
    if names and listable and len(names) + 2 <= MAX_LIST_CHARS:
        owners = DataValidation(
            type="list",
            formula1=f'"{names}"',
            showErrorMessage=True,
            errorTitle=w("负责人", "Owner"),
            error=w("请选择项目成员", "Choose a member of the programme"),
        )
        ws.add_data_validation(owners)
        letter = get_column_letter(COL_OWNER)
        owners.add(f"{letter}{FIRST_ROW}:{letter}{last}")


def _listable(name: str) -> bool:
    """Whether a name may be an item of an inline drop-down list: no list separator or
    quote, nothing XML cannot hold, and nothing a spreadsheet might take for a formula once
    picked into the cell."""
    return (
        "," not in name
        and '"' not in name
        and not name.startswith(cells.FORMULA_START)
        and cells.cell_text(name) == name
    )


def raci_sheet(ws: Worksheet, plan: ImplementationPlan, w: Words) -> None:
    """Drop-down lists on the RACI cells, so an edited matrix keeps to R, A, C, I; the cells
    are the editable ones of the sheet."""
    departments, _ = raci_matrix(plan)
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
    last = FIRST_ROW + len(plan.tasks) - 1
    if plan.tasks and departments:
        validation.add(f"B{FIRST_ROW}:{get_column_letter(1 + len(departments))}{last}")
    for row in ws.iter_rows(
        min_row=FIRST_ROW, max_row=last, min_col=2, max_col=1 + len(departments)
    ):
        for cell in row:
            cell.alignment = Alignment(horizontal="center")
            cells.editable(ws, cell.row, cell.column)
    cells.protect(ws)


def meta_sheet(
    ws: Worksheet,
    plan: ImplementationPlan,
    ref: ArtifactRef | None,
    gantt: Worksheet,
    raci: Worksheet,
) -> None:
    """What the import needs to know: the plan version, the sheets, the row of every task
    and the column of every department."""
    departments, _ = raci_matrix(plan)
    rows: list[tuple[str, Any]] = [
        ("format", FORMAT),
        ("format_version", FORMAT_VERSION),
        ("plan_id", ref.artifact_id if ref else ""),
        ("plan_version", ref.version if ref else 0),
        ("content_hash", ref.content_hash if ref else ""),
        ("gantt_sheet", gantt.title),
        ("raci_sheet", raci.title),
        ("", None),
        ("task_id", "row"),
        *((t.id, FIRST_ROW + i) for i, t in enumerate(plan.tasks)),
        ("", None),
        ("department", "column"),
        *((key, 2 + i) for i, key in enumerate(departments)),
    ]
    for r, (name, value) in enumerate(rows, start=1):
        write_cell(ws, r, 1, name or None)
        write_cell(ws, r, 2, value, "int")
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
