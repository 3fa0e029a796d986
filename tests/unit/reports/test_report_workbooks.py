"""Workbooks of every stage in both languages: titles, sheets, headers, frozen panes, number
formats, the plan's Gantt and RACI sheets; text from data never becomes a formula."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from tests.samples import make_diagnosis, make_execution, make_plan

from improve.domain.artifacts import ARTIFACT_TITLES
from improve.domain.base import Artifact, Locale, Stage, Text
from improve.domain.programme import Programme
from improve.reports.workbook import build_workbook, display_width, write_cell

SHEETS: dict[Stage, dict[str, list[str]]] = {
    Stage.DIAGNOSE: {
        "zh-CN": [
            "概览",
            "KPI 基线",
            "问题清单",
            "根因分析（鱼骨图）",
            "5-Why",
            "优先级",
            "差距解释",
            "差距贡献分解",
            "控制图与变化点",
            "特殊原因",
        ],
        "en": [
            "Summary",
            "KPI baseline",
            "Problems",
            "Root causes (fishbone)",
            "5-Why",
            "Priority",
            "Gap explanation",
            "Gap drivers",
            "Control charts and shifts",
            "Special causes",
        ],
    },
    Stage.TARGET: {
        "zh-CN": ["目标清单", "部门子目标", "目标分解校验"],
        "en": ["Targets", "Department sub-targets", "Cascade check"],
    },
    Stage.DESIGN: {
        "zh-CN": ["策略", "任务", "甘特图", "责任矩阵", "_meta"],
        "en": ["Strategies", "Tasks", "Gantt", "RACI", "_meta"],
    },
    Stage.EXECUTE: {
        "zh-CN": ["执行进度", "KPI 轨迹", "试点效果评估"],
        "en": ["Progress", "KPI trajectory", "Pilot evaluation"],
    },
    Stage.EVALUATE: {
        "zh-CN": [
            "目标达成",
            "同期对比与显著性",
            "客户验证",
            "评论关键词变化",
            "综合效果评定",
            "评定结论",
        ],
        "en": [
            "Achievement",
            "Significance",
            "Customer verification",
            "Comment keywords",
            "Overall rating",
            "Closure",
        ],
    },
    Stage.OPTIMISE: {
        "zh-CN": ["标准化", "遗留事项", "经验教训"],
        "en": ["Standardise", "Carry-over", "Lessons"],
    },
}
HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(A1:A9)",
    "+1+2",
    "-3+4",
    "=cmd|' /C calc'!A0",
]


def _saved(book: Workbook, tmp_path: Path, name: str = "book.xlsx") -> Workbook:
    """Save and read back, as a stakeholder's Excel would see the file."""
    path = tmp_path / name
    book.save(path)
    return load_workbook(path)


def _headers(ws: Worksheet) -> list[str]:
    return [c.value for c in ws[4] if c.value is not None]


def _column(ws: Worksheet, header: str) -> int:
    return _headers(ws).index(header) + 1


def _row_of(ws: Worksheet, column: int, value: object) -> int:
    return next(r for r in range(5, ws.max_row + 1) if ws.cell(r, column).value == value)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("stage", list(Stage))
def test_every_sheet_has_title_bold_headers_and_frozen_panes(
    artifacts: dict[Stage, Artifact],
    programme: Programme,
    stage: Stage,
    locale: Locale,
    tmp_path: Path,
) -> None:
    book = _saved(build_workbook(artifacts[stage], locale=locale, programme=programme), tmp_path)
    assert book.sheetnames == SHEETS[stage][locale]
    for ws in book.worksheets:
        if ws.sheet_state == "hidden":
            assert ws.title == "_meta"
            continue
        assert ws["A1"].value == ARTIFACT_TITLES[stage].get(locale)
        assert ws["A1"].font.b
        assert programme.name.get(locale) in ws["A2"].value
        header = ws["A4"]
        assert header.font.b and header.fill.fgColor.rgb.endswith("1F4E79")
        expected = "J5" if ws.title in ("甘特图", "Gantt") else "A5"
        assert ws.freeze_panes == expected
        assert ws.max_row > 4, f"{ws.title} has no rows"
        assert ws.column_dimensions["A"].width >= 8


