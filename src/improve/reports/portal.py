"""The portal: a static site over every programme in the store, in zh-CN and en, that
works opened from a file share (no server, no network): a portfolio page with a search
box, a page per cycle listing every artifact version and its review, and each version's
stage page.

It is built in a temporary folder beside `out` and swapped in, so readers see the old
portal or the new one, and files of versions or programmes no longer stored disappear."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from improve.domain.artifacts import ARTIFACT_TITLES
from improve.domain.base import Locale, Stage, Text
from improve.domain.gate import LEVEL_TITLES
from improve.domain.portfolio import (
    ArtifactEntry,
    CycleEntry,
    KpiLine,
    Portfolio,
    ProgrammeSummary,
    TaskFlag,
)
from improve.domain.programme import Programme
from improve.errors import ReportError
from improve.reports import temps
from improve.reports.labels import kpi_fmt, kpi_label, task_timing
from improve.reports.page import (
    STAGE_NAMES,
    STATUS_NAMES,
    NavLink,
    PageLinks,
    environment,
    render_page,
)
from improve.reports.sections import Words, display
from improve.reports.site import PLOTLY_JS
from improve.storage.repository import StoredArtifact

LOCALES: tuple[Locale, ...] = ("zh-CN", "en")
MARKER = ".improve-portal"  # marks a folder the portal owns (and may replace)
KPI_STATUS = {
    "met": Text(zh="已达成", en="met"),
    "not_met": Text(zh="未达成", en="not met"),
    "on_track": Text(zh="在路径上", en="on track"),
    "off_track": Text(zh="偏离路径", en="off track"),
    "unknown": Text(zh="暂无数据", en="no data yet"),
}
SPARK_WIDTH, SPARK_HEIGHT = 120, 28

Loader = Callable[[str, int], StoredArtifact]


@dataclass(frozen=True)
class PortalPaths:
    """What `write_portal` wrote: the root page and how many pages per language."""

    root: Path
    pages: int


def _other(locale: Locale) -> Locale:
    return "en" if locale == "zh-CN" else "zh-CN"


def _lang_link(locale: Locale, path: str) -> NavLink:
    """The same page in the other language (`path` from the language folder)."""
    other = _other(locale)
    return NavLink(other, path, "English" if other == "en" else "中文")


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _status(status: str | None, w: Words) -> str:
    return w.text(STATUS_NAMES[status]) if status in STATUS_NAMES else "—"


def _stage(stage: Stage | None, w: Words) -> str:
    return w.text(STAGE_NAMES[stage]) if stage else w("尚未开始", "not started")


def version_file(entry: ArtifactEntry, version: int) -> str:
    """The page of a version: `<stage>.html` for the latest (the stage pages' navigation
    links it), `<stage>-v<N>.html` for earlier ones."""
    stage = entry.stage.value
    return f"{stage}.html" if version == entry.latest.version else f"{stage}-v{version}.html"


def cycle_dir(programme: str, cycle: str) -> str:
    """A cycle's folder under the language folder (keys are validated slugs)."""
    return f"{programme}/{cycle}"


def sparkline(line: KpiLine) -> dict[str, Any] | None:
    """SVG coordinates of the KPI's monthly values and its target (None with under two
    values): the target is a dashed line, better is up whichever way the KPI improves."""
    known = [(i, v) for i, (_, v) in enumerate(line.series) if v is not None]
    if len(known) < 2:
        return None
    values = [v for _, v in known] + [line.target]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    steps = max(1, len(line.series) - 1)
    pad = 3

    def y(value: float) -> float:
        share = (value - low) / span
        if line.direction == "lower":
            share = 1 - share  # lower is better: draw it higher
        return round(SPARK_HEIGHT - pad - share * (SPARK_HEIGHT - 2 * pad), 1)

    points = [(round(i / steps * (SPARK_WIDTH - 2 * pad) + pad, 1), y(v)) for i, v in known]
    return {
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "points": " ".join(f"{x},{yy}" for x, yy in points),
        "last": points[-1],
        "target_y": y(line.target),
    }


