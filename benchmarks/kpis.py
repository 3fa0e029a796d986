"""KPIs at scale: the engine against bare DuckDB and idiomatic pandas, measured in one run.

    uv run python benchmarks/kpis.py --rows 20000000

Generates a synthetic canonical ticket CSV of N rows (kept in benchmarks/.data/), then runs
each phase in its own process so that its peak memory is its own:

- import: `improve import`'s path (validate all or nothing, merge into the ticket store)
  against DuckDB's bare read_csv of the same file;
- cube: every KPI of KPI.md per ISO week x team x channel x category and per week in total,
  with the weekly backlog, from the store, against bare DuckDB computing the same KPIs by
  hand (one scan-and-aggregate per grouping over the same columns, with the same
  percentiles and distinct counts, and the backlog's running sum) and against an idiomatic
  pandas implementation. A minimal scan (plain averages, no percentiles) is printed too,
  for what the percentiles and distinct counts cost.

The last line is `cube_vs_duckdb=X cube_vs_pandas=Y import_vs_duckdb=Z peak_rss_gb=W`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"
DIMS = ["team", "channel", "category"]


def _generate(path: Path, rows: int) -> None:
    import duckdb

    con = duckdb.connect()
    pick = "list_element({values}, 1 + CAST(hash(i * 64 + {salt}) % {n} AS INTEGER))"

    def choice(values: list[str], salt: int) -> str:
        return pick.format(values=values, salt=salt, n=len(values))

    con.execute(f"""
        COPY (
          SELECT lpad(CAST(i AS VARCHAR), 10, '0') AS ticket_id,
            TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i * 64 + 1) % (730 * 86400) AS BIGINT))
              AS created_at,
            CASE WHEN hash(i * 64 + 2) % 20 > 0 THEN created_at
              + to_seconds(CAST(hash(i * 64 + 3) % 30000 AS BIGINT)) END AS first_response_at,
            CASE WHEN hash(i * 64 + 4) % 25 > 0 THEN created_at
              + to_seconds(CAST(30000 + hash(i * 64 + 5) % 400000 AS BIGINT)) END AS resolved_at,
            {choice(["email", "web", "chat", "phone"], 6)} AS channel,
            {choice([f"category {k}" for k in range(20)], 7)} AS category,
            {choice([f"team {k}" for k in range(12)], 8)} AS team,
            'agent ' || CAST(hash(i * 64 + 9) % 400 AS VARCHAR) AS agent,
            {choice(["urgent", "high", "normal", "low"], 10)} AS priority,
            {choice(["华东", "华北", "华南", "西南", "东北", "西北"], 11)} AS region,
            {choice(["云盘", "企业邮箱", "在线会议", "智能客服", "数据平台"], 12)} AS product,
            CAST(hash(i * 64 + 13) % 10 = 0 AS INTEGER) AS reopens,
            1 + CAST(hash(i * 64 + 14) % 3 AS INTEGER) AS agent_replies,
            CAST(hash(i * 64 + 15) % 5 = 0 AS INTEGER) AS reassignments,
            CASE WHEN hash(i * 64 + 16) % 10 < 3
              THEN 1 + CAST(hash(i * 64 + 17) % 5 AS INTEGER) END AS csat,
            hash(i * 64 + 18) % 50 = 0 AS complaint,
            CASE WHEN hash(i * 64 + 19) % 10 > 0 THEN hash(i * 64 + 20) % 7 = 0 END AS sla_breached,
            round(5 + (hash(i * 64 + 21) % 4000) / 100.0, 1) AS handle_minutes
          FROM range({rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""").fetchall()


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def phase_import(csv: Path, store: Path) -> dict[str, float]:
    from improve.data import engine
    from improve.data.store import TicketStore
    from improve.domain.programme import DataSource

    started = time.perf_counter()
    con = engine.connect()
    source = DataSource(path=str(csv), preset="generic")
    result = TicketStore(store).import_source(con, source, base_dir=csv.parent)
    assert result.added > 0
    return {"seconds": time.perf_counter() - started, "rss_gb": _rss_gb()}


def phase_bare_read(csv: Path) -> dict[str, float]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')").fetchall()
    return {"seconds": time.perf_counter() - started, "rss_gb": _rss_gb()}


def phase_cube(store: Path) -> dict[str, float]:
    from improve.data import engine
    from improve.data.kpis import compute_kpis
    from improve.data.store import TicketStore

    started = time.perf_counter()
    con = engine.connect()
    TicketStore(store).read_into(con)
    cube = compute_kpis(con, grain="week", dims=DIMS)
    total = compute_kpis(con, grain="week")
    assert cube and total
    return {"seconds": time.perf_counter() - started, "rss_gb": _rss_gb(), "cells": len(cube)}


def _store_files(store: Path) -> list[str]:
    from improve.data.store import TicketStore

    tickets = TicketStore(store)
    current = tickets.current
    assert current is not None
    return [str(p) for p in tickets.files(current)]


# What a DuckDB user writes by hand for the same KPIs (KPI.md's definitions): one query per
# grouping for the per-ticket KPIs, one running sum for the backlog.
BARE_KPIS = """count(*),
  quantile_cont(frt, [0.5, 0.9]), avg(frt), quantile_cont(res, [0.5, 0.9]),
  count_if(resolved AND reopens = 0 AND CASE WHEN agent_replies IS NOT NULL
    THEN agent_replies <= 1 ELSE coalesce(reassignments, 0) = 0 END), count_if(resolved),
  count_if(resolved AND reopens > 0), count_if(csat >= 4), count(csat), avg(csat),
  count_if(complaint), count_if(sla_breached), count(sla_breached),
  count(DISTINCT agent) FILTER (resolved), avg(handle_minutes)"""
# The least a scan of those columns costs: plain averages and counts, no percentiles.
MINIMAL = (
    "count(*), avg(epoch(first_response_at) - epoch(created_at)), "
    "avg(epoch(resolved_at) - epoch(created_at)), sum(reopens), avg(agent_replies), "
    "sum(reassignments), avg(csat), sum(CAST(complaint AS INT)), "
    "sum(CAST(sla_breached AS INT)), avg(handle_minutes), count(DISTINCT agent)"
)


def phase_bare_cube(store: Path, minimal: bool = False) -> dict[str, float]:
    import duckdb

    files = _store_files(store)
    started = time.perf_counter()
    con = duckdb.connect()
    scan = "read_parquet(?)"
    per_ticket = (
        "SELECT *, date_trunc('week', created_at) AS week, "
        "(epoch(first_response_at) - epoch(created_at)) / 60 AS frt, "
        "(epoch(resolved_at) - epoch(created_at)) / 3600 AS res, "
        f"resolved_at IS NOT NULL AS resolved FROM {scan}"
    )
    for dims in (", ".join(DIMS), ""):
        group = "week" + (f", {dims}" if dims else "")
        if minimal:
            con.execute(f"SELECT {group}, {MINIMAL} FROM ({per_ticket}) GROUP BY ALL", [files])
            con.fetchall()
            continue
        con.execute(f"SELECT {group}, {BARE_KPIS} FROM ({per_ticket}) GROUP BY ALL", [files])
        con.fetchall()
        d = f", {dims}" if dims else ""
        window = f"PARTITION BY {dims} " if dims else ""
        con.execute(
            f"SELECT week{d}, sum(n) OVER ({window}ORDER BY week) FROM (SELECT week{d}, "
            f"sum(n) AS n FROM (SELECT date_trunc('week', created_at) AS week{d}, 1 AS n "
            f"FROM {scan} UNION ALL SELECT date_trunc('week', resolved_at){d}, -1 FROM {scan} "
            "WHERE resolved_at IS NOT NULL) GROUP BY ALL)",
            [files, files],
        ).fetchall()
    return {"seconds": time.perf_counter() - started, "rss_gb": _rss_gb()}


def phase_pandas(store: Path) -> dict[str, float]:
    import numpy as np
    import pandas as pd

    files = _store_files(store)
    started = time.perf_counter()
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    df["week"] = df["created_at"].dt.to_period("W-SUN").dt.start_time
    df["frt_min"] = (df["first_response_at"] - df["created_at"]).dt.total_seconds() / 60
    df["res_h"] = (df["resolved_at"] - df["created_at"]).dt.total_seconds() / 3600
    df["resolved"] = df["resolved_at"].notna()
    df["fcr"] = df["resolved"] & (df["reopens"] == 0) & (df["agent_replies"].fillna(0) <= 1)
    df["reopened"] = df["resolved"] & (df["reopens"] > 0)
    df["top2"] = (df["csat"] >= 4).where(df["csat"].notna())

    def kpis(keys: list[str]) -> pd.DataFrame:
        g = df.groupby(keys, observed=True)
        out = g.agg(
            volume=("ticket_id", "size"),
            frt_median=("frt_min", "median"),
            frt_mean=("frt_min", "mean"),
            res_median=("res_h", "median"),
            resolved=("resolved", "sum"),
            fcr=("fcr", "sum"),
            reopened=("reopened", "sum"),
            csat_rate=("top2", "mean"),
            csat_mean=("csat", "mean"),
            complaints=("complaint", "mean"),
            sla=("sla_breached", "mean"),
            handle=("handle_minutes", "mean"),
        )
        out["frt_p90"] = g["frt_min"].quantile(0.9)
        out["res_p90"] = g["res_h"].quantile(0.9)
        out["fcr_rate"] = out["fcr"] / out["resolved"]
        out["reopen_rate"] = out["reopened"] / out["resolved"]
        agents = df.loc[df["resolved"]].groupby(keys, observed=True)["agent"].nunique()
        out["tickets_per_agent"] = out["resolved"] / agents
        return out

    cube = kpis(["week", *DIMS])
    total = kpis(["week"])
    weeks = total.index.to_numpy()
    ends = weeks + np.timedelta64(7, "D")
    created = np.sort(df["created_at"].to_numpy())
    resolved = np.sort(df["resolved_at"].dropna().to_numpy())
    total["backlog"] = np.searchsorted(created, ends) - np.searchsorted(resolved, ends)
    assert len(cube)
    return {"seconds": time.perf_counter() - started, "rss_gb": _rss_gb()}


def _run(phase: str, *args: str) -> dict[str, float]:
    out = (
        subprocess.run(
            [sys.executable, __file__, "--phase", phase, *args],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    result: dict[str, float] = json.loads(out)
    print(f"  {phase:<10} {result['seconds']:8.2f} s   peak {result['rss_gb']:.2f} GB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--phase")
    parser.add_argument("--csv")
    parser.add_argument("--store")
    args = parser.parse_args()
    if args.phase:
        csv, store = Path(args.csv), Path(args.store)
        result = {
            "import": lambda: phase_import(csv, store),
            "bare_read": lambda: phase_bare_read(csv),
            "cube": lambda: phase_cube(store),
            "bare_cube": lambda: phase_bare_cube(store),
            "minimal_scan": lambda: phase_bare_cube(store, minimal=True),
            "pandas": lambda: phase_pandas(store),
        }[args.phase]()
        print(json.dumps(result))
        return
    DATA.mkdir(exist_ok=True)
    csv = DATA / f"tickets-{args.rows}.csv"
    if not csv.exists():
        print(f"generating {args.rows:,} tickets into {csv} ...", flush=True)
        _generate(csv, args.rows)
    store = DATA / f"store-{args.rows}"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    files = ["--csv", str(csv), "--store", str(store)]
    imported = _run("import", *files)
    bare_read = _run("bare_read", *files)
    cube = _run("cube", *files)
    bare_cube = _run("bare_cube", *files)
    _run("minimal_scan", *files)
    pandas = _run("pandas", *files)
    print(
        f"cube_vs_duckdb={cube['seconds'] / bare_cube['seconds']:.2f} "
        f"cube_vs_pandas={cube['seconds'] / pandas['seconds']:.2f} "
        f"import_vs_duckdb={imported['seconds'] / bare_read['seconds']:.2f} "
        f"peak_rss_gb={max(imported['rss_gb'], cube['rss_gb']):.2f}"
    )


if __name__ == "__main__":
    main()
