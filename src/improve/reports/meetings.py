"""The weekly review (周例会) as a workbook, a page beside the cycle's stage pages and the
Markdown the Prefect UI shows: schedule performance, overdue and due-soon tasks, blockers by
department, this week's KPIs against their target paths."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from improve.domain.base import Locale, Stage
from improve.domain.meetings import WeeklyReview
from improve.domain.programme import Programme
from improve.reports.content import STATUS
from improve.reports.figures import CRITICAL, NORMAL, fragment, label
from improve.reports.labels import kpi_label, kv
from improve.reports.page import render_sections
from improve.reports.sections import Section, Val, Words
from improve.reports.site import save_workbook, write_text_atomic
from improve.reports.workbook import build_sections_workbook

TITLE = ("周例会", "Weekly review")


def weekly_name(review: WeeklyReview) -> str:
    """The file stem of a week's review, like weekly-2026-W04."""
    return f"weekly-{review.period}"


def weekly_sections(review: WeeklyReview, w: Words, programme: Programme | None) -> list[Section]:
    """Summary, tasks (late and blocked first), blockers by department, KPIs."""
    depts = {d.key: w.text(d.name) for d in programme.departments} if programme else {}
    summary = Section(
        "summary", w("概览", "Summary"), [w("项目", "Item"), w("内容", "Value")], ["text", "text"]
    )
    summary.add(w("周次", "Week"), f"{review.period} ({review.start} – {review.end})")
    summary.add(w("计划版本", "Plan version"), f"{review.plan.artifact_id} v{review.plan.version}")
    summary.add(w("进度绩效指数 SPI", "Schedule performance (SPI)"), Val(review.spi, "num2"))
    summary.add(
        w("进度偏差（百分点）", "Schedule variance (points)"), Val(review.sv_points, "num1")
    )
    summary.add(w("逾期任务", "Overdue tasks"), Val(len(review.overdue), "int"))
    summary.add(
        w(
            f"{review.look_ahead_days} 个工作日内到期",
            f"Due in {review.look_ahead_days} working days",
        ),
        Val(len(review.due_soon), "int"),
    )
    tasks = Section(
        "tasks",
        w("任务进度", "Tasks"),
        [
            w("任务", "Task"),
            w("负责人", "Owner"),
            w("部门", "Department"),
            w("结束", "End"),
            w("计划 %", "Planned %"),
            w("实际 %", "Actual %"),
            w("状态", "Status"),
            w("落后工作日", "Working days behind"),
            w("逾期工作日", "Working days overdue"),
            w("剩余工作日", "Working days left"),
            w("关键路径", "Critical"),
            w("备注", "Note"),
        ],
        [
            "text",
            "text",
            "text",
            "date",
            "pct",
            "pct",
            "text",
            "int",
            "int",
            "int",
            "text",
            "text",
        ],
    )
    order = {"blocked": 0, "late": 1, "no_report": 2}
    for t in sorted(review.tasks, key=lambda t: (order.get(t.progress.status, 3), t.end)):
        p = t.progress
        tasks.add(
            t.task_id,
            t.owner,
            depts.get(t.department, t.department),
            t.end,
            p.planned_pct / 100,
            None if p.actual_pct is None else p.actual_pct / 100,
            w.text(STATUS[p.status]),
            t.behind_days,
            t.overdue_days or None,
            t.due_in_days,
            w("是", "yes") if t.critical else "",
            p.note or "",
        )
    blockers = Section(
        "blockers",
        w("各部门阻碍", "Blockers by department"),
        [w("部门", "Department"), w("任务", "Task"), w("阻碍", "Blocker")],
        ["text", "text", "text"],
    )
    for group in review.blockers:
        for task_id, text in group.blockers:
            blockers.add(depts.get(group.department, group.department), task_id, text)
    kpis = Section(
        "kpis",
        w("本周指标对照目标路径", "This week's KPIs against their target paths"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("本周", "This week"),
            w("路径值", "Path"),
            w("目标值", "Target"),
            w("是否在路径上", "On track"),
        ],
        ["text", "text", "text", "text", "text", "text"],
    )
    for k in review.kpis:
        on = {True: w("是", "yes"), False: w("否", "no"), None: "—"}[k.on_track]
        kpis.add(
            k.target_id,
            kpi_label(k.kpi, w),
            kv(k.kpi, k.actual),
            kv(k.kpi, k.planned),
            kv(k.kpi, k.target),
            on,
        )
    return [summary, tasks, blockers, kpis]


