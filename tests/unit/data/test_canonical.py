"""Loading files into the canonical table: mapping, types, and located, all-or-nothing errors."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from improve.data.canonical import TICKETS, load_canonical
from improve.data.kpis import has_table
from improve.domain.programme import DataSource
from improve.errors import InputDataError

HEADER = "ticket_id,created_at,first_response_at,resolved_at,channel,category,team,reopens,csat"


def _load(path: Path, **mapping: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_canonical(con, TICKETS, DataSource(path=str(path), mapping=mapping), base_dir=path.parent)
    return con


def test_csv_keeps_text_ids_and_types(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        HEADER + "\n00123,2025-03-01 09:00,2025-03-01 09:30,,web,账单,一线,1,5\n", encoding="utf-8"
    )
    con = _load(path)
    row = con.execute(
        "SELECT ticket_id, reopens, csat, resolved_at, complaint FROM tickets"
    ).fetchall()[0]
    assert row == ("00123", 1, 5, None, False)


def test_mapping_renames_source_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Id,Created,Via,Type,Group\nA1,2025-03-01 09:00,email,退款,账务组\n", encoding="utf-8"
    )
    con = _load(
        path, ticket_id="Id", created_at="Created", channel="Via", category="Type", team="Group"
    )
    assert con.execute("SELECT ticket_id, channel, team FROM tickets").fetchall() == [
        ("A1", "email", "账务组")
    ]


def test_xlsx_is_read_from_the_named_sheet(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "other"
    ws2 = book.create_sheet("tickets")
    for row in (
        HEADER.split(","),
        ["7", "2025-03-01 09:00", None, None, "chat", "c", "t", 0, None],
    ):
        ws2.append(row)
    path = tmp_path / "t.xlsx"
    book.save(path)
    con = duckdb.connect()
    load_canonical(con, TICKETS, DataSource(path=str(path), sheet="tickets"), base_dir=tmp_path)
    assert con.execute("SELECT ticket_id, channel FROM tickets").fetchall() == [("7", "chat")]


def test_errors_name_file_row_column_value_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "\n"
        "1,2025-03-01 09:00,2025-03-01 08:00,,web,c,t,0,\n"  # response before creation
        "2,not a date,,,web,c,t,0,\n"  # unparseable date
        "1,2025-03-02 09:00,,2025-03-01 09:00,web,c,t,-1,7\n",  # dup id, resolved early, ...
        encoding="utf-8",
    )
    con = duckdb.connect()
    with pytest.raises(InputDataError) as info:
        load_canonical(con, TICKETS, DataSource(path=str(path)), base_dir=tmp_path)
    message = str(info.value)
    assert f"{path}:2, column 'first_response_at'" in message
    assert f"{path}:3, column 'created_at', value 'not a date'" in message
    assert "duplicate id, also on row(s) 4" in message and "also on row(s) 2" in message
    assert f"{path}:4, column 'resolved_at'" in message
    assert "column 'reopens', value '-1': must be 0 or more" in message
    assert "CSAT must be 1 to 5" in message
    assert "nothing was stored" in message
    assert not has_table(con, "tickets")


def test_missing_required_column_suggests_the_nearest_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "ticket_id,created,channel,category,team\n1,2025-03-01,web,c,t\n", encoding="utf-8"
    )
    with pytest.raises(InputDataError, match=r"'created_at'.*nearest headers: created"):
        _load(path)


def test_more_than_twenty_problems_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    lines = [HEADER] + [f"{i},yesterday,,,web,c,t,0," for i in range(30)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"(?s)30 problem\(s\).*and 10 more problem"):
        _load(path)


@pytest.mark.parametrize("content", ["", None])
def test_empty_or_missing_file_is_refused(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputDataError, match=r"empty|not found"):
        _load(path)
