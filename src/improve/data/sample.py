"""A deterministic, realistic sample data set for the demo: 18 months of a mid-size
service desk, its customer surveys and the plan owners' progress reports.

What is planted (the README lists it too), so that every stage has something true to find,
each with the week it starts:
- tools: the web form released on 2025-03-03 lacks fields, so from that week web tickets
  need extra agent replies;
- people: four second-line engineers (二线技术组) who missed the training for the product
  release of 2025-04-14 reopen and drag out far more tickets from then on;
- process: a second approval step for refunds, from 2025-05-19, makes billing and refund
  tickets (账单与退款) bounce between groups and reopen;
- resources: front-line volume grows 25% over the 18 months, and four front-line agents
  leave on 2025-07-07 without replacement, so first response slows from that week;
- the improvement: a pilot of the new web form and assistant in 华东 from 2026-02-02, rolled
  out everywhere from 2026-04-01; billing hand-offs removed from 2026-03-16; engineers
  trained and ten front-line agents hired (four replacements, six more) in March 2026.

And one thing that is not a change: handle time swings with the season (±12%, longest at
New Year), in the planted desk and the unplanted one alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook

from improve.domain.calendar import WorkCalendar
from improve.domain.programme import Playbook
from improve.stages.schedule import schedule_tasks

SEED = 20260101
SEASON_AMPLITUDE = 0.12  # handle time: +12% at New Year, -12% at midsummer
START = date(2025, 1, 1)
END = date(2026, 7, 1)  # exclusive: the export was taken at midnight
WEB_FORM_RELEASE = date(2025, 3, 3)  # the form that lost fields: the tools problem starts
PRODUCT_RELEASE = date(2025, 4, 14)  # four engineers miss its training: people
REFUND_APPROVAL = date(2025, 5, 19)  # a second approval step for refunds: process
ATTRITION = date(2025, 7, 7)  # four front-line agents leave: resources
PILOT_START = date(2026, 2, 2)
ROLLOUT = date(2026, 4, 1)
BILLING_FIX = date(2026, 3, 16)
TRAINING_DONE = date(2026, 3, 2)
HIRES = date(2026, 3, 2)

TEAMS = {"一线客服组": 26, "二线技术组": 14, "账务组": 8, "投诉处理组": 6}
LEAVERS = 6  # the last six front-line agents, from ATTRITION
NEW_HIRES = 12
WEAK_AGENTS = 4  # the last four second-line engineers
CATEGORIES = {  # category: (share, team, median resolution hours)
    "账号登录": (0.22, "一线客服组", 4.0),
    "账单与退款": (0.16, "账务组", 20.0),
    "产品故障": (0.20, "二线技术组", 30.0),
    "功能咨询": (0.24, "一线客服组", 3.0),
    "数据与集成": (0.12, "二线技术组", 24.0),
    "投诉与建议": (0.06, "投诉处理组", 36.0),
}
CHANNELS = {"email": (0.30, 120.0), "web": (0.35, 150.0), "chat": (0.22, 3.0), "phone": (0.13, 1.5)}
REGIONS = {"华东": 0.35, "华北": 0.25, "华南": 0.25, "西南": 0.15}
PRODUCTS = {"云盘": 0.40, "企业邮箱": 0.35, "在线会议": 0.25}
PRIORITIES = {
    "urgent": (0.05, 4.0),
    "high": (0.20, 12.0),
    "normal": (0.55, 48.0),
    "low": (0.20, 96.0),
}
WEEKDAY = np.array([1.2, 1.1, 1.05, 1.0, 0.95, 0.55, 0.45])
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "鑫",
    "婷",
    "浩",
    "宇",
    "晨",
    "欣",
    "佳怡",
    "子涵",
    "思远",
    "雨桐",
    "志强",
    "建华",
    "晓燕",
    "海波",
    "文博",
    "嘉豪",
    "梦琪",
    "俊杰",
]

COMMENTS = {
    "slow": (
        ["客服回复太慢了，等了一整天", "提交工单后很久才有人回复", "排队时间太长，希望提速"],
        ["Waited far too long for a first reply", "Nobody answered my ticket for hours"],
    ),
    "rework": (
        [
            "退款流程太复杂，被转了好几个部门",
            "账单问题来回沟通了好几次才解决",
            "问题反复出现，又要重新提交工单",
        ],
        ["The refund was passed between departments", "Had to reopen the same issue again"],
    ),
    "form": (
        ["网页表单总是要我重复填写信息", "在线提交时字段不全，客服又来追问细节"],
        [
            "The web form kept asking for the same details",
            "Agent asked again for info I had already given",
        ],
    ),
    "skill": (
        ["技术支持好像不太懂产品", "工程师给的方案没有解决问题"],
        ["The engineer did not understand the product", "The suggested fix did not work"],
    ),
    "bot": (
        ["智能客服答非所问，转人工太难了", "机器人一直听不懂我的问题"],
        ["The chatbot kept misunderstanding me", "Hard to get past the bot to a person"],
    ),
    "good": (
        ["客服很专业，很快就解决了", "服务态度很好，点赞", "智能助手回答得很及时"],
        [
            "Quick and professional support",
            "Great service, thank you",
            "The new assistant answered right away",
        ],
    ),
}


@dataclass(frozen=True)
class SampleFiles:
    """Paths of the written sample data set."""

    tickets: Path
    surveys: Path
    progress: Path
    tickets_count: int
    surveys_count: int


def _agents(rng: np.random.Generator) -> dict[str, list[str]]:
    total = sum(TEAMS.values()) + NEW_HIRES
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < total:
        name = rng.choice(list(SURNAMES)) + rng.choice(GIVEN)
        if name not in seen:
            seen.add(name)
            names.append(str(name))
    out: dict[str, list[str]] = {}
    i = 0
    for team, n in TEAMS.items():
        out[team] = names[i : i + n]
        i += n
    out["_hires"] = names[i:]
    return out


def _pick(rng: np.random.Generator, table: Mapping[str, object], n: int) -> np.ndarray:
    keys = list(table)
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], float)
    picked: np.ndarray = np.array(keys, dtype=object)[
        rng.choice(len(keys), size=n, p=shares / shares.sum())
    ]
    return picked


def day_of_year(days: np.ndarray) -> np.ndarray:
    """Day of the year (0 on 1 January) of datetime64[D] values."""
    out: np.ndarray = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(int)
    return out


def generate_tickets(seed: int = SEED, *, planted: bool = True) -> pa.Table:
    """The canonical ticket table (KPI.md columns), about 158,000 rows.

    `planted=False` gives the same desk with nothing planted (flat volume and staffing, no
    weak engineers, no billing rework, a complete web form, no improvements): a diagnosis
    must find no problem in it."""
    rng = np.random.default_rng(seed)
    agents = _agents(rng)
    days = (END - START).days
    day_index = np.arange(days)
    dates = np.array([START + timedelta(days=int(d)) for d in day_index])
    weekday = np.array([d.weekday() for d in dates])
    growth = 1 + (0.25 if planted else 0.0) * day_index / days
    daily = rng.poisson(290 * WEEKDAY[weekday] * growth)
    n = int(daily.sum())
    day_of = np.repeat(day_index, daily)
    hour = np.clip(rng.normal(13.5, 3.2, n), 0, 23.99)
    created_s = day_of * 86400 + (hour * 3600).astype(np.int64)
    order = np.argsort(created_s, kind="stable")
    created_s, day_of = created_s[order], day_of[order]
    t = day_of / days
    base = np.datetime64(START.isoformat(), "s")
    created = base + created_s.astype("timedelta64[s]")
    cdate = base.astype("datetime64[D]") + day_of.astype("timedelta64[D]")

    def after(d: date) -> np.ndarray:
        mask: np.ndarray = cdate >= np.datetime64(d.isoformat(), "D")
        return mask

    category = _pick(rng, CATEGORIES, n)
    channel = _pick(rng, CHANNELS, n)
    region = _pick(rng, REGIONS, n)
    product = _pick(rng, PRODUCTS, n)
    priority = _pick(rng, PRIORITIES, n)
    team = np.array([CATEGORIES[c][1] for c in category], dtype=object)
    # Some product faults are handled by the front line.
    front = (category == "产品故障") & (rng.random(n) < 0.35)
    team[front] = "一线客服组"

    agent = np.empty(n, dtype=object)
    weak = np.zeros(n, bool)
    for name, members in TEAMS.items():
        idx = np.flatnonzero(team == name)
        pool = list(agents[name])
        pick = rng.integers(0, len(pool), idx.size)
        agent[idx] = np.array(pool, dtype=object)[pick]
        if name == "一线客服组":
            # The leavers stop taking tickets at ATTRITION; the hires start at HIRES.
            stayed = pool[: members - LEAVERS] if planted else pool
            hired = after(HIRES)[idx]
            short = after(ATTRITION)[idx] & ~hired
            pick_short = rng.integers(0, len(stayed), idx.size)
            agent[idx[short]] = np.array(stayed, dtype=object)[pick_short[short]]
            full = stayed + agents["_hires"]
            pick2 = rng.integers(0, len(full), idx.size)
            agent[idx[hired]] = np.array(full, dtype=object)[pick2[hired]]
        if name == "二线技术组" and planted:
            weak[idx] = (pick >= members - WEAK_AGENTS) & after(PRODUCT_RELEASE)[idx]
    unassigned = rng.random(n) < 0.01
    agent[unassigned] = None

    in_pilot = region == "华东"
    fixed_form = ((in_pilot & after(PILOT_START)) | after(ROLLOUT)) & planted
    billing_fixed = after(BILLING_FIX)
    trained = after(TRAINING_DONE)

    # First response: channel medians; the front line slows as its load per agent grows
    # (volume, then the leavers), then recovers with the hires.
    frt_median = np.array([CHANNELS[c][1] for c in channel])
    front_line = TEAMS["一线客服组"]
    staff = np.full(n, front_line, float)
    if planted:
        staff = np.where(after(ATTRITION), front_line - LEAVERS, staff)
        staff = np.where(after(HIRES), front_line - LEAVERS + NEW_HIRES, staff)
    load = ((1 + (0.25 if planted else 0.0) * t) * front_line / staff) ** 2
    frt_median = np.where(team == "一线客服组", frt_median * load, frt_median)
    async_channel = np.isin(channel, ["email", "web"])
    frt_median = np.where(fixed_form & async_channel, frt_median * 0.55, frt_median)
    frt_min = frt_median * np.exp(rng.normal(0, 0.9, n))
    no_reply = rng.random(n) < 0.015

    # Resolution.
    res_median = np.array([CATEGORIES[c][2] for c in category])
    res_median = np.where(weak & ~trained, res_median * 1.8, res_median)
    res_median = np.where(weak & trained, res_median * 1.2, res_median)
    billing = (category == "账单与退款") & planted & after(REFUND_APPROVAL)
    res_median = np.where(billing & ~billing_fixed, res_median * 1.4, res_median)
    res_h = res_median * np.exp(rng.normal(0, 1.0, n)) + frt_min / 60

    # Rework: reopens, reassignments, extra replies.
    p_reopen = np.full(n, 0.06)
    p_reopen = np.where(billing & ~billing_fixed, 0.20, p_reopen)
    p_reopen = np.where(weak, np.where(trained, 0.16, 0.24), p_reopen)
    reopens = (rng.random(n) < p_reopen).astype(np.int64) + (rng.random(n) < p_reopen / 4)
    p_reassign = np.where(billing & ~billing_fixed, 0.40, 0.08)
    reassignments = (rng.random(n) < p_reassign).astype(np.int64) + (rng.random(n) < p_reassign / 3)
    extra = (rng.random(n) < 0.22).astype(np.int64)
    web = (channel == "web") & planted
    broken_form = np.where(after(WEB_FORM_RELEASE), 0.70, 0.10)
    extra += (web & (rng.random(n) < np.where(fixed_form, 0.08, broken_form))).astype(np.int64)
    extra += (rng.random(n) < 0.05).astype(np.int64)
    agent_replies = np.where(no_reply, 0, 1 + extra)

    end_s = (END - START).days * 86400
    resolved_s = created_s + (res_h * 3600).astype(np.int64)
    abandoned = rng.random(n) < 0.004
    open_ = (resolved_s >= end_s) | abandoned
    frt_s = created_s + (frt_min * 60).astype(np.int64)
    no_reply |= frt_s >= np.minimum(resolved_s, end_s)
    agent_replies = np.where(no_reply, 0, agent_replies)

    # Satisfaction on rated tickets.
    complaint = (category == "投诉与建议") | (rng.random(n) < 0.01 + 0.05 * (reopens > 0))
    latent = (
        4.45
        - 0.5 * (reopens > 0)
        - 0.35 * (frt_min > 180)
        - 0.35 * (res_h > 48)
        - 0.6 * complaint
        - 0.25 * (agent_replies > 2)
        + rng.normal(0, 0.75, n)
    )
    csat_val = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    rated = ~open_ & (rng.random(n) < 0.35)

    sla_hours = np.array([PRIORITIES[p][1] for p in priority])
    breached = res_h > sla_hours
    age_h = (end_s - created_s) / 3600
    sla_known = ~open_ | (age_h > sla_hours)
    # Handle time follows the year (planted or not): longest around the year-end and the
    # Spring Festival (renewals and invoices), shortest in early summer. Nothing improves it,
    # so a before/after comparison of a summer window against a whole year would be fooled.
    season = 1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * day_of_year(cdate) / 365.25)
    handle = 14 * season * np.exp(rng.normal(0, 0.5, n)) * np.where(weak & ~trained, 1.3, 1.0)
    handle_known = rng.random(n) >= 0.08

    ids = np.array([f"{i:07d}" for i in range(1, n + 1)], dtype=object)

    def ts(seconds: np.ndarray, mask: np.ndarray) -> pa.Array:
        values = base + seconds.astype("timedelta64[s]")
        return pa.array(values, type=pa.timestamp("s"), mask=~mask)

    return pa.table(
        {
            "ticket_id": pa.array(ids, pa.string()),
            "created_at": pa.array(created, pa.timestamp("s")),
            "first_response_at": ts(frt_s, ~no_reply),
            "resolved_at": ts(resolved_s, ~open_),
            "channel": pa.array(channel, pa.string()),
            "category": pa.array(category, pa.string()),
            "team": pa.array(team, pa.string()),
            "agent": pa.array(agent, pa.string()),
            "priority": pa.array(priority, pa.string()),
            "region": pa.array(region, pa.string()),
            "product": pa.array(product, pa.string()),
            "reopens": pa.array(np.where(open_, np.minimum(reopens, 1), reopens), pa.int64()),
            "agent_replies": pa.array(agent_replies, pa.int64()),
            "reassignments": pa.array(reassignments, pa.int64()),
            "csat": pa.array(csat_val, pa.int64(), mask=~rated),
            "complaint": pa.array(complaint, pa.bool_()),
            "sla_breached": pa.array(breached | open_, pa.bool_(), mask=~sla_known),
            "handle_minutes": pa.array(np.round(handle, 1), pa.float64(), mask=~handle_known),
        }
    )


def generate_surveys(tickets: pa.Table, seed: int = SEED) -> pa.Table:
    """Post-ticket survey answers: CSAT 1–5, NPS 0–10 and comments in Chinese and English."""
    rng = np.random.default_rng(seed + 1)
    resolved = tickets.column("resolved_at").to_numpy(zero_copy_only=False)
    created = tickets.column("created_at").to_numpy(zero_copy_only=False)
    is_resolved = ~np.isnat(resolved)
    idx = np.flatnonzero(is_resolved & (rng.random(len(resolved)) < 0.09))
    answered = (
        resolved[idx]
        + np.timedelta64(1, "D")
        + (rng.random(idx.size) * 86400).astype("timedelta64[s]")
    )
    keep = answered < np.datetime64(END.isoformat())
    idx, answered = idx[keep], answered[keep]
    frt = tickets.column("first_response_at").to_numpy(zero_copy_only=False)[idx]
    wait_min = (frt - created[idx]).astype("timedelta64[s]").astype(float) / 60
    reopens = tickets.column("reopens").to_numpy()[idx]
    replies = tickets.column("agent_replies").to_numpy()[idx]
    category = np.array(tickets.column("category").to_pylist(), dtype=object)[idx]
    team = np.array(tickets.column("team").to_pylist(), dtype=object)[idx]
    latent = (
        4.4
        - 0.6 * (reopens > 0)
        - 0.45 * (np.nan_to_num(wait_min, nan=600) > 180)
        - 0.3 * (replies > 2)
        + rng.normal(0, 0.7, idx.size)
    )
    csat = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    nps = np.clip(np.rint(latent * 2.1 + rng.normal(0, 1.3, idx.size)), 0, 10).astype(np.int64)
    theme = np.full(idx.size, "good", dtype=object)
    theme[np.nan_to_num(wait_min, nan=600) > 180] = "slow"
    theme[replies > 2] = "form"
    theme[(reopens > 0) & (team == "二线技术组")] = "skill"
    theme[(reopens > 0) & (category == "账单与退款")] = "rework"
    theme[csat >= 5] = "good"
    has_comment = rng.random(idx.size) < 0.6
    english = rng.random(idx.size) < 0.15
    comments: list[str | None] = []
    for th, c, en in zip(theme, has_comment, english, strict=True):
        if not c:
            comments.append(None)
            continue
        options = COMMENTS[str(th)][1 if en else 0]
        comments.append(options[int(rng.integers(0, len(options)))])
    # A new complaint the improvement brought: once the assistant answers first, a third of
    # the unhappy customers who comment blame it (drawn apart, so nothing earlier changes).
    bot_rng = np.random.default_rng(seed + 2)
    region = np.array(tickets.column("region").to_pylist(), dtype=object)[idx]
    cdays = created[idx].astype("datetime64[D]")
    assisted = (cdays >= np.datetime64(ROLLOUT.isoformat())) | (
        (region == "华东") & (cdays >= np.datetime64(PILOT_START.isoformat()))
    )
    blamed = assisted & (csat <= 3) & (bot_rng.random(idx.size) < 0.35)
    pick = bot_rng.integers(0, 2, idx.size)
    for i in np.flatnonzero(blamed & has_comment):
        comments[i] = COMMENTS["bot"][1 if english[i] else 0][int(pick[i])]
    return pa.table(
        {
            "survey_id": pa.array([f"S{i:07d}" for i in range(1, idx.size + 1)], pa.string()),
            "answered_at": pa.array(answered.astype("datetime64[s]"), pa.timestamp("s")),
            "ticket_id": tickets.column("ticket_id").take(pa.array(idx)),
            "csat": pa.array(csat, pa.int64()),
            "nps": pa.array(nps, pa.int64()),
            "comment": pa.array(comments, pa.string()),
            "region": tickets.column("region").take(pa.array(idx)),
            "channel": tickets.column("channel").take(pa.array(idx)),
        }
    )


# The one delay planted in the progress reports: the vendor of the web-form and assistant
# project delivered late, pushing its system test back (DOMAIN.md's example).
DELAYED_TASK_SUFFIX = "vendor"
DELAY_DAYS = 10
# And one task that stalls: the new performance criteria wait for HR's approval.
STALLED_TASK = "skills-training/criteria"
STALLED_AT = 60.0


def generate_progress(
    playbook: Playbook, *, plan_start: date, calendar: WorkCalendar, until: date
) -> list[dict[str, object]]:
    """Weekly progress reports (执行进度跟踪表 rows) for every playbook task, as owners fill
    them in: on plan, except the vendor delay and ordinary small slips."""
    rng = np.random.default_rng(SEED + 2)
    rows: list[dict[str, object]] = []
    for strategy in playbook.strategies:
        scheduled = schedule_tasks(strategy.tasks, start=plan_start, calendar=calendar)
        slip = 0
        for task in strategy.tasks:
            s = scheduled[task.key]
            if task.key.endswith(DELAYED_TASK_SUFFIX) or any(
                d.endswith(DELAYED_TASK_SUFFIX) for d in task.depends_on
            ):
                slip = DELAY_DAYS
            start = calendar.add_working_days(s.start, slip)
            end = calendar.add_working_days(s.end, slip)
            total = max(1, calendar.working_days_between(start, end))
            week = plan_start + timedelta(days=(4 - plan_start.weekday()) % 7)  # Fridays
            while week <= until:
                if week >= start:
                    done = calendar.working_days_between(start, min(week, end))
                    pct = min(100.0, round(100.0 * done / total + float(rng.normal(0, 4)), 0))
                    pct = 100.0 if week >= end else max(0.0, min(pct, 95.0))
                    status = "done" if pct >= 100 else ("late" if slip else "on_track")
                    note = blocker = None
                    if f"{strategy.key}/{task.key}" == STALLED_TASK and pct > STALLED_AT:
                        pct, status, note = STALLED_AT, "blocked", "等待人力资源部"
                        blocker = "新绩效方案待人力资源部审批"
                    if slip and task.key.endswith(DELAYED_TASK_SUFFIX) and pct < 100:
                        note = "供应商延期交付，系统测试顺延两周"
                    rows.append(
                        {
                            "task_id": f"{strategy.key}/{task.key}",
                            "as_of": week.isoformat(),
                            "percent_complete": pct,
                            "status": status,
                            "note": note,
                            "blocker": blocker,
                        }
                    )
                    if pct >= 100:
                        break
                week += timedelta(days=7)
    return rows


def write_sample_data(
    out_dir: Path,
    *,
    playbook: Playbook,
    plan_start: date,
    calendar: WorkCalendar,
    seed: int = SEED,
) -> SampleFiles:
    """Write tickets.parquet, surveys.csv (UTF-8) and progress.xlsx into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tickets = generate_tickets(seed)
    surveys = generate_surveys(tickets, seed)
    tickets_path, surveys_path, progress_path = (
        out_dir / "tickets.parquet",
        out_dir / "surveys.csv",
        out_dir / "progress.xlsx",
    )
    _replace(tickets_path, lambda tmp: pq.write_table(tickets, tmp, compression="zstd"))
    _replace(surveys_path, lambda tmp: pacsv.write_csv(surveys, tmp))
    rows = generate_progress(
        playbook, plan_start=plan_start, calendar=calendar, until=END - timedelta(days=1)
    )
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "progress"
    columns = ["task_id", "as_of", "percent_complete", "status", "note", "blocker"]
    ws.append(columns)
    for row in rows:
        ws.append([row[c] for c in columns])
    _replace(progress_path, lambda tmp: book.save(tmp))
    return SampleFiles(
        tickets_path, surveys_path, progress_path, tickets.num_rows, surveys.num_rows
    )


def _replace(path: Path, write: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)  # type: ignore[operator]
    tmp.replace(path)
