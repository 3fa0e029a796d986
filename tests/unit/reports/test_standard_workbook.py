"""The service standard's workbook and page: every module's fields round-trip through the
form sheets in both languages, an edit comes back as the edited document, a badly edited
workbook is refused with every problem located by sheet, row and column, data text stays
inert (never a formula, never markup), and the page is self-contained."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.samples import make_optimisation, make_plan

from improve.config import load_standard_template
from improve.domain.artifacts import TargetResult
from improve.domain.base import Locale, Text
from improve.domain.programme import Programme
from improve.domain.standards import Limit, StandardVersion
from improve.errors import InputDataError
from improve.reports.standards import (
    COL_EN,
    COL_PATH,
    COL_VALUE,
    COL_ZH,
    build_standard_workbook,
    read_standard_workbook,
    render_standard_page,
)
from improve.stages.standards import draft_standard

AT = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://evil.example","点我")'


def _version(programme: Programme, template: str, *, name: Text | None = None) -> StandardVersion:
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    return draft_standard(
        load_standard_template(template), make_optimisation(), [result], make_plan(),
        programme=programme, key="service-standard", author="王敏", at=AT, name=name,
    )  # fmt: skip


def _rows(path: Path) -> dict[str, tuple[str, int]]:
    """Field path -> (sheet, row) of every form row."""
    book = load_workbook(path)
    return {
        str(ws.cell(r, COL_PATH).value): (ws.title, r)
        for ws in book.worksheets
        for r in range(5, ws.max_row + 1)
        if ws.cell(r, COL_PATH).value and "." in str(ws.cell(r, COL_PATH).value)
    }


@pytest.mark.parametrize("template", ["general", "industry", "simplified"])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_field_round_trips_through_the_form_sheets(
    template: str, locale: Locale, programme: Programme, tmp_path: Path
) -> None:
    version = _version(programme, template)
    path = tmp_path / "standard.xlsx"
    build_standard_workbook(version, locale=locale, programme=programme).save(path)
    back = read_standard_workbook(path)
    assert back.document == version.document
    assert (back.programme, back.key, back.version) == ("demo", "service-standard", "V1.0")
    book = load_workbook(path)
    assert book["_meta"].sheet_state == "hidden"
    expected = 4 + len(version.document.modules)  # overview, modules, change log, reviews, meta
    assert len(book.sheetnames) == expected


def test_an_edit_comes_back_as_the_edited_document(programme: Programme, tmp_path: Path) -> None:
    version = _version(programme, "general")
    path = tmp_path / "standard.xlsx"
    build_standard_workbook(version, locale="zh-CN", programme=programme).save(path)
    rows = _rows(path)
    book = load_workbook(path)
    sheet, row = rows["standards.response_times[urgent-fault].respond.value"]
    book[sheet].cell(row, COL_VALUE).value = 10
    sheet, row = rows["standards.response_times[urgent-fault].resolve.value"]
    book[sheet].cell(row, COL_VALUE).value = None  # no resolve limit any more ...
    sheet, row = rows["standards.response_times[urgent-fault].resolve.unit"]
    book[sheet].cell(row, COL_VALUE).value = None
    sheet, row = rows["guide.scenarios[complaint].notes#2"]
    book[sheet].cell(row, COL_ZH).value = None  # ... and a note deleted
    book[sheet].cell(row, COL_EN).value = None
    book.save(path)
    document = read_standard_workbook(path).document
    assert document.standards is not None and document.guide is not None
    urgent = document.standards.response_times[0]
    assert urgent.respond == Limit(value=10, unit="min") and urgent.resolve is None
    assert len(document.guide.scenarios[0].notes) == 1


def test_a_badly_edited_workbook_is_refused_with_every_problem_located(
    programme: Programme, tmp_path: Path
) -> None:
    version = _version(programme, "general")
    path = tmp_path / "standard.xlsx"
    build_standard_workbook(version, locale="zh-CN", programme=programme).save(path)
    rows = _rows(path)
    book = load_workbook(path)
    edits = {
        "standards.response_times[urgent-fault].respond.value": (COL_VALUE, "soon"),
        "standards.response_times[routine].respond.unit": (COL_VALUE, "weeks"),
        "basic.positioning": (COL_EN, None),
        "quality.tiers[top-teams].months": (COL_VALUE, 2.5),
        "quality.weights[default].weights[csat_rate].weight": (COL_VALUE, 40),
        "standards.process[intake].name": (COL_ZH, None),
    }
    for field, (column, value) in edits.items():
        sheet, row = rows[field]
        book[sheet].cell(row, column).value = value
    sheet, row = rows["standards.process[intake].name"]
    book[sheet].cell(row, COL_EN).value = None  # both languages gone: the name is missing
    book.save(path)
    with pytest.raises(InputDataError) as refused:
        read_standard_workbook(path)
    message = str(refused.value)

    def at(field: str, column: str) -> str:
        sheet, row = rows[field]
        return f"{path}, sheet {sheet}, cell {column}{row}"

    assert "problem(s); nothing was stored" in message
    assert f"{at('standards.response_times[urgent-fault].respond.value', 'E')} " in message
    assert "'soon' is not a number" in message
    assert at("standards.response_times[routine].respond.unit", "E") in message
    assert "'weeks' is not one of min, h, working_h, working_day, day" in message
    assert at("basic.positioning", "D") in message and "English text is empty" in message
    assert at("quality.tiers[top-teams].months", "E") in message
    assert "2.5 is not a whole number" in message
    # the problems only the assembled document shows come once every cell is readable
    book = load_workbook(path)
    for field, column, value in (
        ("standards.response_times[urgent-fault].respond.value", COL_VALUE, 15),
        ("standards.response_times[routine].respond.unit", COL_VALUE, "working_h"),
        ("quality.tiers[top-teams].months", COL_VALUE, 3),
    ):
        sheet, row = rows[field]
        book[sheet].cell(row, column).value = value
    sheet, row = rows["basic.positioning"]
    book[sheet].cell(row, COL_EN).value = "A service desk"
    book.save(path)
    with pytest.raises(InputDataError) as refused:
        read_standard_workbook(path)
    message = str(refused.value)
    assert "2 problem(s)" in message
    # a rule of a whole item is located at the item's first row
    assert (
        f"{at('quality.weights[default].name', 'C')} (默认（未指定角色的团队） [default]" in message
    )
    assert "weights of default add up to 110%, not 100%" in message
    assert at("standards.process[intake].name", "C") in message and "empty; fill it in" in message


def test_a_workbook_not_written_by_improve_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    path = tmp_path / "other.xlsx"
    Workbook().save(path)
    with pytest.raises(InputDataError, match="not a standard workbook written by improve"):
        read_standard_workbook(path)


def test_data_text_stays_inert_in_the_workbook_and_the_page(
    programme: Programme, tmp_path: Path
) -> None:
    name = Text(zh=HOSTILE, en="<script>alert(1)</script>")
    version = _version(programme, "simplified", name=name)
    path = tmp_path / "standard.xlsx"
    build_standard_workbook(version, locale="zh-CN", programme=programme).save(path)
    book = load_workbook(path)
    sheet, row = _rows(path)["basic.name"]
    cell = book[sheet].cell(row, COL_ZH)
    assert cell.value == HOSTILE and cell.data_type == "s" and cell.quotePrefix
    assert book[sheet].cell(row, COL_EN).value == "<script>alert(1)</script>"
    assert read_standard_workbook(path).document.basic.name == name
    page = render_standard_page(version, locale="en", programme=programme, history=[version])
    assert "<script>" not in page and "&lt;script&gt;" in page
    head = page.split("</head>")[0]
    assert "http" not in head and "<script" not in head
    assert 'href="index.html"' in page and 'href="service-standard-V1.0.html"' in page
    for title in ("Change log", "Review record", "Response times", "Acceptance criteria"):
        assert title in page
