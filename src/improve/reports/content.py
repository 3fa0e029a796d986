"""The sections of each stage's report, in the report's language."""

from __future__ import annotations

from typing import Any

from improve.domain.artifacts import (
    Comparison,
    DiagnosisReport,
    EvaluationReport,
    ExecutionReport,
    ImplementationPlan,
    OptimisationReport,
    TargetList,
)
from improve.domain.base import ROOT_CAUSE_LABELS, Artifact, Locale, Text
from improve.domain.programme import Programme
from improve.reports.labels import dim_label, is_rate, kpi_label, kv
from improve.reports.rootcause import rootcause_sections
from improve.reports.sections import Fmt, Section, Val, Words
from improve.reports.voice import voice_sections

DIMENSION = {
    "efficiency": Text(zh="效率", en="Efficiency"),
    "quality": Text(zh="质量", en="Quality"),
    "experience": Text(zh="体验", en="Experience"),
    "cost": Text(zh="成本", en="Cost"),
}
STATUS = {
    "not_started": Text(zh="未开始", en="Not started"),
    "on_track": Text(zh="正常", en="On track"),
    "late": Text(zh="滞后", en="Late"),
    "done": Text(zh="已完成", en="Done"),
    "blocked": Text(zh="受阻", en="Blocked"),
    "no_report": Text(zh="未填报", en="No report"),
}
OUTCOME = {
    "successful": Text(zh="成功", en="Successful"),
    "partly_successful": Text(zh="部分成功", en="Partly successful"),
    "unsuccessful": Text(zh="未成功", en="Unsuccessful"),
    "withdrawn": Text(zh="撤回", en="Withdrawn"),
}
NUM2: Fmt = "num2"
VERDICT = {
    "roll_out": Text(zh="推广", en="Roll out"),
    "extend": Text(zh="延长试点", en="Extend"),
    "stop": Text(zh="停止", en="Stop"),
}
TESTS = {
    "rank_did": Text(zh="秩双重差分检验", en="rank diff-in-diff test"),
    "two_proportion": Text(zh="两比例 z 检验", en="two-proportion z-test"),
    "welch": Text(zh="Welch z 检验", en="Welch z-test"),
    "mann_whitney": Text(zh="Mann-Whitney 秩和检验", en="Mann-Whitney test"),
    "welch_t": Text(zh="Welch t 检验", en="Welch t-test"),
}
CARRY = {
    "unmet_target": Text(zh="未达成目标", en="Unmet target"),
    "unresolved_problem": Text(zh="未处理问题", en="Unresolved problem"),
    "incomplete_task": Text(zh="未完成任务", en="Incomplete task"),
}


def _departments(programme: Programme | None, w: Words) -> dict[str, str]:
    """Department key -> name in the locale; without a programme the keys stand for
    themselves."""
    return {d.key: w.text(d.name) for d in programme.departments} if programme else {}


