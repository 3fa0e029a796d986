"""A corpus of bad and hostile files: each is refused with a located message, quickly, and
the ticket store is exactly as it was."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from improve.data.canonical import TICKETS, load_canonical
from improve.data.store import TicketStore
from improve.domain.programme import DataSource
from improve.errors import InputDataError

HEADER = "ticket_id,created_at,resolved_at,first_response_at,channel,category,team,reopens,csat"
GOOD = "1,2025-03-01 09:00,2025-03-01 12:00,2025-03-01 09:10,web,账单,一线,0,5"


def _csv(*lines: str, header: str = HEADER) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "tickets.csv"
        path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        return path

    return make


def _raw(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "tickets"
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_BOOK = [HEADER.split(","), GOOD.split(",")]


def _patched(
    edit: Callable[[str], str],
    rows: list[list[object]] | None = None,
) -> Callable[[Path], Path]:
    """A valid workbook whose sheet XML went through `edit`."""

    def make(folder: Path) -> Path:
        source = zipfile.ZipFile(io.BytesIO(_workbook(rows or GOOD_BOOK)))
        path = folder / "tickets.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = edit(data.decode()).encode()
                out.writestr(item, data)
        return path

    return make


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
        for i in range(10)
    )
    + "]>"
)


def _bomb(folder: Path) -> Path:
    path = folder / "tickets.xlsx"
    source = zipfile.ZipFile(io.BytesIO(_workbook(GOOD_BOOK)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * (80 << 20) + b"</worksheet>")
            out.writestr(item.filename, data)
    return path


def _parquet_with_negative_reopens(folder: Path) -> Path:
    path = folder / "t.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT CAST(i AS VARCHAR) AS ticket_id, TIMESTAMP '2025-03-01' + "
        f"INTERVAL (i) HOUR AS created_at, 'web' AS channel, 'c' AS category, 't' AS team, "
        f"CASE WHEN i = 1 THEN -1 ELSE 0 END AS reopens FROM range(3) t(i)) TO '{path}'"
    ).fetchall()
    return path


def _parquet_with_nul(folder: Path) -> Path:
    """Parquet carries any string, NUL included (CSV and XLSX readers refuse it first)."""
    path = folder / "t.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT CAST(i AS VARCHAR) AS ticket_id, TIMESTAMP '2025-03-01' + "
        f"INTERVAL (i) HOUR AS created_at, 'web' AS channel, CASE WHEN i = 2 THEN "
        f"'bill' || chr(0) || 'ing' ELSE 'c' END AS category, 't' AS team FROM range(3) t(i)) "
        f"TO '{path}'"
    ).fetchall()
    return path


CORPUS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty file": (_raw("t.csv", b""), r"the file is empty"),
    "header only": (_csv(), r"a header row but no tickets"),
    "blank first line": (_raw("t.csv", b"\n" + GOOD.encode()), r"first line is empty"),
    "missing column": (
        _csv("1,2025-03-01,web,c,t", header="ticket_id,created,channel,category,team"),
        r"column 'created_at': required column missing.*nearest",
    ),
    "duplicate id": (_csv(GOOD, GOOD), r":3, column 'ticket_id', value '1': duplicate id"),
    "bad date": (
        _csv(GOOD.replace("2025-03-01 09:00", "yesterday")),
        r":2, column 'created_at', value 'yesterday'",
    ),
    "impossible date": (
        _csv(GOOD.replace("2025-03-01 09:00", "2025-02-30 09:00")),
        r":2, column 'created_at', value '2025-02-30 09:00'",
    ),
    "bad date after a two-line value and a blank line": (
        _csv(
            GOOD.replace("账单", '"账单\n明细"'),
            "",
            GOOD.replace("1,", "2,", 1).replace("2025-03-01 09:00", "soon"),
        ),
        r":5, column 'created_at', value 'soon'",
    ),
    "resolved early": (
        _csv(GOOD.replace("2025-03-01 12:00", "2025-02-28 12:00")),
        r":2, column 'resolved_at'.*resolved before it was created",
    ),
    "response early": (
        _csv(GOOD.replace("2025-03-01 09:10", "2025-03-01 08:10")),
        r":2, column 'first_response_at'.*first response before",
    ),
    "reopens text": (_csv(GOOD[:-3] + "two,5"), r"column 'reopens', value 'two'.*whole number"),
    "reopens negative": (_csv(GOOD[:-3] + "-1,5"), r"column 'reopens'.*must be 0 or more"),
    "reopens fraction": (_csv(GOOD[:-3] + "1.5,5"), r"column 'reopens', value '1.5'"),
    "reopens in hex": (_csv(GOOD[:-3] + "0x10,5"), r"column 'reopens', value '0x10'"),
    "infinite date": (
        _csv(GOOD.replace("2025-03-01 12:00", "infinity")),
        r":2, column 'resolved_at', value 'infinity': an impossible date",
    ),
    "year 1900": (
        _csv(GOOD.replace("2025-03-01 09:00", "1900-03-01 09:00")),
        r":2, column 'created_at', value '1900-03-01 09:00': an impossible date",
    ),
    "bad row in parquet": (_parquet_with_negative_reopens, r"t.parquet:3, column 'reopens'"),
    "NUL in parquet text": (
        _parquet_with_nul,
        r"t.parquet:4, column 'category', value 'bill\\x00ing': holds a NUL character",
    ),
    "csat out of range": (_csv(GOOD[:-1] + "7"), r"column 'csat', value '7'.*1 to 5"),
    "complaint word": (
        _csv(GOOD + ",maybe", header=HEADER + ",complaint"),
        r"column 'complaint', value 'maybe'.*true/false",
    ),
    "handle text": (
        _csv(GOOD + ",abc", header=HEADER + ",handle_minutes"),
        r"column 'handle_minutes', value 'abc'.*a number",
    ),
    "empty id": (_csv(GOOD.replace("1,", ",", 1)), r"column 'ticket_id'.*required value is empty"),
    "short row": (
        _csv(GOOD, "2,2025-03-01 09:00,web"),
        r"tickets.csv:3: expected 9 fields, found 3",
    ),
    "long row": (_csv(GOOD + ",x,y"), r"tickets.csv:2: expected 9 fields, found 1[01]"),
    "unterminated quote": (_csv(GOOD.replace(",web,", ',"web,')), r"never closed"),
    "not text": (_raw("t.csv", HEADER.encode() + b"\n\x80\xff\x81\n"), r"neither UTF-8 nor"),
    "truncated xlsx": (
        lambda f: _raw("t.xlsx", _workbook(GOOD_BOOK)[:700])(f),
        r"damaged or truncated zip",
    ),
    "not a zip": (
        _raw("t.xlsx", b"ticket_id,created_at\n1,2025-01-01\n"),
        r"damaged or truncated zip",
    ),
    "entity bomb": (
        _patched(
            lambda xml: (
                xml.replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', "")
                .replace("<worksheet", LAUGHS + "<worksheet", 1)
                .replace(">账单<", ">&lol9;<")
            )
        ),
        r"not a readable XLSX workbook|malformed or unsafe",
    ),
    "too many columns": (
        lambda f: _raw("t.xlsx", _workbook([[f"c{i}" for i in range(600)], ["1"] * 600]))(f),
        r"more than 512 columns",
    ),
    "value beyond the header": (
        lambda f: _raw("t.xlsx", _workbook([*GOOD_BOOK, [*GOOD.split(","), "stray"]]))(f),
        r"t.xlsx:3: a value beyond the 9 named",
    ),
    "zip bomb": (_bomb, r"zip bomb"),
    "no sheet": (lambda f: _raw("t.xlsx", _workbook(GOOD_BOOK))(f), r"no sheet 'Tickets 2025'"),
    "empty sheet": (lambda f: _raw("t.xlsx", _workbook([]))(f), r"has no header row"),
    "corrupt parquet": (_raw("t.parquet", b"PAR1" + b"\x00" * 64), r"cannot be read as parquet"),
}


def _source(path: Path) -> DataSource:
    sheet = "Tickets 2025" if path.name == "t.xlsx" and "no sheet" in CURRENT else None
    return DataSource(path=str(path), sheet=sheet)


CURRENT: list[str] = []


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_file_is_refused_and_the_store_is_unchanged(case: str, tmp_path: Path) -> None:
    store = TicketStore(tmp_path / "store")
    good = _csv(GOOD)(tmp_path)
    con = duckdb.connect()
    load_canonical(con, TICKETS, DataSource(path=str(good)), base_dir=tmp_path)
    store.merge(con)
    before = _snapshot(store.root)
    folder = tmp_path / "incoming"
    folder.mkdir()
    make, expected = CORPUS[case]
    path = make(folder)
    CURRENT[:] = [case]
    con = duckdb.connect()
    with pytest.raises(InputDataError, match=rf"(?s){expected}") as info:
        store.import_source(con, _source(path), base_dir=folder)
    assert str(path) in str(info.value)
    assert _snapshot(store.root) == before


@pytest.mark.timeout(60)
def test_a_lying_dimension_record_is_ignored(tmp_path: Path) -> None:
    path = _patched(
        lambda xml: xml.replace('<dimension ref="A1:I2"/>', '<dimension ref="A1:XFD1048576"/>')
    )(tmp_path)
    con = duckdb.connect()
    assert load_canonical(con, TICKETS, DataSource(path=str(path)), base_dir=tmp_path) == 1


@pytest.mark.timeout(60)
def test_a_far_away_cell_and_blank_rows_are_harmless(tmp_path: Path) -> None:
    """A cell at XFD1048576 (a cell bomb for readers that allocate the whole grid) and blank
    rows cost nothing; row numbers stay those of the sheet."""
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    second = GOOD.replace("1,", "2,", 1).split(",")
    path = _patched(
        lambda xml: xml.replace("</sheetData>", far + "</sheetData>"),
        rows=[*GOOD_BOOK, [None] * 9, second],
    )(tmp_path)
    con = duckdb.connect()
    assert load_canonical(con, TICKETS, DataSource(path=str(path)), base_dir=tmp_path) == 2
