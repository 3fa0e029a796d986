"""Read a filled-in progress workbook back (the layout of `improve.reports.progressbook`):
every reported row checked (a known task, a percentage from 0 to 100 that agrees with the
status and does not go backwards without a note, a blocker named when blocked), every
problem located by cell, all reported at once, and nothing returned unless the file is right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from openpyxl.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from improve.data.located import Located, refuse
from improve.data.readers import meta_fields, open_xlsx
from improve.domain.facts import ProgressReport
from improve.errors import InputDataError
from improve.reports.progressbook import (
    COL_BLOCKER,
    COL_ID,
    COL_NOTE,
    COL_PERCENT,
    COL_STATUS,
    FIRST_ROW,
    FORMAT,
    META_SHEET,
    STATUSES,
)

MAX_PROGRESS_BYTES = 20 << 20
MAX_ROWS = 5_000
MAX_NOTE = 2_000
MAX_BLOCKER = 500
STATUS_NAMES: dict[str, str] = {
    **{code: code for code in STATUSES},
    **{t.zh: code for code, t in STATUSES.items()},
    **{t.en.lower(): code for code, t in STATUSES.items()},
}


@dataclass(frozen=True)
class ProgressSubmission:
    """What a filled progress workbook reports: the plan version, the date, the rows."""

    plan_id: str
    plan_version: int
    as_of: date
    reports: tuple[ProgressReport, ...]


def read_progress_workbook(
    path: Path, *, known: set[str], history: Sequence[ProgressReport] = ()
) -> ProgressSubmission:
    """The reported rows; `known` are the plan's task ids, `history` the reports already
    stored (a percentage may not fall below the task's last earlier one without a note).
    InputDataError lists every located problem."""
    book = open_xlsx(path, limit=MAX_PROGRESS_BYTES, streaming=False)
    try:
        fields = _meta(path, meta_fields(book))
        sheet = str(fields["sheet"])
        if sheet not in book.sheetnames:
            raise InputDataError(
                f"{path}: the sheet {sheet!r} was deleted or renamed; write the progress "
                "workbook again with `improve progress write CONFIG`"
            )
        as_of = date.fromisoformat(str(fields["as_of"]))
        previous: dict[str, ProgressReport] = {}
        for report in sorted(history, key=lambda h: h.as_of):
            if report.as_of < as_of:
                previous[report.task_id] = report
        issues: list[Located] = []
        reports = _rows(book[sheet], as_of, known, previous, issues)
    finally:
        book.close()
    if issues:
        raise refuse(path, issues, fix="Fix the progress workbook and import it again")
    if not reports:
        raise InputDataError(
            f"{path}: no task has a report; fill in % complete or the status of the tasks "
            "you worked on and import it again"
        )
    return ProgressSubmission(
        plan_id=str(fields["plan_id"]),
        plan_version=int(str(fields["plan_version"])),
        as_of=as_of,
        reports=tuple(reports),
    )


def _meta(path: Path, fields: dict[str, object] | None) -> dict[str, object]:
    again = "write it again with `improve progress write CONFIG`"
    if fields is None:
        raise InputDataError(
            f"{path}: not a progress workbook written by improve (no {META_SHEET} sheet); {again}"
        )
    if fields.get("format") != FORMAT or not fields.get("plan_id"):
        raise InputDataError(f"{path}: sheet {META_SHEET} does not describe a progress report; "
                             f"{again}")  # fmt: skip
    try:
        int(str(fields.get("plan_version")))
        date.fromisoformat(str(fields.get("as_of")))
    except ValueError:
        raise InputDataError(f"{path}: sheet {META_SHEET} was altered; {again}") from None
    return fields


def _text(cell: Cell, limit: int, field: str, sheet: str, issues: list[Located]) -> str | None:
    text = "" if cell.value is None else str(cell.value).strip()
    if len(text) > limit:
        issues.append(
            Located(sheet, cell.coordinate, field, f"{len(text)} characters, at most {limit}")
        )
        return None
    return text or None


def _percent(cell: Cell, sheet: str, issues: list[Located]) -> float | None:
    value = cell.value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        # a cell formatted as a percentage holds 0.6 for 60%
        number = float(value) * (100 if "%" in (cell.number_format or "") else 1)
    else:
        text = str(value).strip().rstrip("%").strip()
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None or number != number:
        issues.append(
            Located(sheet, cell.coordinate, "% complete", f"{str(value)[:20]!r} is not a number")
        )
        return None
    if not 0 <= number <= 100:
        issues.append(
            Located(
                sheet,
                cell.coordinate,
                "% complete",
                f"{number:g} is impossible; a task is 0 to 100% complete",
            )
        )
        return None
    return round(number, 1)


def _rows(
    ws: Worksheet,
    as_of: date,
    known: set[str],
    previous: Mapping[str, ProgressReport],
    issues: list[Located],
) -> list[ProgressReport]:
    out = []
    sheet = ws.title
    seen: set[str] = set()
    for r in range(FIRST_ROW, min(ws.max_row, FIRST_ROW + MAX_ROWS) + 1):
        raw_id = ws.cell(r, COL_ID).value
        if raw_id is None or not str(raw_id).strip():
            continue
        tid = str(raw_id).strip()
        cell = ws.cell(r, COL_PERCENT)
        start = len(issues)
        percent = _percent(cell, sheet, issues)
        status_cell = ws.cell(r, COL_STATUS)
        status_text = "" if status_cell.value is None else str(status_cell.value).strip()
        status = STATUS_NAMES.get(status_text) or STATUS_NAMES.get(status_text.lower())
        if status_text and status is None:
            labels = ", ".join(t.zh + "/" + t.en for t in STATUSES.values())
            issues.append(
                Located(
                    sheet, status_cell.coordinate, "status", f"{status_text[:30]!r}; use {labels}"
                )
            )
        blocker = _text(ws.cell(r, COL_BLOCKER), MAX_BLOCKER, "blocker", sheet, issues)
        note = _text(ws.cell(r, COL_NOTE), MAX_NOTE, "note", sheet, issues)
        if percent is None and not status_text and len(issues) == start:
            continue  # not reported this time
        if tid not in known:
            issues.append(
                Located(sheet, f"A{r}", "task", f"task {tid!r} is not in the plan; delete the row")
            )
            continue
        if tid in seen:
            issues.append(
                Located(sheet, f"A{r}", "task", f"task {tid} is reported twice; keep one row")
            )
            continue
        seen.add(tid)
        if len(issues) > start:
            continue
        if percent is None:
            if status != "not_started":
                issues.append(
                    Located(sheet, cell.coordinate, "% complete", "empty; say how far it is")
                )
                continue
            percent = 0.0
        status = status or ("done" if percent == 100 else "in_progress" if percent else None)
        status = status or "not_started"
        problem = _disagreement(percent, status, blocker)
        if problem:
            column, reason = problem
            field = "blocker" if column == COL_BLOCKER else "status"
            issues.append(Located(sheet, ws.cell(r, column).coordinate, field, reason))
            continue
        before = previous.get(tid)
        backwards = before is not None and percent < before.percent_complete
        if backwards and before is not None and before.as_of < as_of and not note:
            issues.append(
                Located(
                    sheet,
                    cell.coordinate,
                    "% complete",
                    f"{percent:g}% goes back from {before.percent_complete:g}% reported on "
                    f"{before.as_of}; correct it, or say why in the note",
                )
            )
            continue
        out.append(
            ProgressReport(
                task_id=tid,
                as_of=as_of,
                percent_complete=percent,
                status=status,
                note=note,
                blocker=blocker if status == "blocked" else None,
            )
        )
    return out


def _disagreement(percent: float, status: str, blocker: str | None) -> tuple[int, str] | None:
    """The column and the reason when a percentage and a status cannot both be true."""
    if status == "done" and percent < 100:
        return COL_STATUS, f"status done at {percent:g}%; set 100% or another status"
    if percent == 100 and status != "done":
        return COL_STATUS, f"100% complete but status {status}; set the status to done"
    if status == "not_started" and percent > 0:
        return COL_STATUS, f"status not started at {percent:g}%; set in progress or 0%"
    if status == "blocked" and not blocker:
        return COL_BLOCKER, "blocked: say what blocks the task"
    return None
