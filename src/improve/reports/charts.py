"""Plotly figures of the stage artifacts, as HTML fragments (`figures.fragment`); every
string from data goes through `figures.label` first."""

from __future__ import annotations

import math
from datetime import timedelta

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from improve.domain.artifacts import (
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    PilotEvaluation,
    PilotKpiResult,
    TargetList,
)
from improve.domain.base import ROOT_CAUSE_LABELS, Artifact, Direction, RootCause
from improve.domain.kpi import KPIS
from improve.reports.content import RULES
from improve.reports.figures import (
    BAD,
    CRITICAL,
    GOOD,
    NEUTRAL,
    NORMAL,
    fragment,
    label,
    lines,
)
from improve.reports.labels import dim_label, is_rate, kpi_label
from improve.reports.rootcause import fishbone_causes
from improve.reports.sections import Words
from improve.reports.voice import voice_charts

MONTHS_AXIS = {"type": "date", "tickformat": "%Y-%m", "dtick": "M1"}


def _tickformat(kpi_name: str) -> str:
    """Rates as percentages with one decimal where needed (62%, 62.5%)."""
    return ".1~%" if is_rate(kpi_name) else ""


def _baseline_vs_benchmark(a: DiagnosisReport, w: Words) -> str | None:
    """Small multiples, one per KPI with a benchmark: units differ, so no shared axis."""
    rows = [b for b in a.baseline if b.benchmark is not None and b.value is not None]
    if not rows:
        return None
    cols = min(4, len(rows))
    nrows = math.ceil(len(rows) / cols)
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=[label(kpi_label(b.kpi, w)) for b in rows],
        horizontal_spacing=0.08,
        vertical_spacing=0.25 if nrows > 1 else 0.1,
    )
    names = [w("基线", "Baseline"), w("基准", "Benchmark")]
    for i, b in enumerate(rows):
        r, c = i // cols + 1, i % cols + 1
        behind = (b.gap or 0) > 0
        fig.add_trace(
            go.Bar(
                x=names,
                y=[b.value, b.benchmark],
                marker={"color": [BAD if behind else GOOD, NEUTRAL]},
                hovertext=[
                    label(kpi_label(b.kpi, w)),
                    lines([b.benchmark_source or w("基准", "Benchmark")]),
                ],
                showlegend=False,
            ),
            row=r,
            col=c,
        )
        fig.update_yaxes(tickformat=_tickformat(b.kpi), rangemode="tozero", row=r, col=c)
    fig.update_layout(
        title=w(
            "KPI 基线与基准（红色：落后于基准）", "KPI baseline against benchmark (red: behind)"
        ),
        height=300 * nrows + 80,
    )
    return fragment(fig, "baseline")


def _quadrant(a: DiagnosisReport, w: Words) -> str:
    fig = go.Figure()
    for category in ("people", "process", "tools", "resources"):
        ps = [p for p in a.problems if p.category.value == category]
        if ps:
            fig.add_trace(
                go.Scatter(
                    x=[p.feasibility for p in ps],
                    y=[p.impact for p in ps],
                    mode="markers+text",
                    text=[label(p.id) for p in ps],
                    textposition="top center",
                    hovertext=[
                        lines([f"{p.id} {w.text(p.title)}", kpi_label(p.kpi, w)]) for p in ps
                    ],
                    hoverinfo="text",
                    name=w.text(ROOT_CAUSE_LABELS[RootCause(category)]),
                    marker={"size": 14},
                )
            )
    fig.add_hline(y=0.5, line_dash="dot")
    fig.add_vline(x=0.5, line_dash="dot")
    for x, y, text in (
        (0.98, 1.08, w("① 高影响·高可行：优先", "① High impact, feasible: do first")),
        (0.02, 1.08, w("② 高影响·难实施：规划", "② High impact, hard: plan")),
        (0.98, -0.08, w("③ 低影响·易实施：顺手", "③ Low impact, easy: quick wins")),
        (0.02, -0.08, w("④ 低影响·难实施：暂缓", "④ Low impact, hard: defer")),
    ):
        fig.add_annotation(
            x=x,
            y=y,
            xref="x",
            yref="y",
            text=text,
            showarrow=False,
            xanchor="right" if x > 0.5 else "left",
            font={"color": "#666", "size": 11},
        )
    fig.update_layout(
        title=w("优先级四象限：影响 × 可行性", "Priority: impact × feasibility"),
        xaxis={"title": {"text": w("可行性", "Feasibility")}, "range": [-0.02, 1.05]},
        yaxis={"title": {"text": w("影响", "Impact")}, "range": [-0.15, 1.15]},
        height=460,
    )
    return fragment(fig, "quadrant")


