"""The streamed read (one typed pass over the file) gives exactly the located path's table,
and hands anything it does not read the same way to that path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from tests.unit.data.test_presets import VENDORS, _write

from improve.data.canonical import TICKETS, load_canonical, streamed_select
from improve.data.sample import SampleFiles
from improve.domain.programme import DataSource

HEADER = "ticket_id,created_at,first_response_at,resolved_at,channel,category,team,reopens,csat"
ROW = "00123,2025-03-01 09:00,2025-03-01 09:30,,web,账单,一线,{reopens},5"


def _both(path: Path, source: DataSource | None = None) -> tuple[list[Any], list[Any], bool]:
    """The table from the streamed read, from the located path, and whether streaming held."""
    source = source or DataSource(path=str(path))
    tables = []
    for stream in (True, False):
        con = duckdb.connect()
        load_canonical(con, TICKETS, source, base_dir=path.parent, stream=stream)
        tables.append(con.execute("SELECT * FROM tickets ORDER BY ticket_id").fetchall())
    con = duckdb.connect()
    select = streamed_select(con, TICKETS, source, base_dir=path.parent)
    try:
        streamed = select is not None and bool(con.execute(select).fetchall())
    except duckdb.Error:
        streamed = False
    return tables[0], tables[1], streamed


@pytest.fixture(scope="module")
def sample_rows(sample_files: SampleFiles) -> list[dict[str, Any]]:
    return pq.read_table(sample_files.tickets).to_pylist()[::400]


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_vendor_exports_stream_to_the_same_table(
    vendor: str, sample_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = _write(tmp_path / f"{vendor}.csv", [VENDORS[vendor](t)[0] for t in sample_rows])
    fast, located, streamed = _both(path)
    assert fast == located and len(fast) == len(sample_rows)
    assert streamed


def test_canonical_csv_and_parquet_stream_to_the_same_table(
    sample_files: SampleFiles, sample_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    table = pq.read_table(sample_files.tickets).slice(0, 3000)
    pq.write_table(table, tmp_path / "t.parquet")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM '{tmp_path / 't.parquet'}') TO '{tmp_path / 't.csv'}' (HEADER)"
    ).fetchall()
    for name in ("t.parquet", "t.csv"):
        fast, located, streamed = _both(tmp_path / name)
        assert fast == located and len(fast) == 3000 and streamed, name


@pytest.mark.parametrize(
    ("reopens", "streams"),
    [("1", True), ("1.0", True), ("", True), ("1e1", True), (" 2", True), ("+3", True)],
)
def test_numbers_the_reader_types_itself_read_the_same(
    reopens: str, streams: bool, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\n" + ROW.format(reopens=reopens) + "\n", encoding="utf-8")
    fast, located, streamed = _both(path)
    assert fast == located and streamed is streams


@pytest.mark.parametrize("flag", ["是", " true", "x", "否", "TRUE", "0"])
def test_booleans_only_the_located_path_knows_still_load(flag: str, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        HEADER + ",complaint\n" + ROW.format(reopens=0) + f",{flag}\n", encoding="utf-8"
    )
    fast, located, _ = _both(path)
    assert fast == located
    complaint = list(TICKETS.types).index("complaint")
    assert fast[0][complaint] is (flag.strip().lower() in ("是", "true", "x"))


def test_gbk_and_multiline_quoted_fields(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "\n" + ROW.format(reopens=0) + "\n").encode("gbk"))
    fast, located, streamed = _both(gbk)
    assert fast == located and not streamed  # DuckDB reads UTF-8 only: the located path
    multi = tmp_path / "multi.csv"
    multi.write_text(
        HEADER + "\n" + ROW.format(reopens=0).replace("账单", '"账单\n第二行"') + "\n",
        encoding="utf-8",
    )
    fast, located, streamed = _both(multi)
    assert fast == located and streamed and fast[0][5] == "账单\n第二行"