def _kpi(line: KpiLine, w: Words) -> dict[str, Any]:
    fmt = kpi_fmt(line.kpi)
    months = [m for m, v in line.series if v is not None]
    period = f"{months[0]:%Y-%m} – {months[-1]:%Y-%m}" if months else w("暂无月度数据", "no months")
    return {
        "id": line.target_id,
        "label": kpi_label(line.kpi, w),
        "latest": display(line.latest, fmt),
        "target": display(line.target, fmt),
        "status": w.text(KPI_STATUS[line.status]),
        "status_key": line.status,
        "spark": sparkline(line),
        "title": f"{kpi_label(line.kpi, w)} · {period} · "
        + w("基线", "baseline")
        + f" {display(line.baseline, fmt)} · "
        + w("路径值", "path")
        + f" {display(line.expected, fmt)} · "
        + w("截止", "deadline")
        + f" {line.deadline}",
    }


def _task(t: TaskFlag, w: Words) -> dict[str, Any]:
    days = task_timing(t, w)
    return {
        "id": t.task_id,
        "name": w.text(t.name),
        "owner": t.owner,
        "end": t.end.isoformat(),
        "days": days,
        "critical": t.critical,
    }


def _portfolio_page(portfolio: Portfolio, locale: Locale) -> str:
    w = Words(locale)
    rows: list[dict[str, Any]] = []
    index: list[dict[str, str]] = []
    for s in portfolio.programmes:
        href = f"{cycle_dir(s.key, s.cycle)}/index.html"
        name = w.text(s.name)
        entries = list(_search_entries(s, w))
        search = " ".join(f"{e['title']} {e['text']}" for e in entries)
        rows.append(
            {
                "anchor": f"p-{s.key}",
                "name": name,
                "key": s.key,
                "owner": s.owner,
                "cycle": s.cycle,
                "cycle_href": href,
                "stage": _stage(s.stage, w),
                "status": _status(s.status, w) if s.status else None,
                "status_key": s.status,
                "overdue": len(s.overdue),
                "due_soon": len(s.due_soon),
                "pending": len(s.pending),
                "kpis": [_kpi(k, w) for k in s.kpis],
                "search": search,
                "pending_items": [
                    {
                        "artifact": f"{p.artifact_id} v{p.version}",
                        "href": _version_href(s, p.artifact_id, p.version),
                        "level": w.text(LEVEL_TITLES[p.level]),
                        "awaiting": ", ".join(p.awaiting),
                        "since": _when(p.since),
                    }
                    for p in s.pending
                ],
                "overdue_items": [_task(t, w) for t in s.overdue],
                "due_items": [_task(t, w) for t in s.due_soon],
                "cycles": [
                    {
                        "key": c.key,
                        "href": f"{cycle_dir(s.key, c.key)}/index.html",
                        "stage": _stage(c.stage, w),
                        "status": _status(c.status, w) if c.status else None,
                    }
                    for c in s.cycles
                ],
            }
        )
        index.extend(entries)
    return (
        environment()
        .get_template("portal.html")
        .render(
            lang=locale,
            title=w("改进项目组合", "Improvement portfolio"),
            subtitle=w(
                f"{len(rows)} 个改进项目",
                f"{len(rows)} improvement programme{'' if len(rows) == 1 else 's'}",
            ),
            nav=[],
            current="index",
            index_label=w("项目组合", "Portfolio"),
            alt_lang=_lang_link(locale, f"../{_other(locale)}/index.html"),
            as_of_label=w("数据截至", "As of"),
            as_of=portfolio.as_of.isoformat(),
            search_label=w("搜索 ", "Search "),
            search_hint=w(
                "项目、周期、产物、任务、负责人…", "programme, cycle, artifact, task, owner…"
            ),
            no_match=w("没有匹配项", "No match"),
            portfolio_label=w("全部项目", "All programmes"),
            empty_label=w(
                "存储中还没有项目。先运行 improve demo 或 improve run。",
                "No programme is stored yet. Run improve demo or improve run first.",
            ),
            headers=[
                w("项目", "Programme"),
                w("当前周期", "Cycle"),
                w("阶段与状态", "Stage and status"),
                w("逾期任务", "Overdue"),
                w("即将到期", "Due soon"),
                w("待审批", "Pending approvals"),
                w("指标对目标（近 18 个月）", "KPIs against target (last 18 months)"),
            ],
            kpi_note=w(
                "曲线向上表示变好；虚线为目标值。状态：评估后为是否达成，此前为最近一个月是否在"
                "从基线到目标的路径上。",
                "Up is better in every sparkline; the dashed line is the target. Status: met "
                "or not once evaluated, before that whether the latest month is on the path "
                "from baseline to target.",
            ),
            pending_label=w("待审批", "Pending approvals"),
            awaiting_label=w("等待", "awaiting"),
            overdue_label=w("逾期任务", "Overdue tasks"),
            due_label=w("即将到期的任务", "Tasks due soon"),
            critical_label=w("关键路径", "critical path"),
            cycles_label=w("周期与产物版本", "Cycles and artifact versions"),
            rows=rows,
            index=index,
        )
    )