def _control_charts(a: DiagnosisReport, w: Words) -> list[str]:
    """Weekly control charts of the KPIs behind benchmark, getting worse or shifted: centre
    line, 3-sigma limits, special causes marked, the shift's first week drawn."""
    out = []
    shown = [
        b
        for b in a.baseline
        if b.chart is not None
        and b.chart.center is not None
        and ((b.gap or 0) > 0 or b.deteriorated or b.chart.shift is not None)
    ]
    for i, row in enumerate(shown):
        chart = row.chart
        assert chart is not None and chart.center is not None
        name = kpi_label(row.kpi, w)
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=chart.weeks, y=chart.values, mode="lines+markers", name=w("每周", "weekly")
            )
        )
        for limit, text in (
            (chart.upper, w("控制上限", "upper limit")),
            (chart.lower, w("控制下限", "lower limit")),
        ):
            fig.add_trace(
                go.Scatter(
                    x=chart.weeks,
                    y=limit,
                    mode="lines",
                    line={"color": NEUTRAL, "dash": "dot", "shape": "hv"},
                    name=text,
                )
            )
        fig.add_hline(y=chart.center, line_color=NEUTRAL, annotation_text=w("中心线", "centre"))
        if row.benchmark is not None:
            fig.add_hline(y=row.benchmark, line_dash="dash", annotation_text=w("基准", "benchmark"))
        by_week = dict(zip(chart.weeks, chart.values, strict=True))
        for worse in (True, False):
            marks = [s for s in chart.signals if s.worse is worse or (s.worse is None and worse)]
            if marks:
                fig.add_trace(
                    go.Scatter(
                        x=[s.week for s in marks],
                        y=[by_week[s.week] for s in marks],
                        mode="markers",
                        marker={
                            "color": BAD if worse else GOOD,
                            "size": 11,
                            "symbol": "circle-open",
                        },
                        text=[w(*RULES[s.rule]) for s in marks],
                        name=w("特殊原因（变差）", "special cause (worse)")
                        if worse
                        else w("特殊原因（变好）", "special cause (better)"),
                    )
                )
        if chart.shift is not None:
            fig.add_vline(
                x=chart.shift.started.isoformat(),
                line_color=BAD if chart.shift.worse else GOOD,
                annotation_text=w("变化始于 ", "shift from ") + chart.shift.started.isoformat(),
            )
        kind = w("p′ 控制图", "p′ chart") if chart.kind == "p" else w("XmR 控制图", "XmR chart")
        fig.update_layout(
            title=label(name) + w("：每周", ": weekly ") + kind,
            yaxis={"tickformat": _tickformat(row.kpi)},
        )
        out.append(fragment(fig, f"control-{i}"))
    return out


def _waterfalls(a: DiagnosisReport, w: Words) -> list[str]:
    """Per gap: from the reference to the value, one step per top segment of the leading
    dimension and one for all the others (their shares of the gap in the KPI's unit)."""
    out = []
    for i, (kpi_name, e) in enumerate(a.explanations.items()):
        lead = e.lead
        shares = {
            s.value: s.contribution
            for s in a.drivers.get(kpi_name, ())
            if s.dimension == lead.dimension
        }
        gap = e.value - e.reference
        dim = label(dim_label(lead.dimension, w))  # an unknown dimension shows as stored
        steps = [(value, shares[value] * gap) for value in lead.top]
        others = gap - sum(v for _, v in steps)
        start = w("基准", "benchmark") if e.basis == "benchmark" else w("前三月", "first 3 months")
        end = w("当前", "current") if e.basis == "benchmark" else w("后三月", "last 3 months")
        x = [start, *(label(v) for v, _ in steps), w("其他细分", "other segments"), end]
        fig = go.Figure(
            go.Waterfall(
                x=x,
                y=[e.reference, *(v for _, v in steps), others, e.value],
                measure=["absolute", *(["relative"] * (len(steps) + 1)), "total"],
                increasing={"marker": {"color": BAD if _higher_is_worse(kpi_name) else GOOD}},
                decreasing={"marker": {"color": GOOD if _higher_is_worse(kpi_name) else BAD}},
                totals={"marker": {"color": NORMAL}},
                connector={"line": {"color": NEUTRAL}},
            )
        )
        fig.update_layout(
            title=label(kpi_label(kpi_name, w))
            + w(
                f"：{dim} 的 {len(lead.top)} 个细分解释差距的 {lead.explained:.0%}"
                f"（工单占比 {lead.weight_share:.0%}）",
                f": {len(lead.top)} {dim} segment(s) explain {lead.explained:.0%} "
                f"of the gap ({lead.weight_share:.0%} of tickets)",
            ),
            yaxis={"tickformat": _tickformat(kpi_name)},
            showlegend=False,
        )
        out.append(fragment(fig, f"waterfall-{i}"))
    return out


