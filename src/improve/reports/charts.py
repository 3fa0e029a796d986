"""Plotly figures of the stage artifacts, as HTML fragments that load plotly.min.js from
beside the page (never a CDN)."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go

from improve.domain.artifacts import (
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    TargetList,
)
from improve.domain.base import Artifact
from improve.domain.kpi import KPIS
from improve.reports.content import CATEGORY
from improve.reports.sections import Words

LAYOUT = {
    "template": "plotly_white",
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "font": {"family": "sans-serif"},
}


def fragment(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div> and its script, with no plotly.js of its own."""
    fig.update_layout(**LAYOUT)
    html: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return html


def _diagnosis(a: DiagnosisReport, w: Words) -> list[str]:
    out = []
    scatter = go.Figure()
    for category in ("people", "process", "tools", "resources"):
        ps = [p for p in a.problems if p.category.value == category]
        if ps:
            scatter.add_trace(
                go.Scatter(
                    x=[p.feasibility for p in ps],
                    y=[p.impact for p in ps],
                    mode="markers+text",
                    text=[p.id for p in ps],
                    textposition="top center",
                    hovertext=[w.text(p.title) for p in ps],
                    hoverinfo="text",
                    name=w.text(CATEGORY[category]),
                    marker={"size": 14},
                )
            )
    scatter.add_hline(y=0.5, line_dash="dot")
    scatter.add_vline(x=0.5, line_dash="dot")
    scatter.update_layout(
        title=w("优先级四象限：影响 × 可行性", "Priority: impact × feasibility"),
        xaxis={"title": w("可行性", "Feasibility"), "range": [0, 1.05]},
        yaxis={"title": w("影响", "Impact"), "range": [0, 1.1]},
    )
    out.append(fragment(scatter, "quadrant"))
    for row in a.baseline:
        if not ((row.gap or 0) > 0 or row.deteriorated) or not row.monthly:
            continue
        fig = go.Figure(
            go.Scatter(
                x=[p.period for p in row.monthly],
                y=[p.value for p in row.monthly],
                mode="lines+markers",
                name=w.text(KPIS[row.kpi].label),
            )
        )
        if row.benchmark is not None:
            fig.add_hline(y=row.benchmark, line_dash="dash", annotation_text=w("基准", "benchmark"))
        fig.update_layout(
            title=w.text(KPIS[row.kpi].label) + w("：月度趋势", ": monthly trend"),
            yaxis={"tickformat": ".0%" if KPIS[row.kpi].is_rate else ""},
        )
        out.append(fragment(fig, f"trend-{row.kpi}"))
    return out


def _targets(a: TargetList, w: Words) -> list[str]:
    fig = go.Figure()
    labels = [f"{t.id} {w.text(KPIS[t.kpi].label)}" for t in a.targets]
    change = [100 * (t.target - t.baseline) / t.baseline if t.baseline else 0 for t in a.targets]
    fig.add_trace(go.Bar(x=labels, y=change, name=w("目标变化 %", "Target change %")))
    fig.update_layout(title=w("目标相对基线的变化（%）", "Target against baseline (% change)"))
    return [fragment(fig, "targets")]


def _plan(a: ImplementationPlan, w: Words) -> list[str]:
    tasks = list(reversed(a.tasks))
    fig = go.Figure()
    for critical in (True, False):
        ts = [t for t in tasks if t.critical == critical]
        if not ts:
            continue
        fig.add_trace(
            go.Bar(
                y=[f"{w.text(t.name)} ({t.id})" for t in ts],
                x=[(t.end - t.start + timedelta(days=1)).days * 86_400_000 for t in ts],
                base=[t.start.isoformat() for t in ts],
                orientation="h",
                name=w("关键路径", "Critical path") if critical else w("非关键", "Other tasks"),
                marker={"color": "#C00000" if critical else "#5B9BD5"},
                hovertext=[
                    f"{t.start} → {t.end}; "
                    + w("前置", "after")
                    + ": "
                    + (", ".join(t.depends_on) or "—")
                    for t in ts
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=w("甘特图", "Gantt chart"),
        barmode="overlay",
        xaxis={"type": "date"},
        height=max(380, 28 * len(tasks) + 120),
        yaxis={
            "categoryorder": "array",
            "categoryarray": [f"{w.text(t.name)} ({t.id})" for t in tasks],
        },
    )
    fig.update_layout(margin={"l": 320})
    html = fragment(fig, "gantt")
    return [html]


def _execution(a: ExecutionReport, w: Words) -> list[str]:
    out = []
    for tr in a.trajectories:
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=[p.period for p in tr.points],
                y=[p.actual for p in tr.points],
                mode="lines+markers",
                name=w("实际", "Actual"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[p.period for p in tr.points],
                y=[p.planned for p in tr.points],
                mode="lines",
                line={"dash": "dash"},
                name=w("计划路径", "Planned path"),
            )
        )
        fig.update_layout(
            title=f"{tr.target_id} {w.text(KPIS[tr.kpi].label)}",
            yaxis={"tickformat": ".0%" if KPIS[tr.kpi].is_rate else ""},
        )
        out.append(fragment(fig, f"trajectory-{tr.target_id}"))
    if a.pilot is not None:
        p = a.pilot
        fig = go.Figure()
        before, after = w("之前", "Before"), w("之后", "After")
        fig.add_trace(
            go.Bar(
                x=[before, after],
                y=[p.pilot_before, p.pilot_after],
                name=w("试点范围", "Pilot scope"),
            )
        )
        fig.add_trace(
            go.Bar(
                x=[before, after],
                y=[p.control_before, p.control_after],
                name=w("对照组", "Control"),
            )
        )
        fig.update_layout(title=w.text(p.name), barmode="group")
        out.append(fragment(fig, "pilot"))
    return out


def _evaluation(a: EvaluationReport, w: Words) -> list[str]:
    fig = go.Figure(
        go.Bar(
            x=[f"{r.target_id} {w.text(KPIS[r.kpi].label)}" for r in a.results],
            y=[r.achievement_display for r in a.results],
            marker={"color": ["#2E7D32" if r.met else "#C62828" for r in a.results]},
        )
    )
    fig.add_hline(y=1.0, line_dash="dash", annotation_text="100%")
    fig.update_layout(
        title=w("目标达成率", "Target achievement"), yaxis={"tickformat": ".0%", "range": [0, 1.6]}
    )
    return [fragment(fig, "achievement")]


def charts_for(artifact: Artifact, w: Words) -> list[str]:
    """The chart fragments of a stage's page."""
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
