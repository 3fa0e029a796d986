"""The 5-Why / fishbone worksheet (根因分析工作表): a sheet per diagnosed problem that its
stakeholders fill in, and the layout `improve.data.worksheet` reads back.

The engine's findings (KPI, segment, evidence, suggested category) sit in locked cells; the
answers go in unlocked cells with drop-downs and range checks, on a protected sheet, so the
layout the reader relies on survives editing in Excel or LibreOffice. A hidden `_meta` sheet
names the diagnosis version and maps each sheet to its problem's stable key.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from improve.domain.artifacts import DiagnosisReport, Problem
from improve.domain.base import ROOT_CAUSE_LABELS, ArtifactRef, Locale, RootCause
from improve.domain.kpi import KPIS
from improve.domain.review import MAX_WHYS, ProblemReview
from improve.reports.cells import (
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    TITLE_FONT,
    UNLOCKED,
    finish_book,
    write_cell,
)
from improve.reports.labels import dim_label
from improve.reports.sections import Words

FORMAT = "improve.root-cause-worksheet"
WORKSHEET_NAME = "diagnose-worksheet.xlsx"  # beside the cycle's reports
FORMAT_VERSION = 1
META_SHEET = "_meta"

# Where the answers live (column B of these rows); the reader uses the same constants.
ROW_CATEGORY = 14
ROW_FEASIBILITY = 15
ROW_REVIEWER = 16
ROW_DATE = 17
ROW_WHY = 20  # Why 1 .. Why 5 on rows 20-24
ROW_ROOT_CAUSE = ROW_WHY + MAX_WHYS
ROW_FISHBONE = 28  # one row per category, in RootCause order, causes in columns B..F
FISHBONE_COLUMNS = 5
ROW_COMMENT = ROW_FISHBONE + len(RootCause) + 1
CATEGORY_ORDER = tuple(RootCause)


def category_choices(w: Words) -> list[str]:
    """The drop-down values for the category cell, in the worksheet's language."""
    return [w.text(ROOT_CAUSE_LABELS[c]) for c in CATEGORY_ORDER]


def build_worksheet(
    report: DiagnosisReport,
    ref: ArtifactRef,
    *,
    locale: Locale,
    reviews: dict[str, ProblemReview] | None = None,
) -> Workbook:
    """The worksheet for every problem of the diagnosis version `ref`, prefilled with the
    answers already given (`reviews` by problem key), so a second round edits the first."""
    w = Words(locale)
    reviews = reviews or {}
    book = Workbook()
    default = book.active
    intro = book.create_sheet(w("说明", "Instructions"))
    _instructions(intro, report, w)
    for problem in report.problems:
        _problem_sheet(book.create_sheet(problem.id), problem, w, reviews.get(problem.key))
    meta = book.create_sheet(META_SHEET)
    fields: list[tuple[str, object]] = [
        ("format", FORMAT),
        ("format_version", FORMAT_VERSION),
        ("diagnosis_id", ref.artifact_id),
        ("diagnosis_version", ref.version),
        ("content_hash", ref.content_hash),
        ("locale", locale),
    ]
    rows = [*fields, None, ("sheet", "problem_key"), *((p.id, p.key) for p in report.problems)]
    for r, row in enumerate(rows, start=1):
        if row is not None:  # the blank row between the fields and the sheet map
            write_cell(meta, r, 1, row[0])
            write_cell(meta, r, 2, row[1], "int")
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    return finish_book(
        book,
        default,
        w("根因分析工作表（5-Why／鱼骨图）", "Root-cause worksheet (5-Why / fishbone)"),
    )


def _instructions(ws: Worksheet, report: DiagnosisReport, w: Words) -> None:
    write_cell(
        ws, 1, 1, w("根因分析工作表（5-Why／鱼骨图）", "Root-cause worksheet (5-Why / fishbone)")
    ).font = TITLE_FONT
    write_cell(
        ws,
        2,
        1,
        f"{report.programme} · {report.cycle} · {report.window_start} – {report.window_end}",
    )
    lines = [
        w(
            "每个问题一张工作表（P1、P2 …）。只填写黄色单元格，其余为诊断引擎的发现。",
            "One sheet per problem (P1, P2 ...). Fill in the yellow cells only; the rest is "
            "what the engine found.",
        ),
        w(
            "确认或更正根因类别（人员／流程／工具／资源），给出可行性评分 1（很难）到 5（容易）。",
            "Confirm or correct the root-cause category (people / process / tools / resources) "
            "and rate feasibility from 1 (hard) to 5 (easy).",
        ),
        w(
            "5-Why：从“为什么 1”起逐条作答，不要跳过；最后写出根本原因。"
            "鱼骨图：按类别写出其他成因。",
            "5-Why: answer from Why 1 on without gaps, then state the root cause. Fishbone: "
            "write further causes on the bone of their category.",
        ),
        w(
            "填写人和日期必填。完成后运行：improve rootcause import 文件 --config 方案文件",
            "Reviewer and date are required. When done, run: improve rootcause import FILE "
            "--config PROGRAMME",
        ),
    ]
    for i, line in enumerate(lines, start=4):
        write_cell(ws, i, 1, line)
    ws.column_dimensions["A"].width = 110
    write_cell(ws, len(lines) + 5, 1, w("问题", "Problems")).font = Font(bold=True)
    for i, p in enumerate(report.problems, start=len(lines) + 6):
        write_cell(ws, i, 1, f"{p.id}  {w.text(p.title)}")