def diagnosis_sections(a: DiagnosisReport, w: Words, programme: Programme | None) -> list[Section]:
    """Summary, KPI baseline, problems and gap drivers of the diagnosis."""
    summary = Section(
        "summary", w("概览", "Summary"), [w("项目", "Item"), w("内容", "Value")], ["text", "text"]
    )
    summary.add(w("基线窗口起", "Baseline window from"), Val(a.window_start, "date"))
    summary.add(w("基线窗口止", "Baseline window to"), Val(a.window_end, "date"))
    summary.add(w("工单数", "Tickets"), Val(a.tickets, "int"))
    summary.add(
        w("落后于基准的指标", "KPIs behind benchmark"),
        Val(sum(1 for b in a.baseline if (b.gap or 0) > 0), "int"),
    )
    summary.add(
        w("趋势恶化的指标", "KPIs deteriorating"),
        Val(sum(1 for b in a.baseline if b.deteriorated), "int"),
    )
    summary.add(w("发现问题", "Problems found"), Val(len(a.problems), "int"))
    summary.add(w("数据指纹", "Data fingerprint"), a.data_fingerprint[:16])
    base = Section(
        "baseline",
        w("KPI 基线", "KPI baseline"),
        [
            w("指标", "KPI"),
            w("基线值", "Baseline"),
            w("基准值", "Benchmark"),
            w("基准来源", "Benchmark source"),
            w("差距", "Gap"),
            w("前三月", "First 3 months"),
            w("后三月", "Last 3 months"),
            w("恶化", "Deteriorated"),
        ],
        ["text", "num1", "num1", "text", "num1", "num1", "num1", "text"],
    )
    for b in a.baseline:
        base.add(
            kpi_label(b.kpi, w),
            kv(b.kpi, b.value),
            kv(b.kpi, b.benchmark),
            b.benchmark_source,
            kv(b.kpi, b.gap),
            kv(b.kpi, b.early),
            kv(b.kpi, b.late),
            w("是", "yes") if b.deteriorated else w("否", "no"),
        )
    problems = Section(
        "problems",
        w("问题清单", "Problems"),
        [
            w("编号", "ID"),
            w("问题", "Problem"),
            w("指标", "KPI"),
            w("根因类别", "Root cause"),
            w("维度", "Dimension"),
            w("细分", "Segment"),
            w("证据", "Evidence"),
            w("置信度", "Confidence"),
            w("影响", "Impact"),
            w("可行性", "Feasibility"),
            w("象限", "Quadrant"),
            w("优先级", "Priority"),
            w("建议策略", "Strategy"),
            w("恶化始于", "Started"),
        ],
        [
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "pct",
            "num2",
            "num2",
            "int",
            "int",
            "text",
            "date",
        ],
    )
    for p in a.problems:
        problems.add(
            p.id,
            w.text(p.title),
            kpi_label(p.kpi, w),
            w.text(ROOT_CAUSE_LABELS[p.category]),
            dim_label(p.dimension, w),
            p.segment,
            "；".join(w.text(e.text) for e in p.evidence),
            p.confidence,
            p.impact,
            p.feasibility,
            p.quadrant,
            p.priority,
            p.strategy,
            p.started,
        )
    drivers = Section(
        "drivers",
        w("差距贡献分解", "Gap drivers"),
        [
            w("指标", "KPI"),
            w("维度", "Dimension"),
            w("细分", "Segment"),
            w("工单数", "Tickets"),
            w("占比", "Share"),
            w("细分值", "Segment value"),
            w("差距贡献", "Share of gap"),
            w("结构效应", "Mix effect"),
            w("绩效效应", "Rate effect"),
        ],
        ["text", "text", "text", "int", "pct", "num1", "pct", "pct", "pct"],
        note=w(
            "贡献 = 细分对差距的份额（同一维度合计 100%）；仅趋势恶化的指标按前三月到后三月的"
            "变化分解，结构效应来自工单占比的变化，绩效效应来自细分自身的变化。",
            "Share of gap: what the segment explains (each dimension adds up to 100%). A KPI that "
            "only deteriorated is split by its change from the first to the last three months: "
            "mix is work moving between segments, rate is segments themselves changing.",
        ),
    )
    for kpi_name, segments in a.drivers.items():
        for s in [s for s in segments if s.dimension != "agent"][:12]:
            drivers.add(
                kpi_label(kpi_name, w),
                dim_label(s.dimension, w),
                s.value,
                s.tickets,
                s.share,
                kv(kpi_name, s.kpi_value),
                s.contribution,
                s.mix,
                s.rate,
            )
    return [
        summary,
        base,
        problems,
        *([carried_section(a, w)] if a.carried_over else []),
        *rootcause_sections(a, w),
        explanation_section(a, w),
        drivers,
        *control_sections(a, w),
        *(voice_sections(a.voice, w) if a.voice else []),
    ]


CARRIED_STATUS = {
    "found_again": Text(zh="本轮仍发现", en="found again"),
    "not_found_again": Text(zh="本轮未再发现", en="not found again"),
    "open": Text(zh="待负责人跟进", en="open, for the owner"),
}


def carried_section(a: DiagnosisReport, w: Words) -> Section:
    """What the previous cycle left, beside this diagnosis's findings."""
    section = Section(
        "carried",
        w("上轮遗留", "Carried over"),
        [
            w("来自周期", "From cycle"),
            w("类型", "Kind"),
            w("编号", "Ref"),
            w("指标", "KPI"),
            w("说明", "Reason"),
            w("本轮状态", "Now"),
            w("本轮问题", "Problems now"),
        ],
        ["text"] * 7,
        note=w(
            "上一周期持续优化报告中未达成的目标、未处理的问题、未完成的任务和经验教训；"
            "与本轮诊断发现的同一指标问题相互对应。",
            "The previous cycle's unmet targets, unresolved problems, unfinished tasks and "
            "lessons, matched to this diagnosis's problems on the same KPI.",
        ),
    )
    for c in a.carried_over:
        section.add(
            c.from_cycle,
            w.text(CARRY.get(c.kind, Text(zh="经验教训", en="Lesson"))),
            c.ref or "—",
            kpi_label(c.kpi, w) if c.kpi else "—",
            w.text(c.reason),
            w.text(CARRIED_STATUS[c.status]),
            ", ".join(c.problem_ids) or "—",
        )
    return section


