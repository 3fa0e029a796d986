"""The root-cause part of the diagnosis report: the fishbone (causes by category), the 5-Why
chains stakeholders wrote, and the priority table."""

from __future__ import annotations

from improve.domain.artifacts import DiagnosisReport, Problem
from improve.domain.base import ROOT_CAUSE_LABELS, RootCause, Text
from improve.reports.labels import kpi_label
from improve.reports.sections import Fmt, Section, Words

QUADRANTS = {
    1: Text(zh="优先处理（高影响、高可行）", en="Do first (high impact, high feasibility)"),
    2: Text(zh="重点攻关（高影响、低可行）", en="Plan for (high impact, low feasibility)"),
    3: Text(zh="快速改进（低影响、高可行）", en="Quick win (low impact, high feasibility)"),
    4: Text(zh="暂缓（低影响、低可行）", en="Defer (low impact, low feasibility)"),
}
TEXT_COLUMNS: list[Fmt] = ["text"] * 11
CAUSE_SOURCES = {
    "evidence": Text(zh="数据证据", en="Data evidence"),
    "root_cause": Text(zh="根本原因（5-Why）", en="Root cause (5-Why)"),
    "stakeholder": Text(zh="相关方补充", en="Stakeholders"),
}


def fishbone_causes(p: Problem, w: Words) -> dict[RootCause, list[tuple[str, str]]]:
    """Each bone's causes with their source: the evidence on the suggested category's bone,
    the 5-Why root cause on the category in force, the stakeholders' further causes."""
    bones: dict[RootCause, list[tuple[str, str]]] = {c: [] for c in RootCause}
    for e in p.evidence:
        bones[p.suggested].append((w.text(e.text), "evidence"))
    if p.review is not None:
        if p.review.root_cause:
            bones[p.category].append((p.review.root_cause, "root_cause"))
        for cause in p.review.causes:
            bones[cause.category].append((cause.text, "stakeholder"))
    return bones


def rootcause_sections(a: DiagnosisReport, w: Words) -> list[Section]:
    """Fishbone, 5-Why and priority sections of the diagnosis."""
    fishbone = Section(
        "fishbone",
        w("根因分析（鱼骨图）", "Root causes (fishbone)"),
        [w("编号", "ID"), w("问题", "Problem"), w("类别", "Bone"), w("成因", "Cause"),
         w("来源", "Source")],
        ["text", "text", "text", "text", "text"],
        note=w(
            "数据证据来自诊断引擎；根本原因与补充成因来自相关方填写的根因分析工作表。",
            "Data evidence comes from the engine; root causes and further causes from the "
            "stakeholders' root-cause worksheet.",
        ),
    )  # fmt: skip
    for p in a.problems:
        for category, causes in fishbone_causes(p, w).items():
            for text, source in causes:
                fishbone.add(
                    p.id,
                    w.text(p.title),
                    w.text(ROOT_CAUSE_LABELS[category]),
                    text,
                    w.text(CAUSE_SOURCES[source]),
                )
    whys = Section(
        "five_why",
        "5-Why",
        [
            w("编号", "ID"),
            w("问题", "Problem"),
            w("建议类别", "Suggested category"),
            w("确认类别", "Confirmed category"),
            *(w(f"为什么 {i}", f"Why {i}") for i in range(1, 6)),
            w("根本原因", "Root cause"),
            w("填写人", "Reviewer"),
            w("日期", "Date"),
        ],
        [*TEXT_COLUMNS, "date"],
        note=w(
            "尚未评审的问题：在 diagnose-worksheet.xlsx 中填写后运行 improve rootcause import。",
            "Problems not yet reviewed: fill in diagnose-worksheet.xlsx, then run "
            "improve rootcause import.",
        ),
    )
    for p in a.problems:
        r = p.review
        chain = list(r.whys) if r else []
        whys.add(
            p.id,
            w.text(p.title),
            w.text(ROOT_CAUSE_LABELS[p.suggested]),
            w.text(ROOT_CAUSE_LABELS[r.confirmed_category])
            if r and r.confirmed_category
            else w("（待评审）", "(awaiting review)"),
            *(chain[i] if i < len(chain) else None for i in range(5)),
            r.root_cause if r else None,
            r.reviewer if r else None,
            r.reviewed_on if r else None,
        )
    priority = Section(
        "priority",
        w("优先级", "Priority"),
        [
            w("优先级", "Priority"),
            w("编号", "ID"),
            w("问题", "Problem"),
            w("指标", "KPI"),
            w("影响", "Impact"),
            w("可行性", "Feasibility"),
            w("可行性来源", "Feasibility from"),
            w("象限", "Quadrant"),
            w("影响工单", "Tickets affected"),
            w("建议策略", "Strategy"),
        ],
        ["int", "text", "text", "text", "num2", "num2", "text", "text", "int", "text"],
        note=w(
            "影响 = 受影响客户 × 差距严重度（相对最大者）；可行性来自方案库的工作量，或相关方评分"
            "（1–5 分折算为 0.2–1.0）。先做高影响、高可行的问题。",
            "Impact: customers affected × severity of the gap (relative to the largest); "
            "feasibility: the playbook's effort, or the stakeholders' rating (1–5 as 0.2–1.0). "
            "High impact, high feasibility first.",
        ),
    )
    for p in sorted(a.problems, key=lambda p: p.priority):
        priority.add(
            p.priority,
            p.id,
            w.text(p.title),
            kpi_label(p.kpi, w),
            p.impact,
            p.feasibility,
            w("相关方评分", "stakeholders")
            if p.feasibility_source == "stakeholders"
            else w("方案库", "playbook"),
            w.text(QUADRANTS[p.quadrant]),
            p.affected_tickets,
            p.strategy,
        )
    return [fishbone, whys, priority]
