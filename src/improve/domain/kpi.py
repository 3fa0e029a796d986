"""The KPI catalogue of KPI.md: names, direction, unit, dimension and labels."""

from __future__ import annotations

from pydantic import Field

from improve.domain.base import Dimension, Direction, Model, Text


class KpiSpec(Model):
    """What one KPI means: how it is read, which way is better, where it belongs."""

    name: str = Field(description="Canonical KPI name of KPI.md.")
    label: Text = Field(description="Display name.")
    unit: str = Field(description="Unit shown beside values: min, h, %, pts, tickets.")
    direction: Direction | None = Field(description="Which way is better; None for volume.")
    dimension: Dimension | None = Field(description="Target dimension the KPI serves.")
    is_rate: bool = Field(default=False, description="A share in 0..1 shown as a percentage.")


def _spec(
    name: str,
    zh: str,
    en: str,
    unit: str,
    direction: Direction | None,
    dimension: Dimension | None,
    *,
    rate: bool = False,
) -> KpiSpec:
    return KpiSpec(
        name=name,
        label=Text(zh=zh, en=en),
        unit=unit,
        direction=direction,
        dimension=dimension,
        is_rate=rate,
    )


_L, _H = Direction.LOWER, Direction.HIGHER
_EF, _Q, _EX, _C = Dimension.EFFICIENCY, Dimension.QUALITY, Dimension.EXPERIENCE, Dimension.COST

KPIS: dict[str, KpiSpec] = {
    s.name: s
    for s in (
        _spec("volume", "工单量", "Tickets created", "tickets", None, None),
        _spec("frt_median_min", "首次响应时长中位数", "First response, median", "min", _L, _EF),
        _spec("frt_mean_min", "平均首次响应时长", "First response, mean", "min", _L, _EF),
        _spec("frt_p90_min", "首次响应时长 P90", "First response, P90", "min", _L, _EF),
        _spec("resolution_median_h", "解决时长中位数", "Resolution time, median", "h", _L, _EF),
        _spec("resolution_p90_h", "解决时长 P90", "Resolution time, P90", "h", _L, _EF),
        _spec("fcr_rate", "首次解决率", "First-contact resolution", "%", _H, _Q, rate=True),
        _spec("reopen_rate", "重开率", "Reopen rate", "%", _L, _Q, rate=True),
        _spec("csat_rate", "满意率（4–5 分）", "CSAT (top-2-box)", "%", _H, _EX, rate=True),
        _spec("csat_mean", "平均满意度", "CSAT, mean", "pts", _H, _EX),
        _spec("nps", "净推荐值", "Net Promoter Score", "pts", _H, _EX),
        _spec("complaint_rate", "投诉率", "Complaint rate", "%", _L, _EX, rate=True),
        _spec("sla_breach_rate", "SLA 违约率", "SLA breach rate", "%", _L, _Q, rate=True),
        _spec("backlog_end", "期末积压工单", "Backlog at period end", "tickets", _L, _EF),
        _spec("tickets_per_agent", "人均解决工单", "Tickets per agent", "tickets", _L, _C),
        _spec("handle_minutes_mean", "平均处理时长", "Handle time, mean", "min", _L, _C),
    )
}

KPI_NAMES: tuple[str, ...] = tuple(KPIS)


def kpi(name: str) -> KpiSpec:
    """The spec of KPI `name`; raises KeyError naming the known KPIs."""
    try:
        return KPIS[name]
    except KeyError:
        raise KeyError(f"unknown KPI {name!r}; known KPIs: {', '.join(KPI_NAMES)}") from None
