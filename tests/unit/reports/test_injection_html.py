"""Markup injection through the pages: hostile text planted where the pages carry text from
data and people (problem titles, segments such as a channel, team or agent, a benchmark
source, 5-Why answers, fishbone causes, a reviewer, task names and owners, progress notes,
pilot names, customer keywords, lessons, blockers, department, programme, owner and standard
names) is escaped wherever it lands: tables, headings, the <title>, the plotly charts'
titles, axis labels, annotations and hover text, and the portal's pages and search.

Statically: the page holds only the template's own tags and links, every inline script is a
plotly fragment with no `<` in it (plotly writes < > / as \\u escapes, so no `</script>` can
close it), and no string of a figure carries markup but the engine's own <b> and <br>.
In headless Chromium: no dialog, no console error, no element from the data, and the text
shows as typed, in the tables and in the charts' SVG text and hover labels."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import require_binary
from tests.samples import (
    make_diagnosis,
    make_evaluation,
    make_execution,
    make_optimisation,
    make_plan,
    make_targets,
    ref_of,
)

from improve.config import load_standard_template
from improve.domain.artifacts import DiagnosisReport, ImplementationPlan, TargetResult
from improve.domain.base import RootCause, Stage, Text
from improve.domain.meetings import DepartmentBlockers, ReviewTask, WeeklyReview
from improve.domain.portfolio import (
    ArtifactEntry,
    CycleEntry,
    DecisionEntry,
    KpiLine,
    PendingApproval,
    Portfolio,
    ProgrammeSummary,
    TaskFlag,
    VersionEntry,
)
from improve.domain.programme import Person, Programme
from improve.domain.review import FishboneCause, ProblemReview
from improve.reports.meetings import write_weekly
from improve.reports.page import render_index, render_page
from improve.reports.portal import write_portal
from improve.reports.site import PLOTLY_JS
from improve.reports.standards import render_standard_page, render_standards_index
from improve.stages.standards import draft_standard
from improve.storage.repository import StoredArtifact

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
CLOSE = "</script><script>alert(1)</script>"
JS_LINK = '<a href="javascript:alert(1)">click</a>'
LINK = '<a href="https://evil.example/">x</a>'  # plotly.js would draw this as a link
JS = "javascript:alert(1)"
TEMPLATE = "{{7*7}}"
BOLD = "<b>bold</b><br>"
HOSTILE = (SCRIPT, IMG, CLOSE, JS_LINK, LINK, JS, TEMPLATE, BOLD)
# What the templates themselves write; anything else came from the data.
TAGS = {
    "html", "head", "meta", "title", "link", "style", "script", "body", "header", "h1", "p",
    "nav", "a", "main", "section", "h2", "table", "thead", "tbody", "tr", "th", "td", "div",
}  # fmt: skip
HREF = re.compile(r"(\.\./)*[\w.-]+\.(html|xlsx)|data:,")
ENGINE_MARKUP = {"b", "br"}  # what charts.py itself writes into chart text
TITLE = f"{LINK} {CLOSE}"


class _Page(HTMLParser):
    """Tags, attributes, inline scripts and the visible text of a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            if tag == "script":
                self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in is None:
            self.text.append(data)


def _programme(programme: Programme) -> Programme:
    """Hostile programme, owner, department and person names."""
    cs, *rest = programme.departments
    cs = cs.model_copy(
        update={"name": Text(zh=SCRIPT, en=SCRIPT), "members": (*cs.members, Person(name=IMG))}
    )
    return programme.model_copy(
        update={
            "name": Text(zh=CLOSE, en=CLOSE),
            "owner": TEMPLATE,
            "departments": (cs, *rest),
        }
    )


def _diagnosis() -> DiagnosisReport:
    d = make_diagnosis(title=Text(zh=TITLE, en=TITLE), segment=IMG, source=TEMPLATE)
    drivers = {
        kpi: tuple(
            s.model_copy(update={"value": v}) for s, v in zip(rows, (JS_LINK, BOLD), strict=False)
        )
        for kpi, rows in d.drivers.items()
    }
    p1, *others = d.problems
    review = ProblemReview(
        problem_key=p1.key,
        whys=(SCRIPT, JS),
        root_cause=LINK,
        causes=(FishboneCause(category=RootCause.TOOLS, text=JS_LINK),),
        reviewer=IMG,
        reviewed_on=date(2026, 1, 9),
        comment=TEMPLATE,
    )
    return d.model_copy(
        update={"drivers": drivers, "problems": (p1.model_copy(update={"review": review}), *others)}
    )


