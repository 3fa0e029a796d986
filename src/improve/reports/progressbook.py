"""The progress workbook (执行进度跟踪表) owners fill in each week: a row per task of the plan
version with its dates, the percent planned by the report date and the last one reported;
yellow cells for the percent complete, the status (drop-down), what blocks it and a note. A
hidden `_meta` sheet names the plan version and the report date for `improve progress import`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from improve.domain.artifacts import ImplementationPlan
from improve.domain.base import ArtifactRef, Locale, Text
from improve.domain.facts import ProgressReport
from improve.domain.programme import Programme
from improve.reports import cells
from improve.reports.cells import HEADER_ROW, MAX_WIDTH, write_cell
from improve.reports.sections import Val, Words, display

FORMAT = "improve.progress-workbook"
FORMAT_VERSION = 1
META_SHEET = "_meta"
FIRST_ROW = HEADER_ROW + 1
COL_ID, COL_PERCENT, COL_STATUS, COL_BLOCKER, COL_NOTE = 1, 10, 11, 12, 13
# What owners may report; the reader accepts the code or either language's label.
STATUSES: dict[str, Text] = {
    "not_started": Text(zh="未开始", en="Not started"),
    "in_progress": Text(zh="进行中", en="In progress"),
    "blocked": Text(zh="受阻", en="Blocked"),
    "done": Text(zh="已完成", en="Done"),
}


def progress_name(as_of: date) -> str:
    """The workbook's file name for a report date."""
    return f"progress-{as_of.isoformat()}.xlsx"


def build_progress_workbook(
    plan: ImplementationPlan,
    ref: ArtifactRef,
    *,
    as_of: date,
    planned: Mapping[str, float],
    latest: Mapping[str, ProgressReport],
    locale: Locale,
    programme: Programme | None = None,
) -> Workbook:
    """The workbook for reporting progress on plan version `ref` as of `as_of`: `planned`
    is each task's percent planned by then, `latest` its last stored report (both shown
    beside the cells to fill in)."""
    w = Words(locale)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = w("进度填报", "Progress")
    name = w.text(programme.name) if programme else plan.programme
    cells.title(
        ws,
        w("执行进度跟踪表", "Progress tracking table"),
        w(
            f"{name} · {plan.cycle} · 计划 v{ref.version} · 截至 {as_of}；填写黄色单元格后运行 "
            "improve progress import 文件",
            f"{name} · {plan.cycle} · plan v{ref.version} · as of {as_of}; fill in the yellow "
            "cells, then run improve progress import FILE",
        ),
    )
    headers = [
        w("任务编号", "Task ID"),
        w("任务", "Task"),
        w("负责人", "Owner"),
        w("部门", "Department"),
        w("开始", "Start"),
        w("结束", "End"),
        w("计划完成 %", "Planned %"),
        w("上次填报 %", "Last reported %"),
        w("上次填报日期", "Last reported on"),
        w("完成 %（0–100）", "% complete (0-100)"),
        w("状态", "Status"),
        w("阻碍", "Blocker"),
        w("备注", "Note"),
    ]
    widths = {}
    for col, text in enumerate(headers, start=1):
        cells.header(ws, col, text)
        widths[col] = cells.display_width(text)
    departments = {d.key: w.text(d.name) for d in programme.departments} if programme else {}
    for r, task in enumerate(plan.tasks, start=FIRST_ROW):
        last = latest.get(task.id)
        values: list[Any] = [
            task.id,
            w.text(task.name),
            task.owner,
            departments.get(task.department, task.department),
            Val(task.start, "date"),
            Val(task.end, "date"),
            Val(planned.get(task.id), "num1"),
            Val(last.percent_complete if last else None, "num1"),
            Val(last.as_of if last else None, "date"),
        ]
        for col, value in enumerate(values, start=1):
            write_cell(ws, r, col, value)
            shown = display(value, "text")
            widths[col] = max(widths[col], min(MAX_WIDTH, cells.display_width(shown)))
        for col in (COL_PERCENT, COL_STATUS, COL_BLOCKER, COL_NOTE):
            cells.editable(ws, r, col)
    last_row = FIRST_ROW + len(plan.tasks) - 1
    percent = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="100",
        showErrorMessage=True,
        errorTitle="%",
        error=w("请输入 0 到 100 之间的数", "Enter a number from 0 to 100"),
    )
    status = DataValidation(
        type="list",
        formula1='"' + ",".join(w.text(t) for t in STATUSES.values()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=w("状态", "Status"),
        error=w("请从列表中选择", "Choose from the list"),
    )
    for validation, col in ((percent, COL_PERCENT), (status, COL_STATUS)):
        ws.add_data_validation(validation)
        letter = get_column_letter(col)
        validation.add(f"{letter}{FIRST_ROW}:{letter}{last_row}")
    for col in (COL_BLOCKER, COL_NOTE):
        widths[col] = max(widths[col], 30)
    cells.fit_columns(ws, widths)
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=3)
    cells.page_setup(ws)
    cells.protect(ws)
    meta = book.create_sheet(META_SHEET)
    rows: list[tuple[str, Any]] = [
        ("format", FORMAT),
        ("format_version", FORMAT_VERSION),
        ("plan_id", ref.artifact_id),
        ("plan_version", ref.version),
        ("as_of", as_of.isoformat()),
        ("sheet", ws.title),
    ]
    for r, (key, value) in enumerate(rows, start=1):
        write_cell(meta, r, 1, key)
        write_cell(meta, r, 2, value, "int")
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    book.properties.title = w("执行进度跟踪表", "Progress tracking table")
    book.properties.creator = "improve"
    return book
