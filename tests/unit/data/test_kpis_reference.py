"""`improve kpis --json` against an independent, plain-Python reading of KPI.md."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from improve.cli.app import app
from improve.data.sample import SampleFiles


def _period(ts: datetime, by: str) -> date:
    d = ts.date()
    return d.replace(day=1) if by == "month" else d - timedelta(days=d.weekday())


def _next(p: date, by: str) -> datetime:
    if by == "week":
        return datetime.combine(p + timedelta(days=7), datetime.min.time())
    nxt = date(p.year + (p.month == 12), p.month % 12 + 1, 1)
    return datetime.combine(nxt, datetime.min.time())


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def reference_kpis(rows: list[dict[str, Any]], by: str, dims: list[str]) -> list[dict[str, Any]]:
    """KPI.md's definitions, one ticket at a time."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(_period(r["created_at"], by), *(r[d] for d in dims))].append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        period, tickets = key[0], groups[key]
        frt = [
            (t["first_response_at"] - t["created_at"]).total_seconds() / 60
            for t in tickets
            if t["first_response_at"] is not None
        ]
        resolved = [t for t in tickets if t["resolved_at"] is not None]
        res = [(t["resolved_at"] - t["created_at"]).total_seconds() / 3600 for t in resolved]
        fcr = [
            t
            for t in resolved
            if t["reopens"] == 0
            and (
                t["agent_replies"] <= 1
                if t["agent_replies"] is not None
                else (t["reassignments"] or 0) == 0
            )
        ]
        rated = [t["csat"] for t in tickets if t["csat"] is not None]
        sla = [t["sla_breached"] for t in tickets if t["sla_breached"] is not None]
        handle = [t["handle_minutes"] for t in tickets if t["handle_minutes"] is not None]
        end = _next(period, by)
        match = (
            [all(t[d] == v for d, v in zip(dims, key[1:], strict=True)) for t in rows]
            if dims
            else None
        )
        backlog = sum(
            1
            for i, t in enumerate(rows)
            if (match is None or match[i])
            and t["created_at"] < end
            and (t["resolved_at"] is None or t["resolved_at"] >= end)
        )
        agents = {t["agent"] for t in resolved if t["agent"] is not None}
        item: dict[str, Any] = {"period": period.isoformat()}
        item.update({d: v for d, v in zip(dims, key[1:], strict=True)})
        item.update(
            {
                "volume": len(tickets),
                "frt_median_min": _pct(frt, 50),
                "frt_mean_min": float(np.mean(frt)) if frt else None,
                "frt_p90_min": _pct(frt, 90),
                "resolution_median_h": _pct(res, 50),
                "resolution_p90_h": _pct(res, 90),
                "fcr_rate": _ratio(len(fcr), len(resolved)),
                "reopen_rate": _ratio(sum(t["reopens"] > 0 for t in resolved), len(resolved)),
                "csat_rate": _ratio(sum(c >= 4 for c in rated), len(rated)),
                "csat_mean": float(np.mean(rated)) if rated else None,
                "nps": None,
                "complaint_rate": _ratio(sum(bool(t["complaint"]) for t in tickets), len(tickets)),
                "sla_breach_rate": _ratio(sum(sla), len(sla)),
                "backlog_end": backlog,
                "tickets_per_agent": _ratio(len(resolved), len(agents)),
                "handle_minutes_mean": float(np.mean(handle)) if handle else None,
            }
        )
        out.append(item)
    return out


def _assert_same(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.keys() == e.keys()
        for k, v in e.items():
            if isinstance(v, float):
                assert a[k] == pytest.approx(v, rel=1e-9, abs=1e-9), (e["period"], k)
            else:
                assert a[k] == v, (e["period"], k)


@pytest.fixture(scope="module")
def ticket_rows(sample_files: SampleFiles) -> list[dict[str, Any]]:
    return pq.read_table(sample_files.tickets).to_pylist()


def test_kpis_json_by_month_equals_reference(
    sample_files: SampleFiles, ticket_rows: list[dict[str, Any]]
) -> None:
    result = CliRunner().invoke(app, ["kpis", str(sample_files.tickets), "--json"])
    assert result.exit_code == 0, result.output
    actual = json.loads(result.stdout)
    assert len(actual) == 18
    _assert_same(actual, reference_kpis(ticket_rows, "month", []))


def test_kpis_json_by_week_and_dims_equals_reference(
    sample_files: SampleFiles, ticket_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    # A quarter of the data keeps the per-segment backlog reference quick.
    few = [r for r in ticket_rows if r["created_at"] < datetime(2025, 4, 1)]
    import pyarrow as pa

    path = tmp_path / "q1.parquet"
    pq.write_table(pa.Table.from_pylist(few, schema=pq.read_schema(sample_files.tickets)), path)
    result = CliRunner().invoke(
        app, ["kpis", str(path), "--by", "week", "--dims", "channel,priority", "--json"]
    )
    assert result.exit_code == 0, result.output
    _assert_same(json.loads(result.stdout), reference_kpis(few, "week", ["channel", "priority"]))


def test_a_long_history_aggregated_in_chunks_gives_the_same_kpis(
    sample_files: SampleFiles, ticket_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of whole periods at a time (to bound memory) change no number."""
    from improve.data import kpis

    monkeypatch.setattr(kpis, "CHUNK_ROWS", 20_000)  # about 8 chunks of 2-3 months
    chunks = []
    original = kpis._chunks

    def counted(*args: Any) -> list[str]:
        chunks[:] = original(*args)
        return chunks

    monkeypatch.setattr(kpis, "_chunks", counted)
    result = CliRunner().invoke(app, ["kpis", str(sample_files.tickets), "--json"])
    assert result.exit_code == 0, result.output
    assert len(chunks) >= 6
    _assert_same(json.loads(result.stdout), reference_kpis(ticket_rows, "month", []))