# Where each bone of the fishbone joins the spine (x) and on which side (+1 above).
_BONES = {
    RootCause.PEOPLE: (3.0, 1),
    RootCause.PROCESS: (6.5, 1),
    RootCause.TOOLS: (3.0, -1),
    RootCause.RESOURCES: (6.5, -1),
}
_BONE_CAUSES = 4  # causes drawn per bone; the table lists them all


def _fishbones(a: DiagnosisReport, w: Words) -> list[str]:
    """Per problem: the spine to the problem's head, four slanted bones (people, process,
    tools, resources) with their causes; the bone of the category in force drawn bold."""
    out = []
    for i, p in enumerate(a.problems):
        fig = go.Figure()
        fig.add_shape(type="line", x0=0, y0=0, x1=9.2, y1=0, line={"color": NEUTRAL, "width": 3})
        bones = fishbone_causes(p, w)
        for category, (x, side) in _BONES.items():
            chosen = category == p.category
            color = BAD if chosen else NORMAL
            fig.add_shape(
                type="line",
                x0=x - 2.0,
                y0=side * 3.0,
                x1=x,
                y1=0,
                line={"color": color, "width": 4 if chosen else 2},
            )
            fig.add_annotation(
                x=x - 2.0,
                y=side * 3.3,
                text=f"<b>{label(w.text(ROOT_CAUSE_LABELS[category]))}</b>",
                showarrow=False,
                font={"color": color, "size": 14},
            )
            causes = bones[category]
            for j, (text, _source) in enumerate(causes[:_BONE_CAUSES]):
                t = (j + 1) / (_BONE_CAUSES + 1)
                short = text if len(text) <= 28 else text[:27] + "…"
                fig.add_annotation(
                    x=x - 2.0 * (1 - t),
                    y=side * 3.0 * (1 - t),
                    text=label(short),
                    hovertext=label(text),
                    showarrow=False,
                    xanchor="right",
                    font={"size": 11},
                )
            if len(causes) > _BONE_CAUSES:
                fig.add_annotation(
                    x=x,
                    y=side * 0.25,
                    text=w(f"另 {len(causes) - _BONE_CAUSES} 条", f"+{len(causes) - _BONE_CAUSES}"),
                    showarrow=False,
                    xanchor="left",
                    font={"size": 10, "color": NEUTRAL},
                )
        fig.add_annotation(
            x=9.3,
            y=0,
            text=lines([p.id, kpi_label(p.kpi, w), p.segment[:30]]),
            showarrow=False,
            xanchor="left",
            bordercolor=BAD,
            borderwidth=2,
            borderpad=6,
        )
        fig.update_layout(
            title=label(f"{p.id} " + w.text(p.title)),
            xaxis={"visible": False, "range": [-0.5, 12.5]},
            yaxis={"visible": False, "range": [-3.8, 3.8]},
            height=360,
            showlegend=False,
        )
        out.append(fragment(fig, f"fishbone-{i}"))
    return out


def _higher_is_worse(kpi_name: str) -> bool:
    return KPIS[kpi_name].direction == Direction.LOWER


def _diagnosis(a: DiagnosisReport, w: Words) -> list[str]:
    bars = _baseline_vs_benchmark(a, w)
    return [
        *([bars] if bars else []),
        _quadrant(a, w),
        *_waterfalls(a, w),
        *_fishbones(a, w),
        *_control_charts(a, w),
        *(voice_charts(a.voice, w) if a.voice else []),
    ]