def test_headers_are_in_the_locale(artifacts: dict[Stage, Artifact]) -> None:
    zh = build_workbook(artifacts[Stage.DIAGNOSE], locale="zh-CN")["问题清单"]
    en = build_workbook(artifacts[Stage.DIAGNOSE], locale="en")["Problems"]
    assert _headers(zh)[:4] == ["编号", "问题", "指标", "根因类别"]
    assert _headers(en)[:4] == ["ID", "Problem", "KPI", "Root cause"]
    assert {zh.cell(r, 4).value for r in range(5, 8)} == {"流程", "人员", "工具"}
    assert {en.cell(r, 4).value for r in range(5, 8)} == {"Process", "People", "Tools"}


def test_without_a_programme_the_keys_stand_in(artifacts: dict[Stage, Artifact]) -> None:
    ws = build_workbook(artifacts[Stage.TARGET], locale="en")["Department sub-targets"]
    assert ws["A2"].value.endswith("demo · 2026-H1")
    assert {ws.cell(r, 3).value for r in (5, 6)} == {"cs", "tech"}


def test_kpi_values_are_percent_for_rates_and_one_decimal_otherwise(
    artifacts: dict[Stage, Artifact], tmp_path: Path
) -> None:
    book = _saved(build_workbook(artifacts[Stage.DIAGNOSE], locale="en"), tmp_path)
    ws = book["KPI baseline"]
    value, gap = _column(ws, "Baseline"), _column(ws, "Gap")
    fcr = _row_of(ws, 1, "First-contact resolution")
    frt = _row_of(ws, 1, "First response, median")
    assert ws.cell(fcr, value).value == pytest.approx(0.62)
    assert ws.cell(fcr, value).number_format == "0.0%"
    assert ws.cell(fcr, gap).number_format == "0.0%"
    assert ws.cell(frt, value).number_format == "0.0"
    summary = book["Summary"]
    assert summary["B5"].number_format == "yyyy-mm-dd"
    assert summary["B5"].value.date().isoformat() == "2025-01-01"
    assert summary["B7"].value == 48_210 and summary["B7"].number_format == "#,##0"
    problems = book["Problems"]
    assert problems.cell(5, _column(problems, "Confidence")).number_format == "0.0%"


def test_dates_and_progress_percentages(artifacts: dict[Stage, Artifact]) -> None:
    tasks = build_workbook(artifacts[Stage.DESIGN], locale="en")["Tasks"]
    assert tasks.cell(5, _column(tasks, "Start")).number_format == "yyyy-mm-dd"
    progress = build_workbook(artifacts[Stage.EXECUTE], locale="en")["Progress"]
    planned = progress.cell(7, _column(progress, "Planned %"))
    assert planned.value == pytest.approx(0.6) and planned.number_format == "0.0%"
    assert progress.cell(8, _column(progress, "Actual %")).value is None  # not reported yet
    assert progress.cell(7, _column(progress, "Status")).value == "Late"
    targets = build_workbook(artifacts[Stage.TARGET], locale="zh-CN")["目标清单"]
    assert targets.cell(5, _column(targets, "截止日期")).number_format == "yyyy-mm-dd"
    assert targets.cell(6, _column(targets, "A")).value == "✗"


def test_wide_characters_count_double_in_column_widths(
    artifacts: dict[Stage, Artifact],
) -> None:
    assert display_width("首次响应") == 8 and display_width("FRT") == 3
    zh = build_workbook(artifacts[Stage.OPTIMISE], locale="zh-CN")["经验教训"]
    en = build_workbook(artifacts[Stage.OPTIMISE], locale="en")["Lessons"]
    zh_width, en_width = zh.column_dimensions["A"].width, en.column_dimensions["A"].width
    assert zh_width == display_width("供应商选型需预留缓冲") + 2
    assert en_width == len("Leave slack after vendor selection") + 2