def _version_href(s: ProgrammeSummary, artifact_id: str, version: int) -> str:
    for c in s.cycles:
        for a in c.artifacts:
            if a.artifact_id == artifact_id:
                return f"{cycle_dir(s.key, c.key)}/{version_file(a, version)}"
    return f"{cycle_dir(s.key, s.cycle)}/index.html"


def _search_entries(s: ProgrammeSummary, w: Words) -> Iterator[dict[str, str]]:
    """What the search box finds, each with its page: the programme, its cycles, every
    artifact version, the tasks off schedule and who is awaited."""
    name = w.text(s.name)
    yield {
        "title": name,
        "kind": w("项目", "programme"),
        "href": f"#p-{s.key}",
        "text": f"{s.key} {s.name.zh} {s.name.en} {s.owner}",
    }
    for c in s.cycles:
        folder = cycle_dir(s.key, c.key)
        yield {
            "title": f"{name} · {c.key}",
            "kind": w("周期", "cycle"),
            "href": f"{folder}/index.html",
            "text": f"{s.key} {c.key}",
        }
        for a in c.artifacts:
            stage = STAGE_NAMES[a.stage]
            for v in a.versions:
                yield {
                    "title": f"{a.artifact_id} v{v.version}",
                    "kind": f"{w.text(stage)} · {_status(v.status, w)}",
                    "href": f"{folder}/{version_file(a, v.version)}",
                    "text": f"{a.artifact_id} v{v.version} {stage.zh} {stage.en} "
                    f"{v.created_by} {v.content_hash[:12]} "
                    + " ".join(d.approver for d in v.decisions),
                }
    for t in (*s.overdue, *s.due_soon):
        yield {
            "title": f"{t.task_id} {w.text(t.name)}",
            "kind": w("逾期任务", "overdue task") if t.overdue_days else w("即将到期", "due soon"),
            "href": f"#p-{s.key}",
            "text": f"{t.task_id} {t.name.zh} {t.name.en} {t.owner} {t.department}",
        }
    for p in s.pending:
        yield {
            "title": f"{p.artifact_id} v{p.version}",
            "kind": w("待审批：", "awaiting: ") + ", ".join(p.awaiting),
            "href": _version_href(s, p.artifact_id, p.version),
            "text": f"{p.artifact_id} {' '.join(p.awaiting)} {p.level}",
        }


def _decision(d: Any, w: Words) -> str:
    verdict = w("批准", "approved") if d.decision == "approved" else w("驳回", "rejected")
    text = f"{w.text(LEVEL_TITLES[d.level])} · {d.approver} · {verdict} · {_when(d.at)}"
    return f"{text} · {d.comment}" if d.comment else text


def _cycle_page(s: ProgrammeSummary, c: CycleEntry, locale: Locale) -> str:
    w = Words(locale)
    folder = cycle_dir(s.key, c.key)
    artifacts = [
        {
            "stage_key": a.stage.value,
            "stage": w.text(STAGE_NAMES[a.stage]),
            "title": w.text(ARTIFACT_TITLES[a.stage]),
            "artifact_id": a.artifact_id,
            "versions": [
                {
                    "version": v.version,
                    "href": version_file(a, v.version),
                    "status": _status(v.status, w),
                    "created_by": v.created_by,
                    "created_at": _when(v.created_at),
                    "hash": v.content_hash[:12],
                    "decisions": [_decision(d, w) for d in v.decisions],
                }
                for v in reversed(a.versions)
            ],
        }
        for a in c.artifacts
    ]
    return (
        environment()
        .get_template("portal_cycle.html")
        .render(
            lang=locale,
            title=f"{w.text(s.name)} · {c.key}",
            subtitle=w("产物与版本", "Artifacts and versions")
            + f" · {w('负责人', 'owner')} {s.owner}",
            nav=_stage_nav(c, w),
            current="index",
            index_label=w("周期", "Cycle"),
            home=NavLink("portal", "../../index.html", w("项目组合", "Portfolio")),
            alt_lang=_lang_link(locale, f"../../../{_other(locale)}/{folder}/index.html"),
            meta=f"{s.key} / {c.key} · {_stage(c.stage, w)}",
            headers=[
                w("版本", "Version"),
                w("状态", "Status"),
                w("生成者", "Created by"),
                w("生成时间", "Created"),
                w("内容哈希", "Content hash"),
                w("审核记录", "Review decisions"),
            ],
            artifacts=artifacts,
            empty_label=w("这个周期还没有产物。", "This cycle has no artifact yet."),
        )
    )