def _targets(a: TargetList, w: Words) -> list[str]:
    fig = go.Figure()
    labels = [label(f"{t.id} {kpi_label(t.kpi, w)}") for t in a.targets]
    change = [(t.target - t.baseline) / t.baseline if t.baseline else 0 for t in a.targets]
    fig.add_trace(go.Bar(x=labels, y=change, name=w("目标变化", "Target change")))
    fig.update_layout(
        title=w("目标相对基线的变化", "Target against baseline (change)"),
        yaxis={"tickformat": ".0%"},
    )
    return [fragment(fig, "targets")]


def _plan(a: ImplementationPlan, w: Words) -> list[str]:
    """The plotly timeline: a bar per task (red on the critical path), arrows from each
    predecessor's end to its successor's start, ◆ at each milestone."""
    tasks = list(reversed(a.tasks))
    names = {t.id: label(f"{w.text(t.name)} ({t.id})") for t in tasks}
    fig = go.Figure()
    after = w("前置", "after")
    for critical in (True, False):
        ts = [t for t in tasks if t.critical == critical]
        if not ts:
            continue
        fig.add_trace(
            go.Bar(
                y=[names[t.id] for t in ts],
                x=[(t.end - t.start + timedelta(days=1)).days * 86_400_000 for t in ts],
                base=[t.start.isoformat() for t in ts],
                orientation="h",
                name=w("关键路径", "Critical path") if critical else w("非关键", "Other tasks"),
                marker={"color": CRITICAL if critical else NORMAL},
                hovertext=[
                    lines(
                        [
                            w.text(t.name),
                            f"{t.start} → {t.end}",
                            f"{w('负责人', 'owner')}: {t.owner}",
                            f"{after}: {', '.join(t.depends_on) or '—'}",
                            f"{w('浮动', 'slack')}: {t.slack_days}",
                        ]
                    )
                    for t in ts
                ],
                hoverinfo="text",
            )
        )
    milestones = [t for t in tasks if t.milestone]
    if milestones:
        fig.add_trace(
            go.Scatter(
                x=[(m.end + timedelta(days=1)).isoformat() for m in milestones],
                y=[names[m.id] for m in milestones],
                mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": "#333"},
                name=w("里程碑", "Milestone"),
                hovertext=[lines([w.text(m.name), str(m.end)]) for m in milestones],
                hoverinfo="text",
            )
        )
    by_id = {t.id: t for t in tasks}
    for t in tasks:
        for pid in t.depends_on:
            before = by_id.get(pid)
            if before is None:
                continue
            on_path = before.critical and t.critical
            fig.add_annotation(
                x=t.start.isoformat(),
                y=names[t.id],
                ax=(before.end + timedelta(days=1)).isoformat(),
                ay=names[pid],
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowsize=1,
                arrowwidth=2 if on_path else 1,
                arrowcolor=CRITICAL if on_path else "#888",
                text="",
            )
    fig.update_layout(
        title=w(
            "甘特图（红色为关键路径，箭头为前置依赖）",
            "Gantt chart (red: critical path; arrows: dependencies)",
        ),
        barmode="overlay",
        xaxis={"type": "date"},
        height=max(380, 28 * len(tasks) + 140),
        yaxis={"categoryorder": "array", "categoryarray": [names[t.id] for t in tasks]},
        margin={"l": 320, "r": 20, "t": 60, "b": 50},
    )
    return [fragment(fig, "gantt")]


def _execution(a: ExecutionReport, w: Words) -> list[str]:
    out = []
    for i, tr in enumerate(a.trajectories):
        fig = go.Figure()
        x = [p.period for p in tr.points]
        fig.add_trace(
            go.Scatter(
                x=x, y=[p.actual for p in tr.points], mode="lines+markers", name=w("实际", "Actual")
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[p.planned for p in tr.points],
                mode="lines",
                line={"dash": "dash"},
                name=w("计划路径", "Planned path"),
            )
        )
        fig.update_layout(
            title=label(f"{tr.target_id} {kpi_label(tr.kpi, w)}"),
            xaxis=MONTHS_AXIS,
            yaxis={"tickformat": _tickformat(tr.kpi)},
        )
        out.append(fragment(fig, f"trajectory-{i}"))
    for j, p in enumerate(a.pilots):
        out.append(_pilot_chart(p, w, f"pilot-{j}"))
    return out


