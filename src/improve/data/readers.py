"""Read CSV, XLSX and Parquet files into DuckDB tables of text columns, file order kept."""

from __future__ import annotations

import codecs
import csv
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa
from openpyxl import Workbook, load_workbook

from improve.domain.programme import FileFormat
from improve.errors import InputDataError

CHUNK = 1 << 20
MAX_HEADER = 1 << 20  # a header line longer than 1 MiB is not a header
ROW_COLUMN = "_row"  # 1-based line number in the file (header is line 1), for error messages


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> None:
    """Execute a statement that returns no rows, finishing its result so the connection is free."""
    con.execute(sql, params or []).fetchall()


def row_number_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The expression giving a raw table's file line numbers."""
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    return ROW_COLUMN if ROW_COLUMN in columns else "rowid + 2"


def detect_encoding(path: Path, *, sample: int | None = None) -> str:
    """utf-8 (with or without BOM), utf-16 (Excel "Unicode text"), else gb18030 (GBK).

    With `sample`, only that many bytes are looked at (a likely answer, not a proof)."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        left = sample
        try:
            while (left is None or left > 0) and (chunk := f.read(CHUNK)):
                decoder.decode(chunk)
                left = None if left is None else left - len(chunk)
            if left is None:
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
                delimiter, names = csv_header(readable, path)
                _refuse_row_column(path, names)
                run(
                    con,
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header=true, "
                    "delim=?, quote='\"', escape='\"', auto_detect=false, strict_mode=true, "
                    "null_padding=false, columns=?)",
                    [str(readable), delimiter, dict.fromkeys(names, "VARCHAR")],
                )
                _number_records(con, table, readable, delimiter)
        elif kind == "parquet":
            run(
                con,
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet(?)",
                [str(path)],
            )
            _refuse_row_column(path, [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()])
        else:
            arrow = _read_xlsx(path, sheet)
            con.register("_xlsx_arrow", arrow)
            run(con, f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _xlsx_arrow")
            con.unregister("_xlsx_arrow")
    except duckdb.Error as exc:
        raise InputDataError(_located(path, kind, str(exc))) from exc
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    if not con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]:
        raise InputDataError(f"{path}: a header row but no tickets; export it again with data")
    if kind != "parquet" and columns[0] == ROW_COLUMN:
        # numbered while read (XLSX; CSV with values over several lines or blank lines);
        # otherwise line numbers come from rowid, insertion order being the file's order
        return columns[1:]
    return columns


def _refuse_row_column(path: Path, names: Sequence[str]) -> None:
    if ROW_COLUMN in names:
        raise InputDataError(f"{path}: a column is named {ROW_COLUMN!r}; rename it")


def _number_records(con: duckdb.DuckDBPyConnection, table: str, path: Path, delimiter: str) -> None:
    """Give `table` a `_row` column of the line each record starts on, when values spanning
    lines or blank lines (which DuckDB skips) make that differ from its position + 2."""
    records = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without a line break
    if lines == records + 1:
        return
    starts: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar='"', doublequote=True)
        next(reader, None)
        previous = reader.line_num
        for row in reader:
            if row:
                starts.append(previous + 1)
            previous = reader.line_num
    if len(starts) != records:  # read differently: keep the positions rather than guess
        return
    con.register("_record_lines", pa.table({ROW_COLUMN: pa.array(starts, pa.int64())}))
    try:
        run(
            con,
            f"CREATE OR REPLACE TABLE {table} AS SELECT l.{ROW_COLUMN}, t.* "
            f"FROM {table} t POSITIONAL JOIN _record_lines l",
        )
    finally:
        con.unregister("_record_lines")


DELIMITERS = (",", ";", "\t", "|")


def csv_header(path: Path, shown: Path) -> tuple[str, list[str]]:
    """The delimiter (the candidate most frequent in the header line) and the column names,
    repeated names numbered as DuckDB does (Labels, Labels_1, ...)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        line = f.readline(MAX_HEADER)
    if not line.strip():
        raise InputDataError(f"{shown}: the first line is empty; it must hold the column names")
    delimiter = max(DELIMITERS, key=line.count)
    return delimiter, unique_names(next(csv.reader([line], delimiter=delimiter)))


def unique_names(names: Sequence[object]) -> list[str]:
    """Header names stripped, blanks named, repeats numbered as DuckDB does (Labels_1)."""
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = str(raw).strip() if raw is not None else ""
        name = name or f"column{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _located(path: Path, kind: str, message: str) -> str:
    """DuckDB's reading error as `file:line: what is wrong; what to do`."""
    line = _LINE.search(message)
    where = f"{path}:{line.group(1)}" if line else f"{path}"
    count = _COUNT.search(message)
    if count:
        return (
            f"{where}: expected {count.group(1)} fields, found {count.group(2)}; "
            "check the delimiters and quotes on that line"
        )
    if "unterminated quote" in message:
        return f"{where}: a quoted value is never closed; add the missing '\"'"
    first = message.splitlines()[0] if message else "unknown error"
    return f"{where}: cannot be read as {kind}: {first}"