def explanation_section(a: DiagnosisReport, w: Words) -> Section:
    """Per gap: the dimension that concentrates it, what its top segments explain, mix
    against rate, and the drill-down into the leading segment."""
    out = Section(
        "explanations",
        w("差距解释", "Gap explanation"),
        [
            w("指标", "KPI"),
            w("对照", "Against"),
            w("对照值", "Reference"),
            w("当前值", "Value"),
            w("主导维度", "Leading dimension"),
            w("主要细分", "Top segments"),
            w("解释差距", "Share of gap explained"),
            w("其工单占比", "Their share of tickets"),
            w("结构效应", "Mix"),
            w("绩效效应", "Rate"),
            w("下钻", "Drill-down"),
            w("下钻解释", "Drill-down explains"),
        ],
        ["text", "text", "num1", "num1", "text", "text", "pct", "pct", "pct", "pct", "text", "pct"],
        note=w(
            "主导维度：主要细分解释的差距份额超出其工单占比最多的维度；下钻在主导细分内按第二个维度分解。",
            "Leading dimension: the one whose top segments explain the most more than their share "
            "of tickets; the drill-down splits the leading segment by a second dimension.",
        ),
    )
    for kpi_name, e in a.explanations.items():
        lead = e.lead
        drill = None
        if e.drill is not None:
            top = [s.value for s in e.drill.segments if s.contribution > 0][:3]
            drill = f"{e.drill.parent} → {dim_label(e.drill.dimension, w)}: {'、'.join(top)}"
        out.add(
            kpi_label(kpi_name, w),
            w("基准", "benchmark") if e.basis == "benchmark" else w("前三月", "first 3 months"),
            kv(kpi_name, e.reference),
            kv(kpi_name, e.value),
            dim_label(lead.dimension, w),
            "、".join(lead.top) or w("（分布均匀）", "(spread evenly)"),
            lead.explained,
            lead.weight_share,
            lead.mix,
            lead.rate,
            drill,
            e.drill.explained if e.drill else None,
        )
    return out


RULES: dict[str, tuple[str, str]] = {
    "beyond_limits": ("超出控制限", "beyond the 3-sigma limits"),
    "two_of_three": ("三点中两点超出 2σ", "two of three beyond 2 sigma"),
    "run_of_eight": ("连续 8 点在中心线同侧", "eight in a row on one side"),
    "trend_of_six": ("连续 6 点上升或下降", "six in a row rising or falling"),
}


def control_sections(a: DiagnosisReport, w: Words) -> list[Section]:
    """Each KPI's weekly control chart in figures, and every special cause found."""
    charts = Section(
        "control",
        w("控制图与变化点", "Control charts and shifts"),
        [
            w("指标", "KPI"),
            w("图类", "Chart"),
            w("周数", "Weeks"),
            w("中心线", "Centre"),
            w("特殊原因（变差）", "Special causes (worse)"),
            w("特殊原因（变好）", "Special causes (better)"),
            w("变化始于", "Shift from"),
            w("变化前", "Before"),
            w("变化后", "After"),
            w("p 值", "p-value"),
        ],
        ["text", "text", "int", "num1", "int", "int", "date", "num1", "num1", "pval"],
        note=w(
            "XmR 图（时长、数量）与 Laney p′ 图（比率），σ 取自移动极差中位数；变化点由 "
            "CUSUM 检验在 1% 水平判定，单凭连串规则不足以断定变化。",
            "XmR charts (durations, counts) and Laney p' charts (rates), sigma from the median "
            "moving range; a shift is asserted by the CUSUM test at 1%, never by a run rule "
            "alone.",
        ),
    )
    signals = Section(
        "signals",
        w("特殊原因", "Special causes"),
        [
            w("指标", "KPI"),
            w("规则", "Rule"),
            w("起始周", "First week"),
            w("触发周", "Week"),
            w("方向", "Direction"),
        ],
        ["text", "text", "date", "date", "text"],
    )
    for b in a.baseline:
        c = b.chart
        if c is None or c.center is None:
            continue
        shift = c.shift
        charts.add(
            kpi_label(b.kpi, w),
            "p′" if c.kind == "p" else "XmR",
            sum(v is not None for v in c.values),
            kv(b.kpi, c.center),
            sum(1 for x in c.signals if x.worse),
            sum(1 for x in c.signals if x.worse is False),
            shift.started if shift else None,
            kv(b.kpi, shift.before if shift else None),
            kv(b.kpi, shift.after if shift else None),
            shift.p_value if shift else None,
        )
        for x in c.signals:
            direction = {
                True: w("变差", "worse"),
                False: w("变好", "better"),
                None: w("上升", "up") if x.direction == "up" else w("下降", "down"),
            }[x.worse]
            signals.add(kpi_label(b.kpi, w), w(*RULES[x.rule]), x.first_week, x.week, direction)
    return [charts, signals]