def test_gantt_draws_a_bar_per_task_critical_in_red_with_milestones(
    artifacts: dict[Stage, Artifact],
) -> None:
    plan = artifacts[Stage.DESIGN]
    ws = build_workbook(plan, locale="en")["Gantt"]
    assert _headers(ws)[:9] == [
        "Task ID", "Task", "Owner", "Department", "Start", "End", "Depends on", "Critical", "Slack",
    ]  # fmt: skip
    assert ws.cell(4, 10).number_format == "mm-dd"
    colours: dict[str, set[str]] = {}
    milestones = set()
    for row in ws.iter_rows(min_row=5, max_row=9):
        task_id = row[0].value
        colours[task_id] = {c.fill.fgColor.rgb[-6:] for c in row[9:] if c.fill.fill_type}
        milestones |= {task_id for c in row[9:] if c.value == "◆"}
    assert colours["smart-service/research"] == {"C00000"}
    assert colours["skills-training/course"] == {"5B9BD5"}
    assert all(colours.values()), "every task has a bar"
    assert milestones == {"smart-service/launch", "skills-training/course"}
    # the four-week course fills four week columns (Mon 12 Jan - Fri 6 Feb)
    course = next(r for r in ws.iter_rows(min_row=5, max_row=9) if r[0].value.startswith("sk"))
    assert sum(1 for c in course[9:] if c.fill.fill_type) == 4
    assert ws.cell(6, 7).value == "smart-service/research"
    # owner, start and end are the editable (unlocked, yellow) cells of a protected sheet
    assert ws.protection.sheet
    editable = {
        c.column for r in ws.iter_rows(min_row=5, max_row=9) for c in r if not c.protection.locked
    }
    assert editable == {3, 5, 6}


def test_raci_has_a_drop_down_on_every_matrix_cell(
    artifacts: dict[Stage, Artifact], programme: Programme, tmp_path: Path
) -> None:
    book = _saved(build_workbook(artifacts[Stage.DESIGN], locale="zh-CN", programme=programme),
                  tmp_path)  # fmt: skip
    ws = book["责任矩阵"]
    assert _headers(ws) == ["任务", "客服部", "产品部", "技术部", "运营部"]
    [validation] = ws.data_validations.dataValidation
    assert validation.type == "list" and validation.formula1 == '"R,A,C,I,A/R"'
    assert str(validation.sqref) == "B5:E9"
    rows = [[c.value for c in row[1:5]] for row in ws.iter_rows(min_row=5, max_row=9)]
    for letters in rows:
        assert sum(v in ("A", "A/R") for v in letters) == 1
        assert any(v in ("R", "A/R") for v in letters)
    assert rows[3][0] == "A/R"  # customer service both accountable and responsible


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_a_text_cell(text: str, tmp_path: Path) -> None:
    diagnosis = make_diagnosis(title=Text(zh=text, en=text), segment=text, source=text)
    book = _saved(build_workbook(diagnosis, locale="en"), tmp_path)
    problems = book["Problems"]
    for column in ("Problem", "Segment"):
        cell = problems.cell(5, _column(problems, column))
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    source = book["KPI baseline"].cell(5, 4)
    assert (source.value, source.data_type) == (text, "s")
    with zipfile.ZipFile(tmp_path / "book.xlsx") as xlsx:
        sheets = [n for n in xlsx.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in xlsx.read(n) for n in sheets), "a formula was written"


def test_hostile_text_in_tasks_notes_and_gantt(tmp_path: Path) -> None:
    hostile = HOSTILE[0]
    plan = _saved(build_workbook(make_plan(task_name=hostile), locale="en"), tmp_path, "p.xlsx")
    cells = [c for ws in plan.worksheets for row in ws.iter_rows() for c in row]
    found = [c for c in cells if c.value == hostile]
    assert {c.parent.title for c in found} == {"Tasks", "Gantt"}
    assert all(c.data_type == "s" for c in found)
    raci = [c for c in cells if c.parent.title == "RACI" and str(c.value).endswith(hostile)]
    assert raci and raci[0].data_type == "s"
    execution = _saved(build_workbook(make_execution(note=HOSTILE[1]), locale="en"), tmp_path)
    note = execution["Progress"].cell(7, 6)
    assert (note.value, note.data_type, note.quotePrefix) == (HOSTILE[1], "s", True)


def test_write_cell_keeps_text_drops_control_characters_and_formats_numbers() -> None:
    ws = Workbook().create_sheet("x")
    assert write_cell(ws, 1, 1, "\t=1+1").quotePrefix
    assert write_cell(ws, 2, 1, "ok\x00\x07 text").value == "ok text"
    assert write_cell(ws, 3, 1, "x" * 40_000).value == "x" * 32_767
    assert write_cell(ws, 4, 1, 0.25, "pct").number_format == "0.0%"
    plain = write_cell(ws, 5, 1, "plain text")
    assert plain.data_type == "s" and not plain.quotePrefix
    assert write_cell(ws, 6, 1, None, "pct").value is None