def _label(ws: Worksheet, row: int, text: str, *, bold: bool = False) -> None:
    cell = write_cell(ws, row, 1, text)
    cell.font = Font(bold=bold)
    cell.alignment = Alignment(vertical="top", wrap_text=True)


def _input(ws: Worksheet, row: int, column: int, value: object = None) -> None:
    cell = write_cell(ws, row, column, value, "date" if hasattr(value, "isoformat") else "text")
    cell.fill = INPUT_FILL
    cell.protection = UNLOCKED
    cell.alignment = Alignment(vertical="top", wrap_text=True)


def _problem_sheet(ws: Worksheet, p: Problem, w: Words, review: ProblemReview | None) -> None:
    write_cell(ws, 1, 1, f"{p.id} · {w.text(p.title)}").font = TITLE_FONT
    write_cell(ws, 2, 1, w("黄色单元格由相关负责人填写", "Stakeholders fill in the yellow cells"))
    found = [
        (w("问题编号", "Problem key"), p.key),
        (w("指标", "KPI"), w.text(KPIS[p.kpi].label)),
        (w("细分", "Segment"), f"{dim_label(p.dimension, w)} = {p.segment}"),
        (w("建议根因类别", "Suggested category"), w.text(ROOT_CAUSE_LABELS[p.suggested])),
        (w("置信度", "Confidence"), f"{p.confidence:.0%}"),
        (
            w("开始于", "Started"),
            p.started.isoformat() if p.started else w("窗口前已存在", "before the window"),
        ),
        (w("差距占比", "Share of gap"), f"{p.gap_share:.0%}" if p.gap_share is not None else "—"),
        (w("证据", "Evidence"), "\n".join(w.text(e.text) for e in p.evidence)),
    ]
    for r, (label, value) in enumerate(found, start=4):
        _label(ws, r, label)
        cell = write_cell(ws, r, 2, value)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    write_cell(ws, ROW_CATEGORY - 1, 1, w("评审结论", "Review")).font = Font(bold=True)
    _label(ws, ROW_CATEGORY, w("确认根因类别", "Confirmed category"))
    _label(ws, ROW_FEASIBILITY, w("可行性评分（1 难 – 5 易）", "Feasibility (1 hard – 5 easy)"))
    _label(ws, ROW_REVIEWER, w("填写人", "Reviewer"))
    _label(ws, ROW_DATE, w("日期（YYYY-MM-DD）", "Date (YYYY-MM-DD)"))
    confirmed = review.confirmed_category if review else None
    _input(ws, ROW_CATEGORY, 2, w.text(ROOT_CAUSE_LABELS[confirmed]) if confirmed else None)
    _input(ws, ROW_FEASIBILITY, 2, review.feasibility if review else None)
    _input(ws, ROW_REVIEWER, 2, review.reviewer if review else None)
    _input(ws, ROW_DATE, 2, review.reviewed_on if review else None)

    choices = DataValidation(
        type="list",
        formula1='"' + ",".join(category_choices(w)) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=w("根因类别", "Root-cause category"),
        error=w("请选择 人员、流程、工具 或 资源", "Choose People, Process, Tools or Resources"),
    )
    rating = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="5",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=w("可行性", "Feasibility"),
        error=w("请输入 1 到 5 的整数", "Enter a whole number from 1 to 5"),
    )
    when = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="32874",  # 1990-01-01
        allow_blank=True,
        showErrorMessage=True,
        error=w("请输入日期", "Enter a date"),
    )
    for v, row in ((choices, ROW_CATEGORY), (rating, ROW_FEASIBILITY), (when, ROW_DATE)):
        ws.add_data_validation(v)
        v.add(f"B{row}")

    write_cell(ws, ROW_WHY - 1, 1, "5-Why").font = Font(bold=True)
    whys = review.whys if review else ()
    for i in range(MAX_WHYS):
        _label(ws, ROW_WHY + i, w(f"为什么 {i + 1}", f"Why {i + 1}"))
        _input(ws, ROW_WHY + i, 2, whys[i] if i < len(whys) else None)
    _label(ws, ROW_ROOT_CAUSE, w("根本原因", "Root cause"), bold=True)
    _input(ws, ROW_ROOT_CAUSE, 2, review.root_cause if review else None)

    header = write_cell(ws, ROW_FISHBONE - 1, 1, w("鱼骨图：其他成因", "Fishbone: further causes"))
    header.font, header.fill = HEADER_FONT, HEADER_FILL
    for i, category in enumerate(CATEGORY_ORDER):
        _label(ws, ROW_FISHBONE + i, w.text(ROOT_CAUSE_LABELS[category]))
        causes = review.causes_of(category) if review else ()
        for c in range(FISHBONE_COLUMNS):
            _input(ws, ROW_FISHBONE + i, 2 + c, causes[c] if c < len(causes) else None)
    _label(ws, ROW_COMMENT, w("备注", "Comment"))
    _input(ws, ROW_COMMENT, 2, review.comment if review else None)

    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 60
    for col in "CDEF":
        ws.column_dimensions[col].width = 30
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