def target_sections(a: TargetList, w: Words, programme: Programme | None) -> list[Section]:
    """The target list with its SMART check, and the department sub-targets."""
    depts = _departments(programme, w)
    targets = Section(
        "targets",
        w("目标清单", "Targets"),
        [
            w("编号", "ID"),
            w("指标", "KPI"),
            w("维度", "Dimension"),
            w("基线", "Baseline"),
            w("目标", "Target"),
            w("单位", "Unit"),
            w("方向", "Direction"),
            w("截止日期", "Deadline"),
            w("责任部门", "Owner"),
            w("对应问题", "Problems"),
            w("战略目标", "Objective"),
            w("设定规则", "Rule"),
            "S",
            "M",
            "A",
            "R",
            "T",
            w("未通过项", "SMART failures"),
        ],
        [
            "text",
            "text",
            "text",
            "num1",
            "num1",
            "text",
            "text",
            "date",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
        ],
    )
    subs = Section(
        "subtargets",
        w("部门子目标", "Department sub-targets"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("部门", "Department"),
            w("部门基线", "Baseline"),
            w("部门目标", "Sub-target"),
            w("计量基数", "Counted"),
            w("量占比", "Volume share"),
            w("责任占比", "Share of the improvement"),
        ],
        ["text", "text", "text", "num1", "num1", "int", "pct", "pct"],
    )
    cascades = Section(
        "cascade",
        w("目标分解校验", "Cascade check"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("分解规则", "Rule"),
            w("各部门均达标时的整体值", "Overall if every department meets its sub-target"),
            w("整体目标", "Overall target"),
            w("成立", "Holds"),
            w("计算过程", "Working"),
        ],
        ["text", "text", "text", "num1", "num1", "text", "text"],
        note=w(
            "加权平均：整体值即各部门值按计量基数加权的平均；分位数：每个部门至少一半（或 90%）"
            "的工单达到该值，则全部工单亦然；数量：各部门之和。数值均向更优方向取整。",
            "Weighted mean: the overall value is the departments' values weighted by what each "
            "counts; percentile: when at least half (or 90%) of every department's tickets are "
            "within the value, so are at least half (90%) of all tickets; count: the "
            "departments add up. Sub-targets are rounded towards the better side.",
        ),
    )
    rules = {
        "weighted_mean": w("加权平均", "weighted mean"),
        "every_department": w("分位数：每个部门不劣于整体目标", "percentile: every department"),
        "sum": w("数量相加", "sum"),
    }
    for t in a.targets:
        mark = {True: "✓", False: "✗"}
        direction = (
            w("越低越好", "lower is better")
            if t.direction.value == "lower"
            else w("越高越好", "higher is better")
        )
        targets.add(
            t.id,
            kpi_label(t.kpi, w),
            w.text(DIMENSION[t.dimension.value]),
            kv(t.kpi, t.baseline),
            kv(t.kpi, t.target),
            t.unit,
            direction,
            t.deadline,
            depts.get(t.owner_department, t.owner_department),
            ", ".join(t.problem_ids),
            w.text(t.objective),
            w.text(t.rule) + (f"（{t.justification}）" if t.justification else ""),
            mark[t.smart.specific],
            mark[t.smart.measurable],
            mark[t.smart.achievable],
            mark[t.smart.relevant],
            mark[t.smart.time_bound],
            "；".join(w.text(f) for f in t.smart.failures),
        )
        for s in t.sub_targets:
            subs.add(
                t.id,
                kpi_label(t.kpi, w),
                depts.get(s.department, s.department),
                kv(t.kpi, s.baseline),
                kv(t.kpi, s.target),
                s.weight,
                s.volume_share,
                s.responsibility,
            )
        if t.cascade is not None:
            cascades.add(
                t.id,
                kpi_label(t.kpi, w),
                rules[t.cascade.rule],
                kv(t.kpi, t.cascade.achieved),
                kv(t.kpi, t.target),
                mark[t.cascade.holds],
                t.cascade.working,
            )
    return [targets, subs, cascades]