def _stage_nav(c: CycleEntry, w: Words) -> list[NavLink]:
    return [
        NavLink(a.stage.value, f"{a.stage.value}.html", w.text(STAGE_NAMES[a.stage]))
        for a in c.artifacts
    ]


def _version_page(
    s: ProgrammeSummary,
    c: CycleEntry,
    a: ArtifactEntry,
    stored: StoredArtifact,
    programme: Programme,
    locale: Locale,
) -> str:
    w = Words(locale)
    name = version_file(a, stored.ref.version)
    return render_page(
        stored.artifact,
        locale=locale,
        programme=programme,
        ref=stored.ref,
        status=stored.status,
        stages=[e.stage for e in c.artifacts],
        links=PageLinks(
            assets="../../../assets/",
            home=NavLink("portal", "../../index.html", w("项目组合", "Portfolio")),
            alt_lang=_lang_link(
                locale, f"../../../{_other(locale)}/{cycle_dir(s.key, c.key)}/{name}"
            ),
        ),
    )


def _fill(
    folder: Path,
    portfolio: Portfolio,
    programmes: dict[str, Programme],
    load: Loader,
    default: Locale,
) -> int:
    (folder / "assets").mkdir(parents=True)
    shutil.copyfile(PLOTLY_JS, folder / "assets" / "plotly.min.js")
    (folder / MARKER).write_text(f"built {portfolio.as_of}\n", encoding="utf-8")
    (folder / "index.html").write_text(
        environment().get_template("portal_root.html").render(lang=default, default=default),
        encoding="utf-8",
    )
    pages = 0
    for locale in LOCALES:
        base = folder / locale
        base.mkdir()
        (base / "index.html").write_text(_portfolio_page(portfolio, locale), encoding="utf-8")
        pages += 1
        for s in portfolio.programmes:
            for c in s.cycles:
                cycle_folder = base / cycle_dir(s.key, c.key)
                cycle_folder.mkdir(parents=True)
                (cycle_folder / "index.html").write_text(
                    _cycle_page(s, c, locale), encoding="utf-8"
                )
                pages += 1
                for a in c.artifacts:
                    for v in a.versions:
                        stored = load(a.artifact_id, v.version)
                        page = _version_page(s, c, a, stored, programmes[s.key], locale)
                        (cycle_folder / version_file(a, v.version)).write_text(
                            page, encoding="utf-8"
                        )
                        pages += 1
    return pages


def write_portal(
    out: Path,
    portfolio: Portfolio,
    *,
    programmes: dict[str, Programme],
    load: Loader,
    default: Locale = "zh-CN",
) -> PortalPaths:
    """Build the whole portal in a temporary folder beside `out`, then put it in `out`'s
    place. `load(artifact_id, version)` reads a stored version for its page. Refuses an
    `out` that exists, is not empty and was not made by the portal (nothing of it is
    touched)."""
    if not PLOTLY_JS.is_file():
        raise ReportError(
            f"plotly.min.js is missing from the plotly package at {PLOTLY_JS}; "
            "reinstall plotly (uv sync)"
        )
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ReportError(
            f"portal: {out} exists and is not a portal folder (no {MARKER} in it), so it is "
            "left alone; pass --out with a new or empty folder, or the portal's own folder"
        )
    building, retired = temps.temp_path(out, "building"), temps.temp_path(out, "old")
    try:
        for suffix in ("building", "old"):  # left by a build that was killed
            temps.sweep(out, suffix)
        out.parent.mkdir(parents=True, exist_ok=True)
        pages = _fill(building, portfolio, programmes, load, default)
        if out.exists():
            out.rename(retired)
        building.rename(out)
    except OSError as exc:
        raise ReportError(
            f"cannot write the portal to {out}: {exc}; check the folder's permissions and "
            "free space"
        ) from exc
    finally:
        for leftover in (building, retired):
            with contextlib.suppress(OSError):
                shutil.rmtree(leftover)
    return PortalPaths(root=out / "index.html", pages=pages)
