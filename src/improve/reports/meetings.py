"""The weekly review (周例会) and the monthly retrospective (月度复盘) as a workbook, a page
beside the cycle's stage pages and the Markdown the Prefect UI shows."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from improve.domain.base import Locale, Stage
from improve.domain.meetings import MonthlyRetrospective, ReviewTask, WeeklyReview
from improve.domain.programme import Programme
from improve.reports.content import STATUS
from improve.reports.figures import CRITICAL, NORMAL, fragment, label
from improve.reports.labels import kpi_label, kv
from improve.reports.page import render_sections
from improve.reports.sections import Section, Val, Words, md_text
from improve.reports.site import save_workbook, write_text_atomic
from improve.reports.workbook import build_sections_workbook

TITLE = ("周例会", "Weekly review")


def weekly_name(review: WeeklyReview) -> str:
    """The file stem of a week's review, like weekly-2026-W04."""
    return f"weekly-{review.period}"


def tasks_section(rows: tuple[ReviewTask, ...], w: Words, depts: dict[str, str]) -> Section:
    """Every task against plan, blocked and late first."""
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
    for t in sorted(rows, key=lambda t: (order.get(t.progress.status, 3), t.end)):
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
    return tasks


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
    tasks = tasks_section(review.tasks, w, depts)
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


