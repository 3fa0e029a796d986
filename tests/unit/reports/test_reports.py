"""Workbooks and pages of every stage, in both languages; hostile text stays inert."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.chain import Chain

from improve.domain.artifacts import ARTIFACT_TITLES, Problem
from improve.domain.base import Artifact, Locale, Stage, Text
from improve.domain.programme import Programme
from improve.reports.page import render_index, render_page
from improve.reports.site import write_cycle_reports
from improve.reports.workbook import build_workbook

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(A1:A9)",
    "+1+2",
    "-3+4",
    "<script>alert(1)</script>",
]


def _artifacts(chain: Chain) -> dict[Stage, Artifact]:
    return {
        Stage.DIAGNOSE: chain.diagnosis,
        Stage.TARGET: chain.targets,
        Stage.DESIGN: chain.plan,
        Stage.EXECUTE: chain.execution,
        Stage.EVALUATE: chain.evaluation,
        Stage.OPTIMISE: chain.optimisation,
    }


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("stage", list(Stage))
def test_workbook_title_headers_and_frozen_panes(
    chain: Chain, programme: Programme, stage: Stage, locale: Locale, tmp_path: Path
) -> None:
    book = build_workbook(_artifacts(chain)[stage], locale=locale, programme=programme)
    path = tmp_path / "book.xlsx"
    book.save(path)
    loaded = load_workbook(path)
    title = ARTIFACT_TITLES[stage].get(locale)
    for ws in loaded.worksheets:
        assert ws["A1"].value == title
        assert ws.freeze_panes is not None and ws.freeze_panes >= "A5"
        assert ws["A4"].font.b
        assert ws.column_dimensions["A"].width >= 8


def test_number_formats_follow_the_kpi(chain: Chain, programme: Programme) -> None:
    book = build_workbook(chain.targets, locale="en", programme=programme)
    ws = book.worksheets[0]
    headers = [c.value for c in ws[4]]
    kpi_col, base_col = headers.index("KPI") + 1, headers.index("Baseline") + 1
    deadline_col = headers.index("Deadline") + 1
    for row in range(5, ws.max_row + 1):
        kpi = ws.cell(row, kpi_col).value
        fmt = ws.cell(row, base_col).number_format
        assert fmt == (
            "0.0%"
            if kpi in ("First-contact resolution", "Reopen rate", "CSAT (top-2-box)")
            else "0.0"
        ), kpi
        assert ws.cell(row, deadline_col).number_format == "yyyy-mm-dd"


def test_plan_workbook_has_gantt_and_validated_raci(chain: Chain, programme: Programme) -> None:
    book = build_workbook(chain.plan, locale="zh-CN", programme=programme)
    assert {"甘特图", "责任矩阵"} <= set(book.sheetnames)
    gantt = book["甘特图"]
    filled = [
        c
        for row in gantt.iter_rows(min_row=5, min_col=5)
        for c in row
        if c.fill.fgColor.rgb not in (None, "00000000")
    ]
    assert filled and any(c.value == "◆" for c in filled)
    raci = book["责任矩阵"]
    [validation] = raci.data_validations.dataValidation
    assert validation.formula1 == '"R,A,C,I,A/R"' and str(validation.sqref).startswith("B5")
    letters = [c.value for row in raci.iter_rows(min_row=5, min_col=2) for c in row]
    assert letters.count("A") + sum("A/" in (v or "") for v in letters) == len(chain.plan.tasks)


def _hostile_diagnosis(chain: Chain) -> Artifact:
    problem = chain.diagnosis.problems[0]
    bad = [problem.model_copy(update={"segment": s, "title": Text(zh=s, en=s)}) for s in HOSTILE]
    problems: tuple[Problem, ...] = tuple(
        p.model_copy(update={"id": f"P{i + 1}", "priority": i + 1}) for i, p in enumerate(bad)
    )
    return chain.diagnosis.model_copy(update={"problems": problems})


def test_hostile_text_is_a_text_cell_never_a_formula(
    chain: Chain, programme: Programme, tmp_path: Path
) -> None:
    book = build_workbook(_hostile_diagnosis(chain), locale="en", programme=programme)
    path = tmp_path / "hostile.xlsx"
    book.save(path)
    ws = load_workbook(path)["Problems"]
    cells = {c.value: c for row in ws.iter_rows(min_row=5) for c in row if c.value in HOSTILE}
    assert set(cells) == set(HOSTILE)
    assert all(c.data_type == "s" for c in cells.values())


def test_hostile_text_is_escaped_in_the_page(chain: Chain, programme: Programme) -> None:
    html = render_page(_hostile_diagnosis(chain), locale="en", programme=programme)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_pages_are_offline_and_in_the_locale(
    chain: Chain, programme: Programme, locale: Locale
) -> None:
    for stage, artifact in _artifacts(chain).items():
        html = render_page(artifact, locale=locale, programme=programme)
        assert f'<html lang="{locale}">' in html
        assert ARTIFACT_TITLES[stage].get(locale) in html
        assert '<script src="plotly.min.js"></script>' in html
        assert "cdn" not in html.lower() and 'src="http' not in html and 'href="http' not in html


def test_index_lists_missing_stages(programme: Programme, chain: Chain) -> None:
    html = render_index(
        programme=programme,
        cycle_key="2026-H1",
        locale="en",
        present={Stage.DIAGNOSE: (None, "pending")},
    )
    assert 'href="diagnose.html"' in html and 'href="target.html"' not in html
    assert "not produced yet" in html and "pending approval" in html


def test_index_shows_targets_and_their_achievement(programme: Programme, chain: Chain) -> None:
    html = render_index(
        programme=programme,
        cycle_key="2026-H1",
        locale="en",
        present={Stage.TARGET: (None, "approved")},
        targets=chain.targets,
        evaluation=chain.evaluation,
    )
    assert "Targets at a glance" in html
    fcr = next(r for r in chain.evaluation.results if r.kpi == "fcr_rate")
    assert fcr.achievement is not None and f"{fcr.achievement:.1%}" in html


def test_write_cycle_reports_writes_everything_atomically(
    chain: Chain, programme: Programme, tmp_path: Path
) -> None:
    arts = {s: (None, a) for s, a in _artifacts(chain).items()}
    paths = write_cycle_reports(
        tmp_path, programme=programme, cycle_key="2026-H1", artifacts=arts, locale="zh-CN"
    )
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"index.html", "plotly.min.js"} | {f"{s.value}.xlsx" for s in Stage} | {
        f"{s.value}.html" for s in Stage
    }
    assert paths.index == tmp_path / "index.html"
    js = (tmp_path / "plotly.min.js").stat().st_mtime_ns
    write_cycle_reports(
        tmp_path, programme=programme, cycle_key="2026-H1", artifacts=arts, locale="zh-CN"
    )
    assert (tmp_path / "plotly.min.js").stat().st_mtime_ns == js  # copied once
    assert not list(tmp_path.glob(".*.tmp"))
