"""The progress workbook round trip: written for the plan version and a report date, filled in
by owners (in Chinese or English labels), read back with every problem located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.chain import Chain
from tests.samples import ref_of

from improve.data.progressbook import read_progress_workbook
from improve.domain.base import Locale
from improve.domain.calendar import WorkCalendar
from improve.domain.facts import ProgressReport
from improve.domain.programme import Programme
from improve.errors import InputDataError
from improve.reports.progressbook import (
    COL_BLOCKER,
    COL_NOTE,
    COL_PERCENT,
    COL_STATUS,
    FIRST_ROW,
    build_progress_workbook,
)
from improve.stages.execute import planned_percent

AS_OF = date(2026, 1, 19)


def _written(
    chain: Chain, programme: Programme, calendar: WorkCalendar, tmp_path: Path,
    locale: Locale = "zh-CN", latest: dict[str, ProgressReport] | None = None,
) -> Path:  # fmt: skip
    plan = chain.plan
    book = build_progress_workbook(
        plan,
        ref_of(plan),
        as_of=AS_OF,
        planned={t.id: planned_percent(t, AS_OF, calendar) for t in plan.tasks},
        latest=latest or {},
        locale=locale,
        programme=programme,
    )
    path = tmp_path / "progress.xlsx"
    book.save(path)
    return path


def _fill(path: Path, rows: dict[str, tuple[object, ...]]) -> None:
    """Write (percent, status, blocker, note) into the rows of the given tasks."""
    book = load_workbook(path)
    ws = book.worksheets[0]
    where = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1)}
    for tid, values in rows.items():
        for col, value in zip((COL_PERCENT, COL_STATUS, COL_BLOCKER, COL_NOTE), values,
                              strict=False):  # fmt: skip
            ws.cell(where[tid], col).value = value
    book.save(path)


def test_filled_rows_come_back_as_reports(
    chain: Chain, programme: Programme, calendar: WorkCalendar, tmp_path: Path
) -> None:
    path = _written(chain, programme, calendar, tmp_path)
    ws = load_workbook(path).worksheets[0]
    assert ws.protection.sheet and not ws.cell(FIRST_ROW, COL_PERCENT).protection.locked
    assert ws.cell(FIRST_ROW, 1).protection.locked
    _fill(
        path,
        {
            "capacity/forecast": (100, "已完成"),
            "capacity/hiring": ("40%", "受阻", "HR 招聘审批未下达", "等待 HR"),
            "smart-service/requirements": (60,),  # no status: in progress
            "remove-handoffs/map": (None, "Not started"),
        },
    )
    known = {t.id for t in chain.plan.tasks}
    got = read_progress_workbook(path, known=known)
    assert got.as_of == AS_OF and got.plan_version == 1
    by_task = {r.task_id: r for r in got.reports}
    assert set(by_task) == {
        "capacity/forecast", "capacity/hiring", "smart-service/requirements",
        "remove-handoffs/map",
    }  # fmt: skip
    assert (by_task["capacity/forecast"].percent_complete, by_task["capacity/forecast"].status) \
        == (100, "done")  # fmt: skip
    hiring = by_task["capacity/hiring"]
    assert (hiring.percent_complete, hiring.status, hiring.blocker, hiring.note) == (
        40, "blocked", "HR 招聘审批未下达", "等待 HR",
    )  # fmt: skip
    assert by_task["smart-service/requirements"].status == "in_progress"
    assert by_task["remove-handoffs/map"].percent_complete == 0


def test_every_bad_cell_is_located_and_nothing_returned(
    chain: Chain, programme: Programme, calendar: WorkCalendar, tmp_path: Path
) -> None:
    path = _written(chain, programme, calendar, tmp_path, locale="en")
    _fill(
        path,
        {
            "capacity/forecast": (120,),  # impossible
            "capacity/hiring": (50, "Blocked"),  # blocked without a blocker
            "smart-service/requirements": (80, "Done"),  # done at 80%
            "remove-handoffs/map": ("half",),  # not a number
            "skills-training/assess": (30,),  # goes back from 50% without a note
        },
    )
    history = [ProgressReport(task_id="skills-training/assess", as_of=date(2026, 1, 12),
                              percent_complete=50)]  # fmt: skip
    with pytest.raises(InputDataError) as caught:
        read_progress_workbook(path, known={t.id for t in chain.plan.tasks}, history=history)
    message = str(caught.value)
    assert "5 problem(s); nothing was stored" in message
    rows = {t.id: FIRST_ROW + i for i, t in enumerate(chain.plan.tasks)}
    for tid, column, text in (
        ("capacity/forecast", "J", "120 is impossible"),
        ("capacity/hiring", "L", "blocked: say what blocks the task"),
        ("smart-service/requirements", "K", "status done at 80%"),
        ("remove-handoffs/map", "J", "'half' is not a number"),
        ("skills-training/assess", "J", "goes back from 50% reported on 2026-01-12"),
    ):
        assert f"cell {column}{rows[tid]} " in message and text in message, (tid, message)


def test_an_empty_report_and_a_foreign_task_are_refused(
    chain: Chain, programme: Programme, calendar: WorkCalendar, tmp_path: Path
) -> None:
    path = _written(chain, programme, calendar, tmp_path)
    with pytest.raises(InputDataError, match="no task has a report"):
        read_progress_workbook(path, known={t.id for t in chain.plan.tasks})
    _fill(path, {"capacity/forecast": (10,)})
    with pytest.raises(InputDataError, match="'capacity/forecast' is not in the plan"):
        read_progress_workbook(path, known={"smart-service/test"})


def test_excel_escapes_in_a_filled_cell_read_as_excel_shows_them(
    chain: Chain, programme: Programme, calendar: WorkCalendar, tmp_path: Path
) -> None:
    """Excel saves a carriage return in a cell as `_x000D_` and the typed text `_x0041_` as
    `_x005F_x0041_`; openpyxl hands over those stored forms, the reader the text Excel
    showed (an escaped NUL, which no cell can show, is dropped)."""
    path = _written(chain, programme, calendar, tmp_path)
    stored = ("审批_x000D_\n未下达", "见 _x005F_x0041_ 号_x0000_")
    _fill(path, {"capacity/hiring": (40, "受阻", *stored)})
    [report] = read_progress_workbook(path, known={t.id for t in chain.plan.tasks}).reports
    assert (report.blocker, report.note) == ("审批\r\n未下达", "见 _x0041_ 号")
