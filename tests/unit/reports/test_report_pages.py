"""Stage pages and the index in both languages: offline (plotly.min.js beside the page, no
URL fetched), navigable, and inert whatever text the data holds."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from tests.samples import make_diagnosis, make_optimisation, make_plan

from improve.domain.artifacts import ARTIFACT_TITLES
from improve.domain.base import Artifact, Locale, Stage, Text
from improve.domain.programme import Programme
from improve.reports.figures import label
from improve.reports.page import render_index, render_page

SCRIPT = "<script>alert(1)</script>"
CHARTS = {
    Stage.DIAGNOSE: {
        "baseline",
        "quadrant",
        "control-0",
        "control-1",
        "fishbone-0",
        "fishbone-1",
        "fishbone-2",
    },
    Stage.TARGET: {"targets"},
    Stage.DESIGN: {"gantt"},
    Stage.EXECUTE: {"trajectory-0", "trajectory-1", "pilot-0"},
    Stage.EVALUATE: {"achievement"},
    Stage.OPTIMISE: set(),
}


class _Page(HTMLParser):
    """What a browser would load or run: script sources, inline scripts, links, elements."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self.anchors: list[str] = []
        self.tags: list[str] = []
        self.divs: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        elif tag == "link":
            self.links.append(a)
        elif tag == "a":
            self.anchors.append(a.get("href") or "")
        elif tag == "div" and a.get("id"):
            self.divs.append(a["id"] or "")
        elif tag == "html":
            self.lang = a.get("lang")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def _assert_offline(html: str, *, plotly: bool = True) -> _Page:
    """Nothing fetched from a network: no URL, no stylesheet, only plotly.min.js beside it."""
    page = _Page(html)
    sources = [s.get("src") for s in page.scripts if s.get("src")]
    assert sources == (["plotly.min.js"] if plotly else [])
    assert all(s.startswith("window.PLOTLYENV") for s in (x.strip() for x in page.inline))
    assert [link.get("rel") for link in page.links] == ["icon"]  # no stylesheet to fetch
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "cdn" not in html.lower()
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("stage", list(Stage))
def test_every_page_is_offline_in_the_locale_with_its_charts(
    artifacts: dict[Stage, Artifact], programme: Programme, stage: Stage, locale: Locale
) -> None:
    html = render_page(artifacts[stage], locale=locale, programme=programme)
    page = _assert_offline(html)
    assert page.lang == locale
    assert f"<title>{ARTIFACT_TITLES[stage].get(locale)}</title>" in html
    assert programme.name.get(locale) in html
    assert set(page.divs) == CHARTS[stage]
    assert html.count("Plotly.newPlot") == len(CHARTS[stage])
    assert page.anchors[0] == "index.html"
    assert page.anchors[1:] == [f"{s.value}.html" for s in Stage]


def test_nav_links_only_the_given_stages(artifacts: dict[Stage, Artifact]) -> None:
    html = render_page(
        artifacts[Stage.TARGET], locale="zh-CN", stages=[Stage.DIAGNOSE, Stage.TARGET]
    )
    page = _Page(html)
    assert page.anchors == ["index.html", "diagnose.html", "target.html"]
    assert 'class="current">目标设定</a>' in html


def test_tables_carry_the_content(artifacts: dict[Stage, Artifact], programme: Programme) -> None:
    diagnosis = render_page(artifacts[Stage.DIAGNOSE], locale="zh-CN", programme=programme)
    for text in ("邮件渠道首次响应超时", "流程", "人员", "工具", "62.0%", "142.0", "48,210"):
        assert text in diagnosis
    plan = render_page(artifacts[Stage.DESIGN], locale="en", programme=programme)
    assert "smart-service/research" in plan and "A/R" in plan and "Customer Service" in plan
    evaluation = render_page(artifacts[Stage.EVALUATE], locale="zh-CN")
    assert all(
        t in evaluation for t in ("120.0%", "部分成功", "B", "81.4", "同期对比", "HYPERLINK")
    )
    execution = render_page(artifacts[Stage.EXECUTE], locale="en")
    assert all(t in execution for t in ("60.0%", "Late", "Roll out", "&lt; 0.001", "93.0%"))
    optimisation = render_page(artifacts[Stage.OPTIMISE], locale="en")
    assert "Unmet target" in optimisation and "Leave slack" in optimisation


def test_script_in_data_is_escaped_in_tables_and_charts(programme: Programme) -> None:
    diagnosis = make_diagnosis(title=Text(zh=SCRIPT, en=SCRIPT), segment=SCRIPT, source=SCRIPT)
    html = render_page(diagnosis, locale="en", programme=programme)
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the tables
    # chart labels: escaped for plotly's own HTML-like text, then JSON-escaped by plotly
    assert r"P1 &lt;script&gt;alert(1)&lt;\u002fscript&gt;" in html
    page = _assert_offline(html)
    assert page.tags.count("script") == 1 + len(CHARTS[Stage.DIAGNOSE])


def test_markup_in_chart_labels_is_shown_not_rendered() -> None:
    link = '<a href="https://evil.example">x</a>'
    assert label(link) == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    html = render_page(make_plan(task_name=link), locale="en")
    _assert_offline(html)
    assert "evil.example" in html  # shown as text only


def test_hostile_text_elsewhere_is_escaped() -> None:
    html = render_page(make_optimisation(lesson='"><img src=x onerror=alert(1)>'), locale="en")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_index_links_present_stages_and_lists_the_rest(
    artifacts: dict[Stage, Artifact], programme: Programme, locale: Locale
) -> None:
    html = render_index(
        programme=programme,
        cycle_key="2026-H1",
        locale=locale,
        present={Stage.DIAGNOSE: (None, "approved"), Stage.TARGET: (None, "pending")},
        targets=artifacts[Stage.TARGET],  # type: ignore[arg-type]
    )
    page = _assert_offline(html, plotly=False)
    assert page.lang == locale
    assert set(page.anchors) == {
        "index.html",
        "diagnose.html",
        "diagnose.xlsx",
        "target.html",
        "target.xlsx",
    }
    for stage in Stage:
        assert ARTIFACT_TITLES[stage].get(locale) in html
    missing = {"zh-CN": "尚未生成", "en": "not produced yet"}[locale]
    assert html.count(missing) == 4
    assert {"zh-CN": "待审批", "en": "pending approval"}[locale] in html
    assert "115.6" in html  # the targets at a glance


def test_index_shows_achievement_once_evaluated(
    artifacts: dict[Stage, Artifact], programme: Programme
) -> None:
    html = render_index(
        programme=programme,
        cycle_key="2026-H1",
        locale="en",
        present={s: (None, "approved") for s in Stage},
        targets=artifacts[Stage.TARGET],  # type: ignore[arg-type]
        evaluation=artifacts[Stage.EVALUATE],  # type: ignore[arg-type]
    )
    assert "Targets at a glance" in html and "120.0%" in html and "41.7%" in html
