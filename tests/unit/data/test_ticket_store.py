"""The ticket store: overlapping exports merge by id, the newer wins, nothing counts twice,
a bad file or a crashed import leaves the store as it was."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from improve.cli.app import app
from improve.config import demo_programme_path
from improve.data.canonical import TICKETS, load_canonical
from improve.data.sample import SampleFiles
from improve.data.store import TicketStore
from improve.domain.programme import DataSource
from improve.errors import InputDataError

Row = dict[str, Any]


@pytest.fixture(scope="module")
def rows(sample_files: SampleFiles) -> list[Row]:
    table = pq.read_table(sample_files.tickets)
    few = table.filter(
        pa.compute.less(table["created_at"], pa.scalar(datetime(2025, 5, 1), pa.timestamp("s")))
    )
    return few.to_pylist()[::20]


def _file(path: Path, rows: list[Row], schema: pa.Schema) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _import(store: TicketStore, path: Path) -> Any:
    con = duckdb.connect()
    load_canonical(con, TICKETS, DataSource(path=str(path)), base_dir=path.parent)
    return store.merge(con)


def _stored(store: TicketStore) -> dict[str, Row]:
    con = duckdb.connect()
    store.read_into(con)
    cur = con.execute("SELECT * FROM tickets")
    names = [d[0] for d in cur.description or ()]
    out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    ids = [r["ticket_id"] for r in out]
    assert len(ids) == len(set(ids)), "a ticket is stored twice"
    return {r["ticket_id"]: r for r in out}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_overlapping_exports_merge_by_id_and_the_newer_wins(
    rows: list[Row], sample_files: SampleFiles, tmp_path: Path
) -> None:
    schema = pq.read_schema(sample_files.tickets)
    store = TicketStore(tmp_path / "store")
    jan_mar = [r for r in rows if r["created_at"] < datetime(2025, 4, 1)]
    feb_apr = [dict(r) for r in rows if r["created_at"] >= datetime(2025, 2, 1)]
    changed = feb_apr[0]
    changed["reopens"] = 7
    moved = feb_apr[1]
    for column in ("created_at", "first_response_at", "resolved_at"):  # into another month
        if moved[column] is not None:
            moved[column] += timedelta(days=40)
    first = _import(store, _file(tmp_path / "a.parquet", jan_mar, schema))
    assert (first.added, first.updated) == (len(jan_mar), 0)
    second = _import(store, _file(tmp_path / "b.parquet", feb_apr, schema))
    known = {r["ticket_id"] for r in jan_mar}
    assert second.added == sum(r["ticket_id"] not in known for r in feb_apr)
    assert second.updated == 2 and second.unchanged == len(feb_apr) - second.added - 2
    stored = _stored(store)
    assert len(stored) == len({r["ticket_id"] for r in jan_mar + feb_apr})
    assert stored[changed["ticket_id"]]["reopens"] == 7
    assert stored[moved["ticket_id"]]["created_at"] == moved["created_at"]
    assert "2025-01" not in second.months_written  # untouched months are linked, not rewritten

    again = _import(store, tmp_path / "b.parquet")
    assert (again.added, again.updated, again.generation) == (0, 0, None)
    assert _stored(store) == stored


def test_a_bad_export_leaves_the_store_unchanged(
    rows: list[Row], sample_files: SampleFiles, tmp_path: Path
) -> None:
    schema = pq.read_schema(sample_files.tickets)
    store = TicketStore(tmp_path / "store")
    _import(store, _file(tmp_path / "a.parquet", rows[:50], schema))
    before = _snapshot(store.root)
    bad = [dict(r) for r in rows[40:60]]
    bad[3]["resolved_at"] = bad[3]["created_at"] - timedelta(hours=1)
    with pytest.raises(InputDataError, match="resolved before it was created"):
        _import(store, _file(tmp_path / "bad.parquet", bad, schema))
    assert _snapshot(store.root) == before


def test_a_crashed_import_is_never_read_and_is_cleaned_up(
    rows: list[Row], sample_files: SampleFiles, tmp_path: Path
) -> None:
    schema = pq.read_schema(sample_files.tickets)
    store = TicketStore(tmp_path / "store")
    _import(store, _file(tmp_path / "a.parquet", rows[:50], schema))
    stored = _stored(store)
    half = store.root / "g000099" / "month=2025-01"
    half.mkdir(parents=True)
    (half / "tickets.parquet").write_bytes(b"PAR1 half written")
    assert _stored(store) == stored
    _import(store, _file(tmp_path / "b.parquet", rows[50:60], schema))
    assert not (store.root / "g000099").exists()


def test_import_command_and_runs_read_the_store(
    rows: list[Row], sample_files: SampleFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPROVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMPROVE_DATABASE_URL", f"sqlite:///{tmp_path / 'home' / 'db.sqlite'}")
    monkeypatch.delenv("IMPROVE_DEBUG", raising=False)
    path = _file(tmp_path / "export.parquet", rows, pq.read_schema(sample_files.tickets))
    args = ["import", str(path), "--config", str(demo_programme_path()), "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == len(rows)
    second = CliRunner().invoke(app, args)
    assert json.loads(second.stdout) == {
        "added": 0,
        "updated": 0,
        "unchanged": len(rows),
        "generation": None,
        "months_written": [],
    }

    from improve.orchestration.context import RunContext
    from improve.orchestration.pipeline import open_data

    ctx = RunContext.load(demo_programme_path(), data_root=sample_files.tickets.parent.parent)
    con = open_data(ctx)  # the store, not the configured (full) ticket file, is read
    assert con.execute("SELECT count(*) FROM tickets").fetchall()[0][0] == len(rows)
    con.close()
    ctx.close()


def test_files_only_the_located_path_reads_are_imported_too(tmp_path: Path) -> None:
    """XLSX, GBK and `是`-style booleans skip the streamed read and still land in the store."""
    from openpyxl import Workbook

    header = ["ticket_id", "created_at", "channel", "category", "team", "complaint"]
    rows = [["00001", "2025-03-01 09:00", "web", "账单", "一线", "是"]]
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in (header, *rows):
        ws.append(row)
    book.save(tmp_path / "a.xlsx")
    (tmp_path / "b.csv").write_bytes(
        (",".join(header) + "\n00002,2025-04-01 10:00,email,退款,二线,否\n").encode("gbk")
    )
    store = TicketStore(tmp_path / "store")
    for name in ("a.xlsx", "b.csv"):
        result = store.import_source(
            duckdb.connect(), DataSource(path=str(tmp_path / name)), base_dir=tmp_path
        )
        assert result.added == 1
    stored = _stored(store)
    assert stored["00001"]["complaint"] is True and stored["00002"]["team"] == "二线"
    assert sorted(result.months_written) == ["2025-04"]
