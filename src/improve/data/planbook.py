"""Read an edited plan workbook back (the layout of `improve.reports.planbook`): each task's
owner, start and end from the Gantt sheet and its RACI letters, every unreadable cell
located, and where each task's fields sit so the plan rules' findings can be located too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from improve.data.located import Located, refuse
from improve.data.readers import open_xlsx
from improve.domain.artifacts import RaciLetter
from improve.domain.plan_edit import PlanEdits, PlanIssue, TaskEdit
from improve.errors import InputDataError
from improve.reports.planbook import (
    COL_END,
    COL_ID,
    COL_OWNER,
    COL_START,
    FIRST_ROW,
    FORMAT,
    FORMAT_VERSION,
    META_SHEET,
)

MAX_PLAN_BYTES = 20 << 20
MAX_ROWS = 5_000
LETTERS: dict[str, tuple[RaciLetter, ...]] = {
    "R": ("R",),
    "A": ("A",),
    "C": ("C",),
    "I": ("I",),
    "A/R": ("A", "R"),
    "R/A": ("A", "R"),
}
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class PlanWorkbook:
    """What an edited plan workbook says: the plan version it was written from, the edits
    and the cell of every task field."""

    plan_id: str
    plan_version: int
    content_hash: str
    edits: PlanEdits
    cells: dict[tuple[str, str], tuple[str, str]]

    def locate(self, issue: PlanIssue) -> Located:
        """The sheet and cell a plan rule's finding points at."""
        sheet, cell = self.cells.get(
            (issue.task_id, issue.field),
            self.cells.get((issue.task_id, "row"), ("—", "—")),
        )
        return Located(sheet, cell, issue.field.replace("raci:", "RACI ").strip(), issue.message)


def read_plan_workbook(path: Path) -> PlanWorkbook:
    """The edits in a plan workbook; InputDataError lists every unreadable cell at once."""
    book = open_xlsx(path, limit=MAX_PLAN_BYTES, streaming=False)
    try:
        meta = _meta(path, book)
        issues: list[Located] = []
        cells: dict[tuple[str, str], tuple[str, str]] = {}
        tasks = _gantt(book, meta, issues, cells)
        raci = _raci(book, meta, issues, cells)
    finally:
        book.close()
    if issues:
        raise refuse(path, issues, fix="Fix the plan workbook and import it again")
    return PlanWorkbook(
        plan_id=str(meta.fields["plan_id"]),
        plan_version=int(str(meta.fields["plan_version"])),
        content_hash=str(meta.fields["content_hash"]),
        edits=PlanEdits(tasks=tasks, raci=raci),
        cells=cells,
    )


@dataclass(frozen=True)
class _Meta:
    fields: dict[str, object]
    tasks: list[str]
    departments: dict[str, int]
    gantt: str
    raci: str


def _meta(path: Path, book: Workbook) -> _Meta:
    again = "write the plan workbook again with `improve plan CONFIG --out FILE`"
    if META_SHEET not in book.sheetnames:
        raise InputDataError(
            f"{path}: not a plan workbook written by improve (no {META_SHEET} sheet); {again}"
        )
    fields: dict[str, object] = {}
    tasks: list[str] = []
    departments: dict[str, int] = {}
    section = "fields"
    for first, second in book[META_SHEET].iter_rows(max_col=2, max_row=MAX_ROWS, values_only=True):
        if first in ("task_id", "department"):
            section = str(first)
        elif first is None:
            continue
        elif section == "task_id":
            tasks.append(str(first))
        elif section == "department":
            departments[str(first)] = int(cast(int, second))
        else:
            fields[str(first)] = second
    gantt, raci = str(fields.get("gantt_sheet")), str(fields.get("raci_sheet"))
    if (
        fields.get("format") != FORMAT
        or str(fields.get("format_version")) != str(FORMAT_VERSION)
        or not tasks
        or not fields.get("plan_id")
    ):
        raise InputDataError(f"{path}: sheet {META_SHEET} does not describe a plan; {again}")
    for sheet in (gantt, raci):
        if sheet not in book.sheetnames:
            raise InputDataError(f"{path}: the sheet {sheet!r} was deleted or renamed; {again}")
    try:
        int(str(fields.get("plan_version")))
    except ValueError:
        raise InputDataError(
            f"{path}: sheet {META_SHEET}: the plan version was altered; {again}"
        ) from None
    return _Meta(fields, tasks, departments, gantt, raci)