def _plan() -> ImplementationPlan:
    plan = make_plan(task_name=JS_LINK)
    tasks = tuple(
        t.model_copy(update={"owner": IMG}) if t.name.en == JS_LINK else t for t in plan.tasks
    )
    return plan.model_copy(update={"tasks": tasks})


def _weekly(plan: ImplementationPlan) -> WeeklyReview:
    progress = make_execution(note=CLOSE).progress
    return WeeklyReview(
        programme="demo",
        cycle="2026-H1",
        period="2026-W07",
        start=date(2026, 2, 9),
        end=date(2026, 2, 15),
        plan=ref_of(plan),
        targets=ref_of(make_targets()),
        spi=0.83,
        sv_points=-7.0,
        tasks=tuple(
            ReviewTask(
                task_id=t.id,
                owner=t.owner,
                department=t.department,
                start=t.start,
                end=t.end,
                critical=t.critical,
                progress=p,
                behind_days=0,
                overdue_days=0,
                due_in_days=None,
            )
            for t, p in zip(plan.tasks, progress, strict=True)
        ),
        overdue=(),
        due_soon=(),
        look_ahead_days=5,
        blockers=(DepartmentBlockers(department="cs", blockers=((plan.tasks[2].id, SCRIPT),)),),
        kpis=(),
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, programme: Programme) -> dict[str, Path]:
    """Every kind of page improve writes, with hostile text planted, in one folder beside
    plotly.min.js."""
    hostile = _programme(programme)
    plan = _plan()
    execution = make_execution(note=CLOSE)
    pilot = execution.pilots[0].model_copy(update={"name": Text(zh=LINK, en=LINK)})
    execution = execution.model_copy(update={"pilots": (pilot,)})
    evaluation = make_evaluation()
    assert evaluation.customer is not None
    shift = evaluation.customer.faded[0].model_copy(update={"term": SCRIPT})
    evaluation = evaluation.model_copy(
        update={"customer": evaluation.customer.model_copy(update={"faded": (shift,)})}
    )
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    standard = draft_standard(
        load_standard_template("simplified"), make_optimisation(lesson=IMG), [result], plan,
        programme=hostile, key="service-standard", author=TEMPLATE,
        at=datetime(2026, 7, 6, 2, 0, tzinfo=UTC), name=Text(zh=SCRIPT, en=CLOSE),
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("hostile-pages")
    shutil.copyfile(PLOTLY_JS, folder / "plotly.min.js")
    text = {
        "diagnose": render_page(_diagnosis(), locale="en", programme=hostile),
        "design": render_page(plan, locale="en", programme=hostile),
        "execute": render_page(execution, locale="en", programme=hostile),
        "evaluate": render_page(evaluation, locale="en", programme=hostile),
        "optimise": render_page(make_optimisation(lesson=IMG), locale="zh-CN", programme=hostile),
        "index": render_index(
            programme=hostile,
            cycle_key="2026-H1",
            locale="en",
            present={Stage.DIAGNOSE: (None, "approved")},
            targets=make_targets(),
        ),
        "standard": render_standard_page(standard, locale="en", programme=hostile),
        "standards-index": render_standards_index(
            [(standard, None)], locale="zh-CN", programme=hostile
        ),
    }
    paths = {}
    for name, page in text.items():
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(page, encoding="utf-8")
    _, weekly = write_weekly(folder, _weekly(plan), locale="en", programme=hostile)
    paths["weekly"] = weekly
    return paths


def _figures(script: str) -> Iterator[Any]:
    """The data, layout and config a plotly fragment passes to Plotly.newPlot."""
    decoder = json.JSONDecoder()
    at = script.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    for _ in range(4):  # the div id, data, layout, config
        while script[at] in " \n\t,":
            at += 1
        value, at = decoder.raw_decode(script, at)
        yield value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


# Where each page shows the planted text in its tables or headings (a sample, not all).
SHOWN = {
    "diagnose": (TITLE, IMG, TEMPLATE, JS_LINK, BOLD, SCRIPT, JS, LINK, CLOSE),
    "design": (JS_LINK, IMG, SCRIPT, CLOSE),
    "execute": (CLOSE, LINK),
    "evaluate": (SCRIPT,),
    "optimise": (IMG, CLOSE),
    "index": (CLOSE, TEMPLATE),
    "standard": (CLOSE,),
    "standards-index": (SCRIPT,),
    "weekly": (SCRIPT, CLOSE, IMG),
}
# Pages whose charts carry planted text, and which.
CHARTED = {
    "diagnose": (LINK, CLOSE, IMG, JS_LINK),
    "design": (JS_LINK, IMG),
    "execute": (LINK,),
}


@pytest.mark.parametrize("name", list(SHOWN))
def test_planted_text_is_escaped_wherever_it_lands(pages: dict[str, Path], name: str) -> None:
    page = pages[name].read_text(encoding="utf-8")
    parsed = _Page(page)
    tags = {t for t, _ in parsed.tags}
    assert tags <= TAGS, tags - TAGS
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "a":
            assert HREF.fullmatch(attrs.get("href") or ""), attrs
        if tag == "link":
            assert attrs.get("href") == "data:,", attrs
    sources = [a["src"] for t, a in parsed.tags if t == "script" and a.get("src")]
    assert all(s and s.endswith("plotly.min.js") for s in sources)
    inline = [s for s in parsed.scripts if s.strip()]
    assert len(inline) == page.count("Plotly.newPlot(")  # no script but the charts'
    for script in inline:
        assert script.strip().startswith("window.PLOTLYENV")
        assert "<" not in script  # so nothing in it can close the <script> early
    text = "".join(parsed.text)
    for planted in SHOWN[name]:
        assert planted in text, f"{planted!r} is not shown as text"
        if "<" in planted:
            assert planted not in page, f"{planted!r} is in the page as markup"


@pytest.mark.parametrize("name", list(CHARTED))
def test_chart_text_carries_no_markup_from_the_data(pages: dict[str, Path], name: str) -> None:
    """Plotly.js renders a subset of HTML in chart text (<a href>, <b>, <br>, ...): every
    string of every figure holds only the engine's own <b> and <br>, and the planted text
    sits there escaped, so plotly draws it as typed."""
    parsed = _Page(pages[name].read_text(encoding="utf-8"))
    strings = [
        s
        for script in parsed.scripts
        if "Plotly.newPlot(" in script
        for figure in _figures(script)
        for s in _strings(figure)
    ]
    for s in strings:
        markup = {m.lower() for m in re.findall(r"<\s*/?\s*([A-Za-z]+)", s)}
        assert markup <= ENGINE_MARKUP, s
        assert not any(h in s for h in HOSTILE if "<" in h), s
    joined = "\n".join(strings)
    for planted in CHARTED[name]:
        assert html.escape(planted, quote=False) in joined, planted


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[Any, list[str]]]:
    """A headless Chromium context that loads files only (and lists what else was asked)."""
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        context = launched.new_context(offline=True)
        fetched: list[str] = []

        def only_files(route: Any) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                fetched.append(route.request.url)
                route.abort()

        context.route("**/*", only_files)
        yield context, fetched
        launched.close()