def plan_sections(a: ImplementationPlan, w: Words, programme: Programme | None) -> list[Section]:
    """Strategies, tasks and the RACI matrix (the workbook adds the Gantt sheet)."""
    depts = _departments(programme, w)
    strategies = Section(
        "strategies",
        w("策略", "Strategies"),
        [
            w("策略", "Strategy"),
            w("根因类别", "Root cause"),
            w("说明", "Description"),
            w("对应问题", "Problems"),
            w("对应目标", "Targets"),
        ],
        ["text"] * 5,
    )
    for s in a.strategies:
        strategies.add(
            w.text(s.name),
            w.text(ROOT_CAUSE_LABELS[s.category]),
            w.text(s.description),
            ", ".join(s.problem_ids),
            ", ".join(s.target_ids),
        )
    tasks = Section(
        "tasks",
        w("任务", "Tasks"),
        [
            w("任务编号", "Task ID"),
            w("任务", "Task"),
            w("负责人", "Owner"),
            w("负责部门", "Department"),
            w("角色", "Role"),
            w("开始", "Start"),
            w("结束", "End"),
            w("工作日", "Working days"),
            w("前置任务", "Depends on"),
            w("资源", "Resources"),
            w("验收标准", "Acceptance"),
            w("关键路径", "Critical"),
            w("浮动天数", "Slack"),
        ],
        [
            "text",
            "text",
            "text",
            "text",
            "text",
            "date",
            "date",
            "int",
            "text",
            "text",
            "text",
            "text",
            "int",
        ],
    )
    for t in a.tasks:
        tasks.add(
            t.id,
            w.text(t.name),
            t.owner,
            depts.get(t.department, t.department),
            t.role,
            t.start,
            t.end,
            t.working_days,
            ", ".join(t.depends_on),
            w.text(t.resources),
            w.text(t.acceptance),
            w("是", "yes") if t.critical else "",
            t.slack_days,
        )
    departments, cells = raci_matrix(a)
    raci = Section(
        "raci",
        w("责任矩阵", "RACI"),
        [w("任务", "Task"), *(depts.get(d, d) for d in departments)],
        ["text"] * (len(departments) + 1),
        note=w(
            "R 执行、A 负责（每项任务恰有一个）、C 咨询、I 知会",
            "R responsible, A accountable (exactly one per task), C consulted, I informed",
        ),
    )
    for t in a.tasks:
        raci.add(f"{t.id} {w.text(t.name)}", *(cells[t.id].get(d, "") for d in departments))
    out = [strategies, tasks, raci]
    if a.overallocations:
        over = Section(
            "overallocation",
            w("资源超负荷", "Over-allocation"),
            [
                w("负责人", "Owner"),
                w("开始", "From"),
                w("结束", "To"),
                w("占用", "Booked"),
                w("可用", "Capacity"),
                w("重叠任务", "Overlapping tasks"),
            ],
            ["text", "date", "date", "pct", "pct", "text"],
        )
        for o in a.overallocations:
            over.add(o.owner, o.start, o.end, o.booked, o.capacity, ", ".join(o.task_ids))
        out.append(over)
    if a.changes:
        changes = Section(
            "changes",
            w(f"相对 v{a.revised_from} 的修改", f"Changes from v{a.revised_from}"),
            [w("任务", "Task"), w("字段", "Field"), w("修改前", "Before"), w("修改后", "After")],
            ["text"] * 4,
        )
        fields = {
            "start": w("开始", "start"),
            "end": w("结束", "end"),
            "owner": w("负责人", "owner"),
        }
        for c in a.changes:
            dept = c.field.removeprefix("raci:")
            field = fields.get(c.field) or f"RACI · {depts.get(dept, dept)}"
            changes.add(c.task_id, field, c.before, c.after)
        out.append(changes)
    return out


