"""KPI engine speed on the sample data: DuckDB SQL against a plain-Python pass, one run.

uv run python benchmarks/kpi_engine.py
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from improve.config import demo_programme_path, load_playbook, load_programme
from improve.data.canonical import TICKETS, load_canonical
from improve.data.kpis import compute_kpis
from improve.data.sample import write_sample_data
from improve.domain.calendar import china_calendar
from improve.domain.programme import DataSource


def _python_fcr_by_month(path: Path) -> dict[object, float]:
    groups: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for r in pq.read_table(path).to_pylist():
        if r["resolved_at"] is None:
            continue
        g = groups[r["created_at"].date().replace(day=1)]
        g[1] += 1
        g[0] += r["reopens"] == 0 and (r["agent_replies"] or 0) <= 1
    return {k: a / b for k, (a, b) in groups.items()}


def main() -> None:
    programme = load_programme(demo_programme_path())
    with tempfile.TemporaryDirectory() as tmp:
        files = write_sample_data(
            Path(tmp),
            playbook=load_playbook(programme),
            plan_start=programme.cycle.plan_start,
            calendar=china_calendar(range(2024, 2028)),
        )
        con = duckdb.connect()
        t0 = time.perf_counter()
        load_canonical(con, TICKETS, DataSource(path=str(files.tickets)), base_dir=Path(tmp))
        t1 = time.perf_counter()
        compute_kpis(con, grain="month")
        t2 = time.perf_counter()
        compute_kpis(con, grain="week", dims=["team", "channel"])
        t3 = time.perf_counter()
        _python_fcr_by_month(files.tickets)
        t4 = time.perf_counter()
    n = files.tickets_count
    print(f"{n:,} tickets")
    print(f"load + validate        {t1 - t0:6.2f} s")
    print(f"all KPIs by month      {t2 - t1:6.2f} s   (DuckDB)")
    print(f"all KPIs by week x 2d  {t3 - t2:6.2f} s   (DuckDB)")
    print(f"one KPI by month       {t4 - t3:6.2f} s   (plain Python, for comparison)")


if __name__ == "__main__":
    main()