def weekly_markdown(review: WeeklyReview, *, locale: Locale) -> str:
    """The review as Markdown for the Prefect UI (and the weekly digest)."""
    w = Words(locale)
    spi = "—" if review.spi is None else f"{review.spi:.2f}"
    sv = "—" if review.sv_points is None else f"{review.sv_points:+.1f}"
    lines = [
        f"# {w(*TITLE)} {review.period} · {md_text(review.programme)}/{md_text(review.cycle)}",
        "",
        f"{w('计划', 'Plan')} {review.plan.artifact_id} v{review.plan.version} · "
        f"SPI **{spi}** · {w('进度偏差', 'schedule variance')} **{sv}** "
        f"{w('百分点', 'points')}",
        "",
        f"## {w('逾期任务', 'Overdue')} ({len(review.overdue)})",
    ]
    by_id = {t.task_id: t for t in review.tasks}
    lines += [
        f"- {md_text(tid)} · {md_text(by_id[tid].owner)} · {by_id[tid].overdue_days} "
        f"{w('个工作日', 'working days')}"
        for tid in review.overdue
    ] or ["- —"]
    lines += ["", f"## {w('即将到期', 'Due soon')} ({len(review.due_soon)})"]
    lines += [
        f"- {md_text(tid)} · {md_text(by_id[tid].owner)} · {by_id[tid].end}"
        for tid in review.due_soon
    ] or ["- —"]
    lines += ["", f"## {w('各部门阻碍', 'Blockers by department')}"]
    lines += [
        f"- **{md_text(g.department)}** {md_text(tid)}: {md_text(text)}"
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


def _write(
    out_dir: Path,
    stem: str,
    sections: list[Section],
    *,
    title: str,
    subtitle: str,
    meta: str,
    chart: str,
    locale: Locale,
) -> tuple[Path, Path]:
    xlsx = out_dir / f"{stem}.xlsx"
    save_workbook(build_sections_workbook(sections, title=title, subtitle=subtitle), xlsx)
    html = out_dir / f"{stem}.html"
    page = render_sections(
        sections,
        locale=locale,
        title=title,
        subtitle=subtitle,
        meta=meta,
        stages=list(Stage),
        current=stem,
        charts=[chart],
    )
    write_text_atomic(html, page)
    return xlsx, html


def write_weekly(
    out_dir: Path, review: WeeklyReview, *, locale: Locale, programme: Programme | None
) -> tuple[Path, Path]:
    """The review's workbook and page in the cycle's report folder; their paths."""
    w = Words(locale)
    return _write(
        out_dir,
        weekly_name(review),
        weekly_sections(review, w, programme),
        title=f"{w(*TITLE)} {review.period}",
        subtitle=f"{w.text(programme.name) if programme else review.programme} · {review.cycle}",
        meta=f"{review.programme} / {review.cycle} · {review.start} – {review.end} · "
        f"{review.plan.artifact_id} v{review.plan.version}",
        chart=weekly_chart(review, w),
        locale=locale,
    )


MONTHLY_TITLE = ("月度复盘", "Monthly retrospective")
OUTLOOK = {
    "likely": ("可望达成", "likely"),
    "at_risk": ("存在风险", "at risk"),
    "unlikely": ("难以达成", "unlikely"),
    "unknown": ("数据不足", "too few months"),
}


def monthly_sections(
    retro: MonthlyRetrospective, w: Words, programme: Programme | None
) -> list[Section]:
    """Summary, tasks against plan, deviations, outlook per target, re-planning, risks,
    scorecards."""
    depts = {d.key: w.text(d.name) for d in programme.departments} if programme else {}
    summary = Section(
        "summary", w("概览", "Summary"), [w("项目", "Item"), w("内容", "Value")], ["text", "text"]
    )
    summary.add(w("月份", "Month"), f"{retro.period} ({retro.start} – {retro.end})")
    summary.add(w("计划版本", "Plan version"), f"{retro.plan.artifact_id} v{retro.plan.version}")
    summary.add(w("进度绩效指数 SPI", "Schedule performance (SPI)"), Val(retro.spi, "num2"))
    summary.add(w("进度偏差（百分点）", "Schedule variance (points)"), Val(retro.sv_points, "num1"))
    summary.add(w("调整后计划完成", "Plan end after re-planning"), Val(retro.plan_end, "date"))
    summary.add(
        w("超出截止日期", "Past the deadline"),
        w("是", "yes") if retro.past_deadline else w("否", "no"),
    )
    deviations = Section(
        "deviations",
        w("偏差及原因", "Deviations and their causes"),
        [
            w("任务", "Task"),
            w("负责人", "Owner"),
            w("落后工作日", "Working days behind"),
            w("逾期工作日", "Working days overdue"),
            w("原因", "Cause"),
        ],
        ["text", "text", "int", "int", "text"],
    )
    for d in retro.deviations:
        deviations.add(
            d.task_id,
            d.owner,
            d.behind_days,
            d.overdue_days,
            d.cause or w("未说明", "not explained"),
        )
    outlook = Section(
        "forecast",
        w("截止日期的指标预测", "Forecast at the deadline"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("本月", "This month"),
            w("路径值", "Path"),
            w("预测", "Forecast"),
            w("90% 区间下限", "90% low"),
            w("90% 区间上限", "90% high"),
            w("目标值", "Target"),
            w("展望", "Outlook"),
        ],
        ["text"] * 9,
    )
    for f in retro.forecasts:
        outlook.add(
            f.target_id,
            kpi_label(f.kpi, w),
            kv(f.kpi, f.actual),
            kv(f.kpi, f.planned),
            kv(f.kpi, f.forecast),
            kv(f.kpi, f.low),
            kv(f.kpi, f.high),
            kv(f.kpi, f.target),
            w(*OUTLOOK[f.outlook]),
        )
    shifts = Section(
        "replan",
        w("建议的计划调整", "Proposed re-planning"),
        [
            w("任务", "Task"),
            w("原开始", "Start"),
            w("原结束", "End"),
            w("新开始", "New start"),
            w("新结束", "New end"),
            w("起因", "Because of"),
        ],
        ["text", "date", "date", "date", "date", "text"],
    )
    for sh in retro.shifts:
        shifts.add(sh.task_id, sh.start, sh.end, sh.new_start, sh.new_end, sh.because_of)
    risks = Section(
        "risks",
        w("风险登记册", "Risk register"),
        [
            w("风险", "Risk"),
            w("可能性", "Probability"),
            w("影响", "Impact"),
            w("分值", "Score"),
            w("负责人", "Owner"),
            w("应对", "Response"),
            w("状态", "Status"),
            w("来源", "Raised"),
        ],
        ["text", "int", "int", "int", "text", "text", "text", "text"],
    )
    for r in retro.risks:
        late = w("关键任务延误", "late critical task")
        raised = w("登记", "register") if r.raised == "register" else late
        risks.add(
            w.text(r.title),
            r.probability,
            r.impact,
            r.score,
            r.owner,
            w.text(r.response),
            r.status,
            raised,
        )
    cards = Section(
        "scorecards",
        w("团队与个人计分卡", "Team and agent scorecards"),
        [
            w("类型", "Kind"),
            w("名称", "Name"),
            w("团队", "Team"),
            w("工单", "Tickets"),
            w("各指标得分", "KPI scores"),
            w("权重", "Weights"),
            w("总分", "Total"),
        ],
        ["text", "text", "text", "int", "text", "text", "num1"],
    )
    for c in sorted(retro.scorecards, key=lambda c: (c.kind != "team", -(c.total or -1))):
        cards.add(
            w("团队", "team") if c.kind == "team" else w("个人", "agent"),
            c.name,
            c.team or "",
            c.tickets,
            ", ".join(f"{k}: {'—' if v is None else f'{v:.0f}'}" for k, v in c.scores.items()),
            ", ".join(f"{k}: {v:.0%}" for k, v in c.weights.items()),
            c.total,
        )
    return [summary, tasks_section(retro.tasks, w, depts), deviations, outlook, shifts, risks,
            cards]  # fmt: skip


def monthly_chart(retro: MonthlyRetrospective, w: Words) -> str:
    """Each target's forecast at its deadline with its interval, against its target."""
    shown = [f for f in retro.forecasts if f.forecast is not None]
    fig = go.Figure(
        go.Scatter(
            x=[label(f"{f.target_id} {kpi_label(f.kpi, w)}") for f in shown],
            y=[f.forecast for f in shown],
            mode="markers",
            marker={"size": 12, "color": NORMAL},
            name=w("预测", "Forecast"),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(f.high or 0) - (f.forecast or 0) for f in shown],
                "arrayminus": [(f.forecast or 0) - (f.low or 0) for f in shown],
            },
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[label(f"{f.target_id} {kpi_label(f.kpi, w)}") for f in shown],
            y=[f.target for f in shown],
            mode="markers",
            marker={"symbol": "line-ew", "size": 24, "line": {"width": 3, "color": CRITICAL}},
            name=w("目标值", "Target"),
        )
    )
    fig.update_layout(
        title=w("截止日期的指标预测（90% 区间）", "KPIs forecast at the deadline (90% interval)")
    )
    return fragment(fig, "monthly-forecast")