def raci_matrix(a: ImplementationPlan) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Departments in order and task -> department -> letters ('A/R')."""
    departments = list(dict.fromkeys(e.department for e in a.raci))
    cells: dict[str, dict[str, str]] = {t.id: {} for t in a.tasks}
    for e in a.raci:
        have = cells[e.task_id].get(e.department)
        cells[e.task_id][e.department] = e.letter if not have else f"{have}/{e.letter}"
    return departments, cells


def execution_sections(a: ExecutionReport, w: Words, programme: Programme | None) -> list[Section]:
    """Task progress, KPI trajectories and, when there was one, the pilot."""
    progress = Section(
        "progress",
        w("执行进度", "Progress"),
        [
            w("任务", "Task"),
            w("计划完成 %", "Planned %"),
            w("实际完成 %", "Actual %"),
            w("状态", "Status"),
            w("填报日期", "Reported on"),
            w("备注", "Note"),
        ],
        ["text", "pct", "pct", "text", "date", "text"],
    )
    for p in a.progress:
        progress.add(
            p.task_id,
            p.planned_pct / 100,
            None if p.actual_pct is None else p.actual_pct / 100,
            w.text(STATUS[p.status]),
            p.reported_on,
            p.note,
        )
    progress.note = w(f"截至 {a.as_of}，进度绩效指数 SPI = ", f"As of {a.as_of}, SPI = ") + (
        "—" if a.spi is None else f"{a.spi:.2f}"
    )
    trajectory = Section(
        "trajectory",
        w("KPI 轨迹", "KPI trajectory"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("月份", "Month"),
            w("实际", "Actual"),
            w("计划路径", "Planned path"),
        ],
        ["text", "text", "date", "num1", "num1"],
    )
    for tr in a.trajectories:
        for pt in tr.points:
            trajectory.add(
                tr.target_id,
                kpi_label(tr.kpi, w),
                pt.period,
                kv(tr.kpi, pt.actual),
                kv(tr.kpi, pt.planned),
            )
    sections = [progress, trajectory]
    if a.pilots:
        sections.append(pilot_section(a, w))
    return sections


def pilot_section(a: ExecutionReport, w: Words) -> Section:
    """试点效果评估: a row per pilot and KPI, its DiD with the interval, test, power, verdict."""
    pilot = Section(
        "pilot",
        w("试点效果评估", "Pilot evaluation"),
        [
            w("试点", "Pilot"),
            w("范围", "Scope"),
            w("对照组", "Control"),
            w("指标", "KPI"),
            w("试点前", "Pilot before"),
            w("试点后", "Pilot after"),
            w("对照前", "Control before"),
            w("对照后", "Control after"),
            w("效应（双重差分）", "Effect (diff-in-diff)"),
            w("95% 区间下限", "95% CI low"),
            w("95% 区间上限", "95% CI high"),
            w("检验", "Test"),
            w("p 值", "p-value"),
            w("检验功效", "Power"),
            w("最小可检出效应", "Minimum detectable effect"),
            w("指标结论", "KPI verdict"),
            w("试点结论", "Pilot verdict"),
            w("理由", "Why"),
        ],
        [
            "text",
            "text",
            "text",
            "text",
            *(NUM2 for _ in range(7)),
            "text",
            "pval",
            "pct",
            "num2",
            "text",
            "text",
            "text",
        ],
        note=w(
            "对照组为匹配区域（或全部试点范围以外的工单）；区间为分层自助法（2000 次）；功效指发现"
            "目标所要求变化的概率。",
            "The control group is the matched segments (or every ticket outside all pilot "
            "scopes); intervals from a stratified bootstrap (2,000 resamples); power is the "
            "chance of detecting the change the KPI's target asks for.",
        ),
    )
    for p in a.pilots:
        scope = ", ".join(f"{k}={v}" for k, v in p.scope.items())
        control = (
            ", ".join(f"{k}={'/'.join(v)}" for k, v in p.control.items())
            if p.control
            else w("其余全部", "all the rest")
        )
        for r in p.kpis:
            pilot.add(
                w.text(p.name),
                scope,
                control,
                kpi_label(r.kpi, w),
                *(
                    _pilot_value(r.kpi, v)
                    for v in (
                        r.pilot_before,
                        r.pilot_after,
                        r.control_before,
                        r.control_after,
                        r.effect,
                        r.ci_low,
                        r.ci_high,
                    )
                ),
                w.text(TESTS[r.test]),
                Val(r.p_value, "pval"),
                Val(r.power, "pct"),
                _pilot_value(r.kpi, r.mde),
                w.text(VERDICT[r.verdict]),
                w.text(VERDICT[p.verdict]),
                w.text(r.reason),
            )
    return pilot


def _pilot_value(kpi_name: str, value: float | None) -> Val:
    """Pilot values: rates as percentages, other values with two decimals."""
    return Val(value, "pct" if is_rate(kpi_name) else "num2")


MOVED = {
    "better": Text(zh="显著改善", en="significantly better"),
    "worse": Text(zh="显著变差", en="significantly worse"),
    None: Text(zh="无显著变化", en="no significant change"),
}
BASIS = {
    "before_after": Text(zh="前后对比", en="before / after"),
    "same_period": Text(zh="同期对比", en="same period last year"),
}
TREND = {"faded": Text(zh="减少", en="faded"), "new": Text(zh="新增", en="new")}


def _comparison_row(c: Comparison, kpi_name: str, w: Words) -> list[Any]:
    """A comparison's cells: basis, reference window, both values, change, interval, test."""
    return [
        w.text(BASIS[c.basis]),
        f"{c.reference_start} – {c.reference_end}",
        kv(kpi_name, c.reference.value),
        kv(kpi_name, c.current.value),
        _pilot_value(kpi_name, c.change),
        _pilot_value(kpi_name, c.ci_low),
        _pilot_value(kpi_name, c.ci_high),
        "—" if c.test is None else w.text(TESTS[c.test]),
        Val(c.p_value, "pval"),
        "—" if c.p_value is None else w.text(MOVED[c.moved]),
    ]