def _rows_by_task(
    ws: Worksheet, known: list[str], issues: list[Located], head: bool
) -> dict[str, int]:
    """The row of every task on a sheet, found by its id in column A (so sorting the rows
    is harmless); a missing or foreign task is an issue."""
    rows: dict[str, int] = {}
    for r in range(FIRST_ROW, min(ws.max_row, FIRST_ROW + MAX_ROWS) + 1):
        value = ws.cell(row=r, column=COL_ID).value
        if value is None:
            continue
        text = str(value).strip()
        tid = text.split(" ", 1)[0] if head else text
        if tid in known and tid in rows:
            issues.append(
                Located(ws.title, f"A{r}", "task", f"task {tid} has two rows; delete one")
            )
        elif tid in known:
            rows[tid] = r
        elif "/" in tid:
            issues.append(
                Located(
                    ws.title, f"A{r}", "task", f"task {tid!r} is not in the plan; delete the row"
                )
            )
    for tid in known:
        if tid not in rows:
            issues.append(
                Located(ws.title, "—", "task", f"the row of task {tid} was deleted; restore it")
            )
    return rows


def _gantt(
    book: Workbook,
    meta: _Meta,
    issues: list[Located],
    cells: dict[tuple[str, str], tuple[str, str]],
) -> dict[str, TaskEdit]:
    ws = book[meta.gantt]
    out = {}
    for tid, r in _rows_by_task(ws, meta.tasks, issues, head=False).items():
        cells[(tid, "row")] = (ws.title, f"A{r}")
        for name, col in (("owner", COL_OWNER), ("start", COL_START), ("end", COL_END)):
            cells[(tid, name)] = (ws.title, f"{get_column_letter(col)}{r}")
        owner = ws.cell(row=r, column=COL_OWNER).value
        start = _date(ws, r, COL_START, "start", issues)
        end = _date(ws, r, COL_END, "end", issues)
        name = "" if owner is None else str(owner).strip()
        if not name:
            issues.append(
                Located(
                    ws.title,
                    f"{get_column_letter(COL_OWNER)}{r}",
                    "owner",
                    "empty; name the task's owner",
                )
            )
        if start and end and name:
            out[tid] = TaskEdit(start=start, end=end, owner=name)
    return out


def _date(ws: Worksheet, row: int, column: int, field: str, issues: list[Located]) -> date | None:
    cell = ws.cell(row=row, column=column)
    value = cell.value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 200_000:
        return EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    shown = "empty" if value in (None, "") else f"{str(value)[:40]!r} is not a date"
    issues.append(Located(ws.title, cell.coordinate, field, f"{shown}; write a date as YYYY-MM-DD"))
    return None


def _raci(
    book: Workbook,
    meta: _Meta,
    issues: list[Located],
    cells: dict[tuple[str, str], tuple[str, str]],
) -> dict[str, dict[str, tuple[RaciLetter, ...]]]:
    ws = book[meta.raci]
    out: dict[str, dict[str, tuple[RaciLetter, ...]]] = {}
    for tid, r in _rows_by_task(ws, meta.tasks, issues, head=True).items():
        cells[(tid, "raci:")] = (ws.title, f"A{r}")
        letters: dict[str, tuple[RaciLetter, ...]] = {}
        for department, col in meta.departments.items():
            cell = ws.cell(row=r, column=col)
            cells[(tid, f"raci:{department}")] = (ws.title, cell.coordinate)
            text = "" if cell.value is None else str(cell.value).strip().upper()
            text = text.replace("／", "/").replace(" ", "")
            if not text:
                continue
            if text not in LETTERS:
                issues.append(
                    Located(
                        ws.title,
                        cell.coordinate,
                        f"RACI {department}",
                        f"{str(cell.value)[:20]!r} is not a RACI letter; use R, A, C, I or A/R",
                    )
                )
                continue
            letters[department] = LETTERS[text]
        out[tid] = letters
    return out
