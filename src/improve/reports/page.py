"""HTML pages (jinja2, autoescaped): a page per stage with its charts and tables, and the
cycle's index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader

from improve.domain.artifacts import ARTIFACT_TITLES, EvaluationReport, TargetList
from improve.domain.base import Artifact, ArtifactRef, Locale, Stage, Text
from improve.domain.programme import Programme
from improve.reports.charts import charts_for
from improve.reports.content import sections_for
from improve.reports.labels import kpi_fmt, kpi_label
from improve.reports.sections import Section, Words, display, is_numeric

STAGE_NAMES = {
    Stage.DIAGNOSE: Text(zh="全面诊断", en="Diagnose"),
    Stage.TARGET: Text(zh="目标设定", en="Target"),
    Stage.DESIGN: Text(zh="方案设计", en="Design"),
    Stage.EXECUTE: Text(zh="执行落地", en="Execute"),
    Stage.EVALUATE: Text(zh="效果评估", en="Evaluate"),
    Stage.OPTIMISE: Text(zh="持续优化", en="Optimise"),
}
STATUS_NAMES = {
    "pending": Text(zh="待审批", en="pending approval"),
    "approved": Text(zh="已批准", en="approved"),
    "rejected": Text(zh="已驳回", en="rejected"),
}


@dataclass(frozen=True)
class NavLink:
    """A link in the page's navigation bar."""

    stage: str
    href: str
    label: str


@dataclass(frozen=True)
class PageLinks:
    """Where a page finds plotly.min.js (a relative folder, ending in /) and the portal's
    extra links: home (the portfolio) and the same page in the other language."""

    assets: str = ""
    home: NavLink | None = None
    alt_lang: NavLink | None = None