_SEEN = """() => ({
    title: document.title,
    text: document.body.innerText,
    embedded: document.querySelectorAll('img, iframe, object, embed, svg image').length,
    links: [...document.querySelectorAll('a')].map(
        a => a.getAttribute('href') || a.getAttribute('xlink:href') || ''),
    plotLinks: document.querySelectorAll('.js-plotly-plot a').length,
    svgText: [...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent),
})"""
# Hover over the Gantt bar of the task with the hostile name, as a mouse would.
_HOVER = """() => {
    const gd = document.getElementById('gantt');
    const curve = gd.data.findIndex(d => d.y.some(y => y.includes('javascript')));
    const point = gd.data[curve].y.findIndex(y => y.includes('javascript'));
    Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: point}]);
    const layer = gd.querySelector('.hoverlayer');
    return {text: layer.textContent, links: layer.querySelectorAll('a').length};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("name", list(SHOWN))
def test_chromium_runs_nothing_from_the_data_and_shows_it_as_typed(
    browser: tuple[Any, list[str]], pages: dict[str, Path], name: str
) -> None:
    context, fetched = browser
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def dialog(d: Any) -> None:  # alert(), confirm(), prompt(): whatever ran, say so
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(pages[name].as_uri(), wait_until="load")
    seen = page.evaluate(_SEEN)
    hover = page.evaluate(_HOVER) if name == "design" else None
    page.close()
    assert (dialogs, errors, fetched) == ([], [], [])
    assert seen["embedded"] == 0 and seen["plotLinks"] == 0
    assert all(HREF.fullmatch(h) for h in seen["links"]), seen["links"]
    for planted in SHOWN[name]:
        assert planted in seen["text"], planted
    svg = seen["svgText"]
    if name == "diagnose":
        assert f"P1 {TITLE}" in svg  # a fishbone's title, drawn as typed
        assert f"{JS_LINK[:27]}…" in svg  # a stakeholder's cause on its bone, cut short
    if name == "design":
        assert f"{JS_LINK} (smart-service/test)" in svg  # a Gantt axis label
        assert hover is not None
        assert JS_LINK in hover["text"] and IMG in hover["text"]
        assert hover["links"] == 0
    if name == "execute":
        assert any(LINK in t for t in svg)  # the pilot chart's title
    if name == "standard":
        assert seen["title"].startswith(CLOSE)  # the <title>, as typed


# --- the portal ---------------------------------------------------------------------------

# What the portal's templates add to the report pages' tags: the search box and its results,
# the sparklines, the content hashes.
PORTAL_TAGS = TAGS | {"label", "input", "ul", "li", "span", "br", "svg", "line", "polyline",
                      "circle", "code", "h3"}  # fmt: skip
PORTAL_HREF = re.compile(r"#p-[\w-]+|(\.\./)*([\w.-]+/)*[\w.-]+\.(html|xlsx)(#[\w-]+)?|data:,")


def _portfolio(hostile: Programme) -> Portfolio:
    """One programme with hostile text in every field the portal shows: its name and owner,
    a task's name, owner and department, a reviewer awaited, a version's author and a
    decision's comment."""
    diagnosis = _diagnosis()
    at = datetime(2026, 1, 9, 8, 0, tzinfo=UTC)
    flag = TaskFlag(
        task_id="capacity/hiring", name=Text(zh=JS_LINK, en=JS_LINK), owner=IMG,
        department=SCRIPT, end=date(2026, 2, 6), percent_complete=40.0, overdue_days=3,
        due_in_days=None, critical=True,
    )  # fmt: skip
    version = VersionEntry(
        version=1, status="pending", created_by=TEMPLATE, created_at=at,
        content_hash=ref_of(diagnosis).content_hash,
        decisions=(DecisionEntry(level="author", approver=IMG, decision="approved",
                                 comment=LINK, at=at),),
    )  # fmt: skip
    line = KpiLine(
        target_id="T1", kpi="frt_median_min", direction="lower", baseline=142.0, target=115.6,
        deadline=date(2026, 6, 30),
        series=((date(2026, 1, 1), 140.0), (date(2026, 2, 1), 131.0)), latest=131.0,
        latest_period=date(2026, 2, 1), expected=133.0, status="on_track",
    )  # fmt: skip
    return Portfolio(
        as_of=date(2026, 2, 9),
        programmes=(
            ProgrammeSummary(
                key=hostile.key, name=hostile.name, owner=hostile.owner, locale="en",
                cycle=diagnosis.cycle, stage=Stage.DIAGNOSE, status="pending",
                overdue=(flag,), due_soon=(),
                pending=(PendingApproval(
                    artifact_id=ref_of(diagnosis).artifact_id, stage=Stage.DIAGNOSE, version=1,
                    level="cross", awaiting=(SCRIPT, IMG), since=at,
                ),),
                kpis=(line,),
                cycles=(CycleEntry(
                    key=diagnosis.cycle, stage=Stage.DIAGNOSE, status="pending",
                    artifacts=(ArtifactEntry(stage=Stage.DIAGNOSE,
                                             artifact_id=ref_of(diagnosis).artifact_id,
                                             versions=(version,)),),
                ),),
            ),
        ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, programme: Programme) -> dict[str, Path]:
    """The portal of the hostile programme: its portfolio, cycle and version pages."""
    hostile = _programme(programme)
    diagnosis = _diagnosis()
    stored = StoredArtifact(
        ref=ref_of(diagnosis), status="pending", artifact=diagnosis,
        created_at=datetime(2026, 1, 9, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("hostile-portal") / "portal"
    write_portal(out, _portfolio(hostile), programmes={hostile.key: hostile},
                 load=lambda *_: stored, default="en")  # fmt: skip
    cycle = out / "en" / hostile.key / diagnosis.cycle
    return {
        "portfolio": out / "en" / "index.html",
        "portfolio-zh": out / "zh-CN" / "index.html",
        "cycle": cycle / "index.html",
        "version": cycle / "diagnose.html",
    }


PORTAL_SHOWN = {
    "portfolio": (CLOSE, TEMPLATE, JS_LINK, IMG, SCRIPT),
    "portfolio-zh": (CLOSE, TEMPLATE, JS_LINK, IMG, SCRIPT),
    "cycle": (CLOSE, TEMPLATE, IMG, LINK),
    "version": (TITLE, IMG, JS_LINK, CLOSE),
}


@pytest.mark.parametrize("name", list(PORTAL_SHOWN))
def test_planted_text_is_escaped_wherever_the_portal_shows_it(
    portal: dict[str, Path], name: str
) -> None:
    """Every portal page holds only its templates' tags and links; its inline scripts are
    the charts' plotly fragments, the search index as JSON (no `<` in it) and the search
    box's own code, the same on every portfolio page; the planted text is shown as text."""
    page = portal[name].read_text(encoding="utf-8")
    parsed = _Page(page)
    tags = {t for t, _ in parsed.tags}
    assert tags <= PORTAL_TAGS, tags - PORTAL_TAGS
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "a":
            assert PORTAL_HREF.fullmatch(attrs.get("href") or ""), attrs
        if tag == "script" and attrs.get("src"):
            assert attrs["src"].endswith("assets/plotly.min.js"), attrs
    for script in (s for s in parsed.scripts if s.strip()):
        if "Plotly.newPlot(" in script:
            assert script.strip().startswith("window.PLOTLYENV") and "<" not in script
        elif script.lstrip().startswith(("{", "[")):
            assert "<" not in script
            assert json.loads(script)  # the search index, data only
        else:
            assert 'document.getElementById("search-index")' in script
            assert not [h for h in HOSTILE if h in script], "data in the search code"
    text = "".join(parsed.text)
    for planted in PORTAL_SHOWN[name]:
        assert planted in text, f"{planted!r} is not shown as text"
        if "<" in planted:
            assert planted not in page, f"{planted!r} is in the page as markup"


@pytest.mark.browser
def test_chromium_searches_the_portal_and_runs_nothing_from_the_data(
    browser: tuple[Any, list[str]], portal: dict[str, Path]
) -> None:
    """Typed into the search box, a word of the planted text lists what holds it, as text
    (links are the portal's own), and nothing from the data runs."""
    context, fetched = browser
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def dialog(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(portal["portfolio"].as_uri(), wait_until="load")
    page.fill("#search", "onerror")
    found = page.evaluate(
        """() => ({
            items: [...document.querySelectorAll('#results li')].map(li => li.textContent),
            links: [...document.querySelectorAll('#results a')].map(a => a.getAttribute('href')),
            embedded: document.querySelectorAll('img, iframe, object, embed').length,
            shown: [...document.querySelectorAll('#portfolio tbody tr')]
                .filter(r => r.style.display !== 'none').length,
        })"""
    )
    page.close()
    assert (dialogs, errors, fetched) == ([], [], [])
    assert found["embedded"] == 0
    assert found["items"] and any(IMG in item for item in found["items"]), found
    assert all(PORTAL_HREF.fullmatch(h or "") for h in found["links"]), found
    assert found["shown"] == 1  # the programme's row holds the word too
