"""Read CSV, XLSX and Parquet files into DuckDB tables of text columns, file order kept."""

from __future__ import annotations

import codecs
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa
from openpyxl import load_workbook

from improve.domain.programme import FileFormat
from improve.errors import InputDataError

CHUNK = 1 << 20
ROW_COLUMN = "_row"  # 1-based line number in the file (header is line 1), for error messages


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> None:
    """Execute a statement that returns no rows, finishing its result so the connection is free."""
    con.execute(sql, params or []).fetchall()


def detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM), utf-16 (Excel "Unicode text"), else gb18030 (GBK)."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


@contextmanager
def utf8_view(path: Path) -> Iterator[Path]:
    """The file itself when it is UTF-8, else a UTF-8 copy (removed afterwards); DuckDB reads
    only UTF-8 without downloading an extension."""
    encoding = detect_encoding(path)
    if encoding == "utf-8":
        yield path
        return
    fd, name = tempfile.mkstemp(prefix="improve-", suffix=".csv")
    copy = Path(name)
    try:
        with (
            os.fdopen(fd, "w", encoding="utf-8", newline="") as out,
            path.open(encoding=encoding, errors="strict", newline="") as src,
        ):
            while text := src.read(CHUNK):
                out.write(text)
        yield copy
    except UnicodeDecodeError as exc:
        raise InputDataError(
            f"{path}: neither UTF-8 nor {encoding} ({exc}); save it as UTF-8 CSV"
        ) from exc
    finally:
        copy.unlink(missing_ok=True)


def detect_format(path: Path, declared: FileFormat | None = None) -> FileFormat:
    """The file format: the declared one, else the suffix."""
    if declared:
        return declared
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise InputDataError(
        f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
        "use .csv, .xlsx or .parquet, or set `format:` in the programme's data source"
    )


def read_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    fmt: FileFormat | None = None,
    sheet: str | None = None,
) -> list[str]:
    """Load `path` into table `table` with a `_row` column; returns the file's column names.

    CSV and XLSX columns arrive as text (validated and cast later, so that errors can
    name the row); Parquet keeps its types.
    """
    if not path.is_file():
        raise InputDataError(f"{path}: file not found; check the path in the programme definition")
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: the file is empty; export it again with a header row")
    kind = detect_format(path, fmt)
    try:
        if kind == "csv":
            with utf8_view(path) as readable:
                run(
                    con,
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header=true, "
                    "all_varchar=true, auto_detect=true)",
                    [str(readable)],
                )
        elif kind == "parquet":
            run(
                con,
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet(?)",
                [str(path)],
            )
        else:
            arrow = _read_xlsx(path, sheet)
            con.register("_xlsx_arrow", arrow)
            run(con, f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _xlsx_arrow")
            con.unregister("_xlsx_arrow")
    except duckdb.Error as exc:
        raise InputDataError(f"{path}: cannot be read as {kind}: {exc}") from exc
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    if ROW_COLUMN in columns:
        raise InputDataError(f"{path}: a column is named {ROW_COLUMN!r}; rename it")
    # rowid follows insertion order, which DuckDB keeps as the file order.
    run(con, f"CREATE OR REPLACE TABLE {table} AS SELECT rowid + 2 AS {ROW_COLUMN}, * FROM {table}")
    return columns


def _read_xlsx(path: Path, sheet: str | None) -> pa.Table:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputDataError(
            f"{path}: not a readable XLSX workbook ({exc}); save it again from Excel as .xlsx"
        ) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputDataError(f"{path}: no sheet {sheet!r}; sheets are {book.sheetnames}")
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or all(h is None for h in header):
            raise InputDataError(f"{path}: sheet {ws.title!r} has no header row")
        names = [
            str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)
        ]
        columns: list[list[str | None]] = [[] for _ in names]
        for values in rows:
            for i in range(len(names)):
                v = values[i] if i < len(values) else None
                columns[i].append(None if v is None else _cell_text(v))
        return pa.table(
            {n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)}
        )
    finally:
        book.close()


def _cell_text(value: object) -> str:
    # Dates come back as datetime; ISO text casts cleanly in DuckDB.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
