"""The weekly digest (周报摘要) as Markdown (for chat and e-mail notifications and the Prefect
UI) and as an HTML page beside the cycle's reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from improve.domain.base import Locale
from improve.domain.gate import LEVEL_TITLES
from improve.domain.portfolio import Digest, KpiAlert, PendingApproval, TaskFlag
from improve.reports.labels import kpi_fmt, kpi_label, task_timing
from improve.reports.page import STAGE_NAMES, environment
from improve.reports.sections import Words, display, md_text
from improve.reports.site import write_text_atomic

Escape = Callable[[str], str]  # makes data text inert in the output's syntax
ALERT_NAMES = {
    "off_path": ("本周偏离目标路径", "off its path this week"),
    "forecast_unlikely": ("预测截止日无法达成", "forecast to miss the target"),
    "forecast_at_risk": ("预测截止日可能无法达成", "may miss the target (forecast)"),
}


def digest_subject(digest: Digest, locale: Locale) -> str:
    """The notification's subject line: the programme, the week and the counts."""
    w = Words(locale)
    return w(
        f"{digest.name.zh} {digest.period}：{len(digest.pending)} 项待审批，"
        f"{len(digest.overdue)} 项逾期，{len(digest.alerts)} 项指标预警",
        f"{digest.name.en} {digest.period}: {len(digest.pending)} pending approval(s), "
        f"{len(digest.overdue)} overdue task(s), {len(digest.alerts)} KPI alert(s)",
    )


def _pending(p: PendingApproval, w: Words, esc: Escape) -> str:
    return (
        f"{esc(p.artifact_id)} v{p.version} ({w.text(STAGE_NAMES[p.stage])}) · "
        f"{w.text(LEVEL_TITLES[p.level])} · {w('等待', 'awaiting')} "
        f"{esc(', '.join(p.awaiting))} · {w('自', 'since')} {p.since:%Y-%m-%d}"
    )


def _task(t: TaskFlag, w: Words, esc: Escape) -> str:
    when = task_timing(t, w)
    critical = f" · {w('关键路径', 'critical path')}" if t.critical else ""
    done = display(None if t.percent_complete is None else t.percent_complete / 100, "pct")
    return (
        f"{esc(t.task_id)} {esc(w.text(t.name))} · {esc(t.owner)} · "
        f"{w('截止', 'due')} {t.end} · {when} · {w('完成', 'done')} {done}{critical}"
    )


def _alert(a: KpiAlert, w: Words, esc: Escape) -> str:
    fmt = kpi_fmt(a.kpi)
    what = w(*ALERT_NAMES[a.kind])
    expected = w("路径值", "path") if a.kind == "off_path" else w("预测", "forecast")
    return (
        f"{a.target_id} {esc(kpi_label(a.kpi, w))} · {what} ({a.period}) · "
        f"{w('实际', 'actual')} {display(a.actual, fmt)} · {expected} "
        f"{display(a.expected, fmt)} · {w('目标', 'target')} {display(a.target, fmt)}"
    )


def digest_lines(digest: Digest, locale: Locale, esc: Escape = str) -> list[tuple[str, list[str]]]:
    """The digest's sections as (heading, lines), shared by the Markdown (`esc` makes data
    text inert in it) and the page (autoescaped: `esc` leaves the text as it is)."""
    w = Words(locale)
    return [
        (w("待审批", "Pending approvals"), [_pending(p, w, esc) for p in digest.pending]),
        (w("逾期任务", "Overdue tasks"), [_task(t, w, esc) for t in digest.overdue]),
        (w("即将到期", "Due soon"), [_task(t, w, esc) for t in digest.due_soon]),
        (w("指标预警", "KPI alerts"), [_alert(a, w, esc) for a in digest.alerts]),
    ]


def digest_markdown(digest: Digest, *, locale: Locale) -> str:
    """The digest as Markdown; text from people and files is inert (no HTML, no links)."""
    w = Words(locale)
    lines = [
        f"# {md_text(w.text(digest.name))} · {w('周报摘要', 'Weekly digest')} {digest.period}",
        "",
        f"{md_text(digest.programme)}/{md_text(digest.cycle)} · "
        + w("截至", "as of")
        + f" {digest.as_of}"
        + (
            " · " + w("来源", "from") + " " + ", ".join(digest.sources)
            if digest.sources
            else " · " + w("尚无周例会或月度复盘", "no weekly review or retrospective stored yet")
        ),
    ]
    if digest.quiet:
        lines += ["", w("本周没有需要处理的事项。", "Nothing needs action this week.")]
    for heading, items in digest_lines(digest, locale, md_text):
        lines += ["", f"## {heading} ({len(items)})", *([f"- {i}" for i in items] or ["- —"])]
    return "\n".join(lines) + "\n"


def digest_page(digest: Digest, *, locale: Locale) -> str:
    """The digest as a page of its own (autoescaped), for the cycle's report folder."""
    w = Words(locale)
    return (
        environment()
        .get_template("digest.html")
        .render(
            lang=locale,
            title=f"{w('周报摘要', 'Weekly digest')} {digest.period}",
            subtitle=f"{w.text(digest.name)} · {digest.cycle} · {w('截至', 'as of')} "
            f"{digest.as_of}",
            nav=[],
            current="digest",
            index_label=w("总览", "Overview"),
            quiet=w("本周没有需要处理的事项。", "Nothing needs action this week.")
            if digest.quiet
            else None,
            sources=", ".join(digest.sources)
            or w("尚无周例会或月度复盘", "no weekly review or retrospective stored yet"),
            sources_label=w("来源", "From"),
            sections=[{"heading": h, "lines": items} for h, items in digest_lines(digest, locale)],
        )
    )


def write_digest(out_dir: Path, digest: Digest, *, locale: Locale) -> list[Path]:
    """`digest-<week>.md` and `digest-<week>.html` in the cycle's report folder, atomically."""
    md = out_dir / f"digest-{digest.period}.md"
    html = out_dir / f"digest-{digest.period}.html"
    write_text_atomic(md, digest_markdown(digest, locale=locale))
    write_text_atomic(html, digest_page(digest, locale=locale))
    return [md, html]