def weekly_chart(review: WeeklyReview, w: Words) -> str:
    """Planned against reported percent complete per task, critical tasks in red."""
    tasks = list(reversed(review.tasks))
    names = [label(t.task_id) for t in tasks]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=[t.progress.planned_pct for t in tasks],
            orientation="h",
            name=w("计划 %", "Planned %"),
            marker={"color": "#ccc"},
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[t.progress.actual_pct or 0 for t in tasks],
            orientation="h",
            name=w("实际 %", "Actual %"),
            marker={"color": [CRITICAL if t.critical else NORMAL for t in tasks]},
        )
    )
    fig.update_layout(
        title=w(
            "计划与实际完成（红色为关键路径）", "Planned and actual % complete (red: critical)"
        ),
        barmode="group",
        height=max(360, 26 * len(tasks) + 140),
        xaxis={"range": [0, 100]},
        margin={"l": 240},
    )
    return fragment(fig, "weekly-progress")


def _md(text: str) -> str:
    """Data text inert in Markdown: no HTML, no table cell breaks, no emphasis."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def weekly_markdown(review: WeeklyReview, *, locale: Locale) -> str:
    """The review as Markdown for the Prefect UI (and the weekly digest)."""
    w = Words(locale)
    spi = "—" if review.spi is None else f"{review.spi:.2f}"
    sv = "—" if review.sv_points is None else f"{review.sv_points:+.1f}"
    lines = [
        f"# {w(*TITLE)} {review.period} · {_md(review.programme)}/{_md(review.cycle)}",
        "",
        f"{w('计划', 'Plan')} {review.plan.artifact_id} v{review.plan.version} · "
        f"SPI **{spi}** · {w('进度偏差', 'schedule variance')} **{sv}** "
        f"{w('百分点', 'points')}",
        "",
        f"## {w('逾期任务', 'Overdue')} ({len(review.overdue)})",
    ]
    by_id = {t.task_id: t for t in review.tasks}
    lines += [
        f"- {_md(tid)} · {_md(by_id[tid].owner)} · {by_id[tid].overdue_days} "
        f"{w('个工作日', 'working days')}"
        for tid in review.overdue
    ] or ["- —"]
    lines += ["", f"## {w('即将到期', 'Due soon')} ({len(review.due_soon)})"]
    lines += [
        f"- {_md(tid)} · {_md(by_id[tid].owner)} · {by_id[tid].end}" for tid in review.due_soon
    ] or ["- —"]
    lines += ["", f"## {w('各部门阻碍', 'Blockers by department')}"]
    lines += [
        f"- **{_md(g.department)}** {_md(tid)}: {_md(text)}"
        for g in review.blockers
        for tid, text in g.blockers
    ] or ["- —"]
    lines += [
        "",
        f"## {w('本周指标', 'KPIs this week')}",
        "",
        f"| {w('目标', 'Target')} | KPI | {w('本周', 'This week')} | {w('路径', 'Path')} | "
        f"{w('目标值', 'Target')} | {w('在路径上', 'On track')} |",
        "|---|---|---|---|---|---|",
    ]
    for k in review.kpis:
        actual = "—" if k.actual is None else f"{k.actual:.3g}"
        on = {True: "✓", False: "✗", None: "—"}[k.on_track]
        lines.append(
            f"| {k.target_id} | {k.kpi} | {actual} | {k.planned:.3g} | {k.target:.3g} | {on} |"
        )
    return "\n".join(lines) + "\n"


def write_weekly(
    out_dir: Path, review: WeeklyReview, *, locale: Locale, programme: Programme | None
) -> tuple[Path, Path]:
    """The review's workbook and page in the cycle's report folder; their paths."""
    w = Words(locale)
    sections = weekly_sections(review, w, programme)
    title = f"{w(*TITLE)} {review.period}"
    subtitle = f"{w.text(programme.name) if programme else review.programme} · {review.cycle}"
    xlsx = out_dir / f"{weekly_name(review)}.xlsx"
    save_workbook(build_sections_workbook(sections, title=title, subtitle=subtitle), xlsx)
    html = out_dir / f"{weekly_name(review)}.html"
    page = render_sections(
        sections,
        locale=locale,
        title=title,
        subtitle=subtitle,
        meta=f"{review.programme} / {review.cycle} · {review.start} – {review.end} · "
        f"{review.plan.artifact_id} v{review.plan.version}",
        stages=list(Stage),
        current="weekly",
        charts=[weekly_chart(review, w)],
    )
    write_text_atomic(html, page)
    return xlsx, html