MAX_XLSX_BYTES = 2 << 30  # uncompressed; a bigger workbook belongs in CSV or Parquet
MAX_RATIO = 200  # compression ratio of a large part beyond which it is a zip bomb
MAX_COLUMNS = 512


def check_zip(path: Path, *, limit: int = MAX_XLSX_BYTES) -> None:
    """Refuse what is not a zip, or unpacks to more than `limit` bytes (or is a zip bomb),
    before parsing anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(
            f"{path}: not an XLSX workbook (a damaged or truncated zip: {exc}); "
            "save it again from Excel as .xlsx"
        ) from exc
    total = sum(p.file_size for p in parts)
    if total > limit:
        raise InputDataError(
            f"{path}: unpacks to {total / 2**20:,.0f} MiB, more than {limit / 2**20:,.0f} MiB; "
            + ("export it as CSV or Parquet" if limit == MAX_XLSX_BYTES else "check the file")
        )
    for part in parts:
        if part.file_size > 50 << 20 and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise InputDataError(
                f"{path}: part {part.filename} expands {part.file_size:,} bytes "
                "from almost nothing (a zip bomb); refusing to open it"
            )


def open_xlsx(path: Path, *, limit: int = MAX_XLSX_BYTES, streaming: bool = True) -> Workbook:
    """An XLSX workbook checked before parsing (`check_zip`); `streaming` opens it read-only
    with computed values, otherwise whole with formulas as typed (small forms only)."""
    check_zip(path, limit=limit)
    try:
        return load_workbook(path, read_only=streaming, data_only=streaming)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputDataError(
            f"{path}: not a readable XLSX workbook ({type(exc).__name__}: {exc}); save it "
            "again from Excel as .xlsx"
        ) from exc


def _read_xlsx(path: Path, sheet: str | None) -> pa.Table:
    """The sheet as a table of text; hostile workbooks fail with a message, in bounded time
    (defusedxml refuses entity tricks; the <dimension> record is ignored)."""
    book = open_xlsx(path)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputDataError(f"{path}: no sheet {sheet!r}; sheets are {book.sheetnames}")
        ws = book[sheet] if sheet else book.worksheets[0]
        ws.reset_dimensions()  # a lying <dimension> must not make us pad millions of cells
        header = next(ws.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1, values_only=True), None)
        while header and header[-1] is None:
            header = header[:-1]
        if not header:
            raise InputDataError(f"{path}: sheet {ws.title!r} has no header row")
        if len(header) > MAX_COLUMNS:
            raise InputDataError(
                f"{path}: sheet {ws.title!r} has more than {MAX_COLUMNS} "
                "columns; keep the ticket columns only"
            )
        names = unique_names(header)
        _refuse_row_column(path, names)
        width = len(names)
        numbers: list[int] = []
        columns: list[list[str | None]] = [[] for _ in names]
        for number, values in enumerate(
            ws.iter_rows(min_row=2, max_col=width + 1, values_only=True), start=2
        ):
            if len(values) > width and values[width] is not None:
                raise InputDataError(
                    f"{path}:{number}: a value beyond the {width} named "
                    "columns; give it a header or delete it"
                )
            if all(v is None for v in values):
                continue  # Excel keeps formatted blank rows; they are not tickets
            numbers.append(number)
            for i in range(width):
                v = values[i] if i < len(values) else None
                columns[i].append(None if v is None else _cell_text(v))
        table = {ROW_COLUMN: pa.array(numbers, type=pa.int64())}
        table.update(
            {n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)}
        )
        return pa.table(table)
    except InputDataError:
        raise
    except Exception as exc:  # malformed XML inside a valid zip, forbidden entities, ...
        raise InputDataError(
            f"{path}: the workbook's content is malformed or unsafe "
            f"({type(exc).__name__}: {exc}); save it again from Excel"
        ) from exc
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


META_SHEET = "_meta"  # the hidden sheet of every workbook improve hands out to fill in
MAX_META_BYTES = 20 << 20


def meta_fields(book: Workbook) -> dict[str, object] | None:
    """The name -> value rows at the top of an open workbook's hidden `_meta` sheet: what
    improve wrote it from; None when it has no such sheet."""
    if META_SHEET not in book.sheetnames:
        return None
    rows = book[META_SHEET].iter_rows(max_col=2, max_row=50, values_only=True)
    return {str(k): v for k, v in rows if k}


def workbook_meta(path: Path) -> dict[str, object]:
    """`meta_fields` of the workbook at `path` (empty when it has no `_meta` sheet)."""
    book = open_xlsx(path, limit=MAX_META_BYTES, streaming=False)
    try:
        return meta_fields(book) or {}
    finally:
        book.close()
