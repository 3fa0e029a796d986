"""The 5-Why / fishbone worksheet: written by the engine, filled in with openpyxl as a
stakeholder would, read back validated (errors located by sheet and cell), merged into the
next diagnosis."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.chain import Chain
from tests.samples import make_diagnosis, ref_of

from improve.data.worksheet import read_worksheet
from improve.domain.artifacts import DiagnosisReport
from improve.domain.base import RootCause
from improve.domain.programme import Playbook, Programme, RootCauseRules
from improve.domain.review import FishboneCause, ProblemReview
from improve.errors import InputDataError
from improve.reports.worksheet import (
    META_SHEET,
    ROW_CATEGORY,
    ROW_COMMENT,
    ROW_DATE,
    ROW_FEASIBILITY,
    ROW_FISHBONE,
    ROW_REVIEWER,
    ROW_ROOT_CAUSE,
    ROW_WHY,
    build_worksheet,
)
from improve.stages.diagnose import diagnose


def _write(report: DiagnosisReport, path: Path, locale: str = "zh-CN") -> Path:
    build_worksheet(report, ref_of(report), locale=locale).save(path)  # type: ignore[arg-type]
    return path


def _fill(path: Path, sheet: str, cells: dict[str, object]) -> None:
    book = load_workbook(path)
    for coordinate, value in cells.items():
        book[sheet][coordinate] = value
    book.save(path)


def test_the_written_sheet_shows_the_findings_and_protects_them(tmp_path: Path) -> None:
    report = make_diagnosis()
    book = load_workbook(_write(report, tmp_path / "w.xlsx"))
    assert book.sheetnames[1:] == [p.id for p in report.problems] + [META_SHEET]
    assert book[META_SHEET].sheet_state == "hidden"
    ws = book["P1"]
    assert ws.protection.sheet
    assert ws["B4"].value == report.problems[0].key
    assert ws["B4"].protection.locked  # the engine's findings stay as written
    for row in (ROW_CATEGORY, ROW_FEASIBILITY, ROW_REVIEWER, ROW_DATE, ROW_WHY, ROW_ROOT_CAUSE):
        assert not ws[f"B{row}"].protection.locked
    validations = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    assert validations[f"B{ROW_CATEGORY}"].formula1 == '"人员,流程,工具,资源"'
    assert validations[f"B{ROW_FEASIBILITY}"].type == "whole"


def test_a_filled_sheet_comes_back_as_its_review(tmp_path: Path) -> None:
    report = make_diagnosis()
    path = _write(report, tmp_path / "w.xlsx")
    _fill(
        path,
        "P2",
        {
            f"B{ROW_CATEGORY}": "流程",
            f"B{ROW_FEASIBILITY}": 4,
            f"B{ROW_REVIEWER}": "陈静",
            f"B{ROW_DATE}": datetime(2026, 1, 12),
            f"B{ROW_WHY}": "账务工单多次转派",
            f"B{ROW_WHY + 1}": "退款须经两级审批",
            f"B{ROW_WHY + 2}": "审批节点无人对时限负责",
            f"B{ROW_ROOT_CAUSE}": "退款审批流程冗余",
            f"B{ROW_FISHBONE + 1}": "审批节点多",
            f"C{ROW_FISHBONE + 2}": '=HYPERLINK("http://x")',
            f"B{ROW_COMMENT}": "与财务部确认",
        },
    )
    known = {p.key: p.id for p in report.problems}
    review = read_worksheet(path, known=known)
    assert (review.diagnosis_id, review.diagnosis_version) == ("demo/2026-H1/diagnose", 1)
    [r] = review.reviews
    assert r == ProblemReview(
        problem_key=report.problems[1].key,
        confirmed_category=RootCause.PROCESS,
        whys=("账务工单多次转派", "退款须经两级审批", "审批节点无人对时限负责"),
        root_cause="退款审批流程冗余",
        causes=(
            FishboneCause(category=RootCause.PROCESS, text="审批节点多"),
            # A formula typed into a cause is kept as the text it is, never evaluated.
            FishboneCause(category=RootCause.TOOLS, text='=HYPERLINK("http://x")'),
        ),
        feasibility=4,
        reviewer="陈静",
        reviewed_on=date(2026, 1, 12),
        comment="与财务部确认",
    )


def test_english_labels_and_codes_are_accepted_for_the_category(tmp_path: Path) -> None:
    report = make_diagnosis()
    path = _write(report, tmp_path / "w.xlsx", locale="en")
    common = {f"B{ROW_REVIEWER}": "Li Na", f"B{ROW_DATE}": "2026-01-12"}
    _fill(path, "P1", {f"B{ROW_CATEGORY}": "Tools", **common})
    _fill(path, "P3", {f"B{ROW_CATEGORY}": "resources", **common})
    review = read_worksheet(path)
    assert [r.confirmed_category for r in review.reviews] == [RootCause.TOOLS, RootCause.RESOURCES]


def test_a_badly_filled_worksheet_is_refused_with_every_error_located(tmp_path: Path) -> None:
    report = make_diagnosis()
    path = _write(report, tmp_path / "w.xlsx")
    _fill(
        path,
        "P1",
        {
            f"B{ROW_CATEGORY}": "人力",  # not a category
            f"B{ROW_FEASIBILITY}": 7,  # out of range
            f"B{ROW_DATE}": "下周一",  # not a date
            f"B{ROW_WHY}": "回复慢",
            f"B{ROW_WHY + 2}": "缺少模板",  # why 2 skipped
        },
    )
    _fill(path, "P3", {f"B{ROW_ROOT_CAUSE}": "系统老旧", f"B{ROW_DATE}": "2026-01-12"})
    with pytest.raises(InputDataError) as caught:
        read_worksheet(path)
    message = str(caught.value)
    assert "7 problem(s); nothing was stored" in message
    for where in (
        f"sheet P1, cell B{ROW_CATEGORY} (confirmed category): '人力' is not a category",
        f"sheet P1, cell B{ROW_FEASIBILITY} (feasibility): 7 is not a whole number",
        f"sheet P1, cell B{ROW_DATE} (date): '下周一' is not a date",
        f"sheet P1, cell B{ROW_WHY + 1} (why 2): empty while why 3 is answered",
        f"sheet P1, cell B{ROW_REVIEWER} (reviewer): empty",
        f"sheet P3, cell B{ROW_WHY} (why 1): a root cause is given without a why chain",
        f"sheet P3, cell B{ROW_REVIEWER} (reviewer): empty",
    ):
        assert where in message
    assert str(path) in message


def test_a_worksheet_of_another_diagnosis_or_no_worksheet_is_refused(tmp_path: Path) -> None:
    report = make_diagnosis()
    path = _write(report, tmp_path / "w.xlsx")
    _fill(path, "P1", {f"B{ROW_CATEGORY}": "工具", f"B{ROW_REVIEWER}": "李娜",
                       f"B{ROW_DATE}": "2026-01-12"})  # fmt: skip
    with pytest.raises(InputDataError, match=r"sheet P1, cell A4 \(problem\).*not in the current"):
        read_worksheet(path, known={"people/agent/someone": "P1"})
    plain = tmp_path / "plain.xlsx"
    book = load_workbook(path)
    del book[META_SHEET]
    book.save(plain)
    with pytest.raises(InputDataError, match="not a root-cause worksheet written by improve"):
        read_worksheet(plain)
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputDataError, match="not an XLSX workbook"):
        read_worksheet(tmp_path / "fake.xlsx")


def test_an_untouched_worksheet_has_no_answer(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="no problem sheet has an answer"):
        read_worksheet(_write(make_diagnosis(), tmp_path / "w.xlsx"))


def test_answers_are_prefilled_in_the_next_worksheet(tmp_path: Path) -> None:
    report = make_diagnosis()
    path = _write(report, tmp_path / "w.xlsx")
    _fill(path, "P2", {f"B{ROW_CATEGORY}": "流程", f"B{ROW_WHY}": "多次转派",
                       f"B{ROW_REVIEWER}": "陈静", f"B{ROW_DATE}": "2026-01-12"})  # fmt: skip
    first = read_worksheet(path)
    again = tmp_path / "again.xlsx"
    reviews = {r.problem_key: r for r in first.reviews}
    build_worksheet(report, ref_of(report), locale="zh-CN", reviews=reviews).save(again)
    assert read_worksheet(again) == first


def test_the_next_diagnosis_merges_the_answers(
    chain: Chain, programme: Programme, playbook: Playbook, rules: RootCauseRules
) -> None:
    """Stakeholders correct one category and rate feasibility: the next version carries the
    corrected category (and its strategy), the rating, the 5-Why, and reorders priorities."""
    before = chain.diagnosis
    web = next(p for p in before.problems if p.segment == "web")
    assert web.category == RootCause.TOOLS and web.feasibility_source == "playbook"
    review = ProblemReview(
        problem_key=web.key,
        confirmed_category=RootCause.PROCESS,
        whys=("网页工单需要多次追问", "表单缺少必填字段"),
        root_cause="表单上线前未经客服评审",
        feasibility=5,
        reviewer="刘洋",
        reviewed_on=date(2026, 1, 12),
    )
    after = diagnose(chain.facts, programme=programme, playbook=playbook, rules=rules,
                     reviews=[review])  # fmt: skip
    merged = next(p for p in after.problems if p.key == web.key)
    assert merged.category == RootCause.PROCESS and merged.suggested == RootCause.TOOLS
    assert merged.strategy == playbook.for_problem(RootCause.PROCESS, merged.kpi).key
    assert merged.feasibility == 1.0 and merged.feasibility_source == "stakeholders"
    assert merged.review == review
    assert {p.key for p in after.problems} == {p.key for p in before.problems}
    assert merged.priority <= web.priority
    untouched = [p for p in after.problems if p.key != web.key]
    assert all(p.review is None and p.category == p.suggested for p in untouched)