def _comparison_headers(w: Words) -> list[str]:
    return [
        w("对比", "Comparison"),
        w("参照期", "Reference window"),
        w("参照值", "Reference"),
        w("评估期", "Evaluated"),
        w("变化", "Change"),
        w("95% 下限", "95% low"),
        w("95% 上限", "95% high"),
        w("检验", "Test"),
        w("p 值", "p-value"),
        w("结论", "Verdict"),
    ]


COMPARISON_FORMATS: list[Fmt] = [
    "text",
    "text",
    "num1",
    "num1",
    NUM2,
    NUM2,
    NUM2,
    "text",
    "pval",
    "text",
]


def evaluation_sections(
    a: EvaluationReport, w: Words, programme: Programme | None
) -> list[Section]:
    """Achievement per target, each target's before/after and same-period comparisons,
    customer verification with comment keywords, and the overall rating."""
    results = Section(
        "achievement",
        w("目标达成", "Achievement"),
        [
            w("目标", "Target"),
            w("指标", "KPI"),
            w("基线", "Baseline"),
            w("目标值", "Target"),
            w("实际", "Actual"),
            w("达成率", "Achievement"),
            w("达成率（展示上限 150%）", "Achievement (display, max 150%)"),
            w("计入评分", "Counted"),
            w("变化显著", "Significant"),
            w("达成", "Met"),
        ],
        ["text", "text", "num1", "num1", "num1", "pct", "pct", "pct", "text", "text"],
    )
    for r in a.results:
        results.add(
            r.target_id,
            kpi_label(r.kpi, w),
            kv(r.kpi, r.baseline),
            kv(r.kpi, r.target),
            kv(r.kpi, r.actual),
            r.achievement,
            r.achievement_display,
            r.counted,
            "—" if r.significant is None else "✓" if r.significant else "✗",
            "✓" if r.met else "✗",
        )
    seasonal = [r.target_id for r in a.results if r.seasonal]
    results.note = w(
        f"改进前 {a.before_start} – {a.before_end}；改进后 {a.after_start} – {a.after_end}。"
        "达成率 =（基线 − 实际）/（基线 − 目标）；变化是否真实以同期对比判断（数据不足一年时用前后"
        "对比），未真实改善的目标计入评分为 0。"
        + (
            f"{'、'.join(seasonal)}：前后对比的改善在同期对比中消失，可能来自季节波动。"
            if seasonal
            else ""
        ),
        f"Before {a.before_start} – {a.before_end}; after {a.after_start} – {a.after_end}. "
        "Achievement = (baseline − actual) / (baseline − target); whether a change is real is "
        "judged on the same period last year (before / after when the data is shorter), and a "
        "target whose KPI did not really improve counts 0 in the rating."
        + (
            f" {', '.join(seasonal)}: the before/after improvement vanishes against the same "
            "period last year; likely the season."
            if seasonal
            else ""
        ),
    )
    significance = Section(
        "significance",
        w("同期对比与显著性", "Significance"),
        [w("目标", "Target"), w("指标", "KPI"), *_comparison_headers(w)],
        ["text", "text", *COMPARISON_FORMATS],
        note=w(
            "区间为 95%：分位数用顺序统计量（Price–Bonett），比率与均值用方差；时长用 Mann-Whitney "
            "检验，比率用两比例 z 检验，均值用 Welch t 检验。区间不含零且检验显著才判为显著。",
            "95% intervals: order statistics for percentiles (Price–Bonett), the variance for "
            "rates and means; Mann-Whitney for durations, the two-proportion z-test for rates, "
            "Welch's t-test for means. Significant only when the interval excludes zero and the "
            "test agrees.",
        ),
    )
    for r in a.results:
        for c in (r.before_after, r.same_period):
            if c is not None:
                significance.add(r.target_id, kpi_label(r.kpi, w), *_comparison_row(c, r.kpi, w))
    customer = Section(
        "customer",
        w("客户验证", "Customer verification"),
        [
            w("指标", "KPI"),
            w("样本（前 / 后）", "Answers (before / after)"),
            *_comparison_headers(w),
        ],
        ["text", "text", *COMPARISON_FORMATS],
        note=w(
            "来源：" + ("满意度调查" if a.customer.source == "surveys" else "工单评价（无调查表）"),
            "Source: "
            + (
                "survey answers"
                if a.customer.source == "surveys"
                else "ticket ratings (no surveys)"
            ),
        ),
    )
    for m in a.customer.measures:
        if m.comparison is None:
            customer.add(kpi_label(m.kpi, w), "0", *(["—"] * 10))
            continue
        c = m.comparison
        customer.add(
            kpi_label(m.kpi, w),
            f"{c.reference.n:,} / {c.current.n:,}",
            *_comparison_row(c, m.kpi, w),
        )
    keywords = Section(
        "keywords",
        w("评论关键词变化", "Comment keywords"),
        [
            w("变化", "Trend"),
            w("语言", "Language"),
            w("关键词", "Keyword"),
            w("改进前评论数", "Comments before"),
            w("改进前占比", "Share before"),
            w("改进后评论数", "Comments after"),
            w("改进后占比", "Share after"),
            w("p 值", "p-value"),
        ],
        ["text", "text", "text", "int", "pct", "int", "pct", "pval"],
        note=w(
            "减少：使用该词的评论占比降至三分之二以下且显著（消退的抱怨）；"
            "新增：占比升至 1.5 倍以上且显著（新出现的抱怨）。",
            "Faded: the share of comments using the term fell by a third or more, significantly "
            "(complaints that faded); new: it rose 1.5-fold or more, significantly (new "
            "complaints).",
        ),
    )
    for k in (*a.customer.faded, *a.customer.new):
        keywords.add(
            w.text(TREND[k.trend]),
            k.language,
            k.term + (f" ({', '.join(k.also)})" if k.also else ""),
            k.before_count,
            k.before_share,
            k.after_count,
            k.after_share,
            Val(k.p_value, "pval"),
        )
    rating = Section(
        "rating",
        w("综合效果评定", "Overall rating"),
        [w("项目", "Item"), w("得分", "Score"), w("权重", "Weight")],
        ["text", "num1", "pct"],
    )
    rt = a.rating
    rating.add(w("目标达成", "Target achievement"), rt.targets, rt.weights.targets)
    rating.add(w("客户验证", "Customer verification"), rt.customer, rt.weights.customer)
    rating.add(
        w("执行纪律（任务完成率）", "Execution discipline (tasks done)"),
        rt.discipline,
        rt.weights.discipline,
    )
    rating.add(w("综合得分", "Overall score"), rt.score, 1.0)
    rating.note = w(
        "客户验证：显著改善 100 分，无显著变化 50 分，显著变差 0 分。",
        "Customer verification: significantly better 100, unchanged 50, worse 0.",
    )
    closure = Section(
        "closure",
        w("评定结论", "Closure"),
        [w("项目", "Item"), w("内容", "Value")],
        ["text", "text"],
    )
    closure.add(w("等级", "Grade"), rt.grade)
    closure.add(w("结论", "Outcome"), w.text(OUTCOME[a.outcome]))
    closure.add(w("说明", "Reason"), w.text(a.outcome_reason))
    return [results, significance, customer, keywords, rating, closure]