def monthly_markdown(retro: MonthlyRetrospective, *, locale: Locale) -> str:
    """The retrospective as Markdown for the Prefect UI."""
    w = Words(locale)
    spi = "—" if retro.spi is None else f"{retro.spi:.2f}"
    lines = [
        f"# {w(*MONTHLY_TITLE)} {retro.period} · {md_text(retro.programme)}/{md_text(retro.cycle)}",
        "",
        f"SPI **{spi}** · {w('调整后计划完成', 'plan end after re-planning')} {retro.plan_end}",
        "",
        f"## {w('偏差及原因', 'Deviations')}",
    ]
    lines += [
        f"- {md_text(d.task_id)} ({md_text(d.owner)}): {md_text(d.cause or '—')}"
        for d in retro.deviations
    ] or ["- —"]
    lines += ["", f"## {w('指标展望', 'Outlook')}"]
    lines += [f"- {f.target_id} {f.kpi}: {w(*OUTLOOK[f.outlook])}" for f in retro.forecasts]
    lines += ["", f"## {w('风险', 'Risks')}"]
    lines += [
        f"- [{r.score}] {md_text(w.text(r.title))} · {md_text(r.owner)}" for r in retro.risks
    ] or ["- —"]
    return "\n".join(lines) + "\n"


def write_monthly(
    out_dir: Path, retro: MonthlyRetrospective, *, locale: Locale, programme: Programme | None
) -> tuple[Path, Path]:
    """The retrospective's workbook and page in the cycle's report folder; their paths."""
    w = Words(locale)
    return _write(
        out_dir,
        f"monthly-{retro.period}",
        monthly_sections(retro, w, programme),
        title=f"{w(*MONTHLY_TITLE)} {retro.period}",
        subtitle=f"{w.text(programme.name) if programme else retro.programme} · {retro.cycle}",
        meta=f"{retro.programme} / {retro.cycle} · {retro.start} – {retro.end} · "
        f"{retro.plan.artifact_id} v{retro.plan.version}",
        chart=monthly_chart(retro, w),
        locale=locale,
    )