def _pilot_colour(r: PilotKpiResult) -> str:
    return GOOD if r.verdict == "roll_out" else BAD if r.moved == "worse" else NEUTRAL


def _pilot_chart(p: PilotEvaluation, w: Words, div_id: str) -> str:
    """Each KPI's effect with its 95% interval; zero marked, green where it rolls out."""
    names = [label(kpi_label(r.kpi, w)) for r in p.kpis]
    shown = [r for r in p.kpis if r.effect is not None]
    fig = go.Figure(
        go.Scatter(
            x=[r.effect for r in shown],
            y=[names[p.kpis.index(r)] for r in shown],
            mode="markers",
            marker={"size": 12, "color": [_pilot_colour(r) for r in shown]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(r.ci_high or 0) - (r.effect or 0) for r in shown],
                "arrayminus": [(r.effect or 0) - (r.ci_low or 0) for r in shown],
            },
            hovertext=[
                lines(
                    [
                        kpi_label(r.kpi, w),
                        f"{w('效应', 'effect')}: {r.effect:.3g}",
                        f"95%: [{r.ci_low:.3g}, {r.ci_high:.3g}]",
                        f"p = {r.p_value:.3g}" if r.p_value is not None else "p —",
                        w.text(r.reason),
                    ]
                )
                for r in shown
            ],
            hoverinfo="text",
        )
    )
    fig.add_vline(x=0, line_dash="dash")
    fig.update_layout(
        title=label(
            w.text(p.name)
            + " · "
            + w("双重差分效应及 95% 区间", "diff-in-diff effect, 95% interval")
        ),
        height=max(260, 70 * len(p.kpis) + 140),
        margin={"l": 220},
    )
    return fragment(fig, div_id)


def _evaluation(a: EvaluationReport, w: Words) -> list[str]:
    fig = go.Figure(
        go.Bar(
            x=[label(f"{r.target_id} {kpi_label(r.kpi, w)}") for r in a.results],
            y=[r.achievement_display for r in a.results],
            marker={"color": [GOOD if r.met else BAD for r in a.results]},
        )
    )
    fig.add_hline(y=1.0, line_dash="dash", annotation_text="100%")
    fig.update_layout(
        title=w("目标达成率（绿色：达成）", "Target achievement (green: met)"),
        yaxis={"tickformat": ".0%", "range": [0, 1.6]},
    )
    return [fragment(fig, "achievement"), *_comparisons(a, w)]


def _comparisons(a: EvaluationReport, w: Words) -> list[str]:
    """Each target's change, relative to its reference, with the 95% interval: before/after
    beside the same period last year, so a seasonal gain shows as a gap between the two."""
    fig = go.Figure()
    names = {
        "before_after": w("前后对比", "before / after"),
        "same_period": w("同期对比", "same period last year"),
    }
    for basis in ("before_after", "same_period"):
        xs, ys, lows, highs = [], [], [], []
        for r in a.results:
            c = r.before_after if basis == "before_after" else r.same_period
            if c is None or c.change is None or not c.reference.value:
                continue
            ref = abs(c.reference.value)
            xs.append(c.change / ref)
            ys.append(label(f"{r.target_id} {kpi_label(r.kpi, w)}"))
            lows.append((c.change - c.ci_low) / ref if c.ci_low is not None else 0)
            highs.append((c.ci_high - c.change) / ref if c.ci_high is not None else 0)
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="markers",
                    name=names[basis],
                    error_x={"type": "data", "array": highs, "arrayminus": lows},
                )
            )
    if not fig.data:
        return []
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(
        title=w("相对参照期的变化（95% 区间）", "Change against the reference (95% interval)"),
        xaxis={"tickformat": ".0%"},
        height=max(260, 60 * len(a.results) + 160),
        margin={"l": 220},
    )
    return [fragment(fig, "comparisons")]


def charts_for(artifact: Artifact, w: Words) -> list[str]:
    """The chart fragments of a stage's page (none for the optimisation report)."""
    if isinstance(artifact, DiagnosisReport):
        return _diagnosis(artifact, w)
    if isinstance(artifact, TargetList):
        return _targets(artifact, w)
    if isinstance(artifact, ImplementationPlan):
        return _plan(artifact, w)
    if isinstance(artifact, ExecutionReport):
        return _execution(artifact, w)
    if isinstance(artifact, EvaluationReport):
        return _evaluation(artifact, w)
    return []