@cache
def environment() -> Environment:
    """The Jinja environment of every page (autoescaped)."""
    return Environment(
        loader=PackageLoader("improve.reports", "templates"),
        autoescape=True,  # every value is data; only chart fragments are marked safe
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _nav(stages: list[Stage], w: Words) -> list[NavLink]:
    """Links to the stage pages, in cycle order."""
    return [NavLink(s.value, f"{s.value}.html", w.text(STAGE_NAMES[s])) for s in stages]


def _status(status: str | None, w: Words) -> str:
    """An approval status in the locale; an unknown one as stored, a missing one as a dash."""
    if not status:
        return "—"
    return w.text(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def _lang(locale: Locale) -> str:
    return "zh-CN" if locale == "zh-CN" else "en"


def render_page(
    artifact: Artifact,
    *,
    locale: Locale,
    programme: Programme | None = None,
    ref: ArtifactRef | None = None,
    status: str | None = None,
    stages: Sequence[Stage] | None = None,
    links: PageLinks | None = None,
) -> str:
    """The stage's HTML page: charts, then one table per section.

    The page loads plotly.min.js from its own folder (or `links.assets`) and links
    index.html and the pages of `stages` (all six by default), so it belongs in the folder
    `write_cycle_reports` (or the portal) fills. `ref` and `status` add the stored version
    and approval state to the page's header."""
    w = Words(locale)
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    meta = f"{artifact.programme} / {artifact.cycle}"
    if ref is not None:
        meta += f" · {ref.artifact_id} v{ref.version} · {ref.content_hash[:12]}"
    if status:
        meta += f" · {_status(status, w)}"
    if artifact.derived_from:
        meta += (
            " · "
            + w("来源", "derived from")
            + ": "
            + ", ".join(f"{r.artifact_id} v{r.version}" for r in artifact.derived_from)
        )
    return render_sections(
        sections_for(artifact, locale, programme),
        locale=locale,
        title=w.text(ARTIFACT_TITLES[stage]),
        subtitle=f"{w.text(programme.name) if programme else artifact.programme}"
        f" · {artifact.cycle}",
        meta=meta,
        stages=list(Stage) if stages is None else list(stages),
        current=stage.value,
        charts=charts_for(artifact, w),
        links=links,
    )


def section_table(s: Section) -> dict[str, Any]:
    """A section as the page template reads it: each cell's text and whether it is a number."""
    return {
        "key": s.key,
        "title": s.title,
        "headers": s.headers,
        "note": s.note,
        "rows": [
            [
                {"text": display(v, f), "num": is_numeric(v, f)}
                for v, f in zip(row, s.formats, strict=True)
            ]
            for row in s.rows
        ],
    }


def render_sections(
    sections: Sequence[Section],
    *,
    locale: Locale,
    title: str,
    subtitle: str,
    meta: str,
    stages: Sequence[Stage],
    current: str,
    charts: Sequence[str],
    links: PageLinks | None = None,
) -> str:
    """A page of charts then a table per section, in the cycle's folder (its navigation
    links the pages of `stages` and the index, and `links` adds the portal's)."""
    w = Words(locale)
    links = links or PageLinks()
    tables = [section_table(s) for s in sections]
    return (
        environment()
        .get_template("stage.html")
        .render(
            lang=_lang(locale),
            title=title,
            subtitle=subtitle,
            meta=meta,
            nav=_nav(list(stages), w),
            current=current,
            index_label=w("总览", "Overview"),
            charts=charts,
            sections=tables,
            assets=links.assets,
            home=links.home,
            alt_lang=links.alt_lang,
        )
    )


def _headline(
    w: Words, targets: TargetList | None, evaluation: EvaluationReport | None
) -> list[dict[str, str]]:
    """One row per target: baseline, target and, once evaluated, actual and achievement."""
    if targets is None:
        return []
    results = {r.target_id: r for r in evaluation.results} if evaluation else {}
    rows = []
    for t in targets.targets:
        r = results.get(t.id)
        fmt = kpi_fmt(t.kpi)
        rows.append(
            {
                "id": t.id,
                "kpi": kpi_label(t.kpi, w),
                "baseline": display(t.baseline, fmt),
                "target": display(t.target, fmt),
                "deadline": t.deadline.isoformat(),
                "actual": display(r.actual if r else None, fmt),
                "achievement": display(r.achievement if r else None, "pct"),
                "met": "—" if r is None else ("✓" if r.met else "✗"),
            }
        )
    return rows


def render_index(
    *,
    programme: Programme,
    cycle_key: str,
    locale: Locale,
    present: Mapping[Stage, tuple[ArtifactRef | None, str | None]],
    targets: TargetList | None = None,
    evaluation: EvaluationReport | None = None,
) -> str:
    """The cycle's index: the targets at a glance, then every stage, its page and workbook,
    version and approval status."""
    w = Words(locale)
    rows = []
    for s in Stage:
        ref, status = present.get(s, (None, None))
        rows.append(
            {
                "stage": w.text(STAGE_NAMES[s]),
                "title": w.text(ARTIFACT_TITLES[s]),
                "present": s in present,
                "page": f"{s.value}.html",
                "book": f"{s.value}.xlsx",
                "artifact_id": (
                    ref.artifact_id
                    if ref
                    else "—"
                    if s in present
                    else w("尚未生成", "not produced yet")
                ),
                "version": f"v{ref.version}" if ref else "—",
                "status": _status(status, w),
            }
        )
    return (
        environment()
        .get_template("index.html")
        .render(
            lang=_lang(locale),
            title=w("改进周期总览", "Improvement cycle overview"),
            subtitle=f"{w.text(programme.name)} · {cycle_key} · "
            + w("负责人", "owner")
            + f" {programme.owner}",
            nav=_nav([s for s in Stage if s in present], w),
            current="index",
            index_label=w("总览", "Overview"),
            stages_label=w("六个阶段", "The six stages"),
            headline=_headline(w, targets, evaluation),
            headline_label=w("目标一览", "Targets at a glance"),
            headline_headers=[
                w("目标", "Target"),
                w("指标", "KPI"),
                w("基线", "Baseline"),
                w("目标值", "Target"),
                w("截止", "Deadline"),
                w("实际", "Actual"),
                w("达成率", "Achievement"),
                w("达成", "Met"),
            ],
            headers=[
                w("阶段", "Stage"),
                w("报告", "Report"),
                w("工作簿", "Workbook"),
                w("产物编号", "Artifact"),
                w("版本", "Version"),
                w("状态", "Status"),
            ],
            rows=rows,
        )
    )