def optimisation_sections(
    a: OptimisationReport, w: Words, programme: Programme | None
) -> list[Section]:
    """Measures to standardise, carry-over to the next cycle, lessons."""
    standard = Section(
        "standardise",
        w("标准化", "Standardise"),
        [
            w("策略", "Strategy"),
            w("服务标准", "Service standard"),
            w("对应目标", "Targets"),
            w("依据", "Evidence"),
        ],
        ["text"] * 4,
    )
    for m in a.standardise:
        standard.add(
            w.text(m.name), w.text(m.standard), ", ".join(m.target_ids), w.text(m.evidence)
        )
    carry = Section(
        "carryover",
        w("遗留事项", "Carry-over"),
        [w("类型", "Kind"), w("对象", "Reference"), w("指标", "KPI"), w("说明", "Reason")],
        ["text"] * 4,
        note=w("以上事项转入下一改进周期。", "These items carry into the next cycle."),
    )
    for c in a.carry_over:
        carry.add(
            w.text(CARRY[c.kind]),
            c.ref,
            kpi_label(c.kpi, w) if c.kpi else "",
            w.text(c.reason),
        )
    lessons = Section("lessons", w("经验教训", "Lessons"), [w("经验", "Lesson")], ["text"])
    for lesson in a.lessons:
        lessons.add(w.text(lesson))
    return [standard, carry, lessons]


def sections_for(
    artifact: Artifact, locale: Locale, programme: Programme | None = None
) -> list[Section]:
    """The report sections of any stage artifact."""
    w = Words(locale)
    builders = {
        DiagnosisReport: diagnosis_sections,
        TargetList: target_sections,
        ImplementationPlan: plan_sections,
        ExecutionReport: execution_sections,
        EvaluationReport: evaluation_sections,
        OptimisationReport: optimisation_sections,
    }
    sections: list[Section] = builders[type(artifact)](artifact, w, programme)  # type: ignore[operator]
    return sections
