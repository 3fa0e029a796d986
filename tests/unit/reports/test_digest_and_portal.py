"""The digest's Markdown and page keep people's text inert; the portal's sparklines draw
better as up; the portal never replaces a folder it did not make."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from improve.domain.base import Stage, Text
from improve.domain.portfolio import Digest, KpiAlert, KpiLine, PendingApproval, Portfolio, TaskFlag
from improve.errors import ReportError
from improve.reports.digest import digest_markdown, digest_page, digest_subject
from improve.reports.portal import sparkline, write_portal

HOSTILE = "<script>alert(1)</script> [x](javascript:alert(1)) | **b**"


def _digest() -> Digest:
    task = TaskFlag(task_id="s/t", name=Text(zh=HOSTILE, en=HOSTILE), owner="<b>o</b>",
                    department="cs", end=date(2026, 2, 9), percent_complete=60.0,
                    overdue_days=1, due_in_days=None, critical=True)  # fmt: skip
    return Digest(
        programme="demo",
        name=Text(zh="演示 <i>", en="Demo <i>"),
        cycle="2026-H1",
        period="2026-W07",
        as_of=date(2026, 2, 15),
        pending=(
            PendingApproval(
                artifact_id="demo/2026-H1/target",
                stage=Stage.TARGET,
                version=2,
                level="cross",
                awaiting=("李娜", HOSTILE),
                since=datetime(2026, 2, 10, tzinfo=UTC),
            ),
        ),
        overdue=(task,),
        due_soon=(),
        alerts=(
            KpiAlert(
                target_id="T1",
                kpi="fcr_rate",
                kind="off_path",
                period="2026-W07",
                actual=0.55,
                expected=0.6,
                target=0.66,
            ),
        ),
        sources=("weekly 2026-W07 v1",),
    )


def test_the_digest_keeps_text_inert() -> None:
    digest = _digest()
    md = digest_markdown(digest, locale="en")
    assert "<script>" not in md and "<b>" not in md and "[x](javascript" not in md
    assert "1 working day overdue" in md and "55.0%" in md and "60.0%" in md
    assert "## Pending approvals (1)" in md and "cross-department review" in md
    page = digest_page(digest, locale="zh-CN")
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&amp;lt;" not in page
    assert digest_subject(digest, "en").startswith("Demo <i> 2026-W07: 1 pending approval(s)")
    assert not digest.quiet
    quiet = digest.model_copy(update={"pending": (), "overdue": (), "alerts": ()})
    assert "Nothing needs action this week." in digest_markdown(quiet, locale="en")


def _line(direction: str, values: list[float], target: float) -> KpiLine:
    months = [date(2025, m, 1) for m in range(1, len(values) + 1)]
    return KpiLine(target_id="T1", kpi="frt_median_min", direction=direction,  # type: ignore[arg-type]
                   baseline=values[0], target=target, deadline=date(2026, 6, 30),
                   series=tuple(zip(months, values, strict=True)), latest=values[-1],
                   latest_period=months[-1], expected=None, status="unknown")  # fmt: skip


def test_sparklines_draw_better_as_up() -> None:
    """SVG y grows downwards: an improving KPI ends higher (smaller y) whichever way it
    improves, and the target line sits at the top when it is the best value."""
    for direction, values, target in (("lower", [80.0, 70.0, 60.0], 55.0),
                                      ("higher", [0.5, 0.6, 0.7], 0.75)):  # fmt: skip
        spark = sparkline(_line(direction, values, target))
        assert spark is not None
        ys = [float(p.split(",")[1]) for p in spark["points"].split()]
        assert ys == sorted(ys, reverse=True) and spark["target_y"] < ys[-1]
    assert sparkline(_line("lower", [80.0], 55.0)) is None


def test_the_portal_leaves_a_foreign_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep", encoding="utf-8")
    empty = Portfolio(as_of=date(2026, 2, 15), programmes=())
    with pytest.raises(ReportError, match="is not a portal folder"):
        write_portal(tmp_path, empty, programmes={}, load=lambda *_: None)  # type: ignore[arg-type,return-value]
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
    site = tmp_path / "site"
    paths = write_portal(site, empty, programmes={}, load=lambda *_: None)  # type: ignore[arg-type,return-value]
    assert paths.pages == 2 and (site / "assets" / "plotly.min.js").exists()
    assert "No programme is stored yet" in (site / "en" / "index.html").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".site.*"))  # no temporary folder left behind
