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
from typing import NoReturn
from xml.parsers import expat

import duckdb
import pyarrow as pa
from openpyxl import Workbook, load_workbook

from improve.domain.programme import FileFormat
from improve.errors import InputDataError
from improve.ooxml import shown_text

CHUNK = 1 << 20
MAX_HEADER = 1 << 20  # a header line longer than 1 MiB is not a header
MAX_LINE = 2 << 20  # bytes in one CSV line; DuckDB's own limit for a record (max_line_size)
MAX_CSV_COLUMNS = 2048  # Jira exports every custom field; a header of 1 MiB of commas is not
assert CHUNK <= MAX_LINE  # check_lines looks at the lines that span chunks only
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


def check_lines(path: Path, shown: Path | None = None) -> None:
    """Refuse a CSV with a NUL byte or a line longer than MAX_LINE bytes before any parser
    holds a line: one pass over the bytes, in CHUNK-sized reads (a file without line breaks
    costs no more memory than a short one)."""
    shown = shown or path
    line, run = 1, 0  # the current line's number, and its bytes read so far
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                at = line + chunk.count(b"\n", 0, nul)
                raise InputDataError(
                    f"{shown}:{at}: holds a NUL byte, which "
                    "text never does (a UTF-16 file without its byte-order mark, or not a CSV "
                    "at all); save it as UTF-8 CSV"
                )
            first = chunk.find(b"\n")
            if first >= 0 and run + first <= MAX_LINE:
                line += chunk.count(b"\n")
                run = len(chunk) - chunk.rfind(b"\n") - 1  # lines inside a chunk are short
            else:
                run += len(chunk) if first < 0 else first
            if run > MAX_LINE:
                raise InputDataError(
                    f"{shown}:{line}: a line longer than {MAX_LINE >> 20} MiB, more than any "
                    "ticket holds (a file without line breaks, or a value pasted whole); "
                    "check the export"
                )


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
                check_lines(readable, path)
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
    # DuckDB read values of up to MAX_LINE bytes; csv stops at 128 KiB unless told (this
    # only raises the process-wide limit, to what DuckDB already holds)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE))
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar='"', doublequote=True)
        try:
            next(reader, None)
            previous = reader.line_num
            for row in reader:
                if row:
                    starts.append(previous + 1)
                previous = reader.line_num
        except csv.Error:  # a value csv refuses though DuckDB read it: keep the positions
            return
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
        if len(line) == MAX_HEADER and not line.endswith("\n") and f.read(1):
            raise InputDataError(
                f"{shown}: the first line is longer than {MAX_HEADER >> 20} MiB; it must hold "
                "the column names (is this a CSV export?)"
            )
    if not line.strip():
        raise InputDataError(f"{shown}: the first line is empty; it must hold the column names")
    delimiter = max(DELIMITERS, key=line.count)
    try:
        names = next(csv.reader([line], delimiter=delimiter))
    except csv.Error as exc:
        raise InputDataError(
            f"{shown}:1: the header line cannot be read as CSV ({exc}); it must hold the "
            "column names"
        ) from exc
    if len(names) > MAX_CSV_COLUMNS:
        raise InputDataError(
            f"{shown}:1: {len(names):,} columns, more than {MAX_CSV_COLUMNS:,}; keep the ticket "
            f"columns only, or check the delimiter {delimiter!r}"
        )
    return delimiter, unique_names(names)


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
    if "Maximum line size" in message or "max_line_size" in message:
        return (
            f"{where}: a record longer than {MAX_LINE >> 20} MiB (a quoted value that never "
            "ends, or a value pasted whole); check the quotes on that line"
        )
    if "unterminated quote" in message:
        return (  # DuckDB says so too of a quoted value longer than its 2 MiB line limit
            f"{where}: a quoted value is never closed (or runs over {MAX_LINE >> 20} MiB); "
            "add the missing '\"'"
        )
    first = message.splitlines()[0] if message else "unknown error"
    return f"{where}: cannot be read as {kind}: {first}"


MAX_XLSX_BYTES = 2 << 30  # uncompressed; a bigger workbook belongs in CSV or Parquet
MAX_RATIO = 100  # compression ratio of a large part beyond which it is a zip bomb (Excel: < 30)
MAX_RATIO_FROM = 10 << 20  # parts smaller than this are not checked for their ratio
MAX_PARTS = 10_000  # files inside the zip (sheets, their relations, drawings ...)
MAX_COLUMNS = 512
MAX_CELLS = 5_000_000  # of a ticket workbook: minutes of openpyxl; more belongs in CSV
MAX_FORM_CELLS = 500_000  # of a workbook opened whole (plans, worksheets, progress forms)
MAX_ROW_CELLS = 16_384  # Excel's column limit
MAX_ROWS = 1_048_576  # Excel's row limit, per sheet
MAX_CELL_CHARS = 32_767  # Excel's limit of one cell's text
MAX_RUN = 4 * MAX_CELL_CHARS + 4096  # bytes of XML between two '<': a text or a tag
MAX_XML_DEPTH = 64  # Excel's parts nest about 10 deep
MAX_ROW_ELEMENTS = 8 * MAX_ROW_CELLS  # one row's cells and their values, formulas, runs
MAX_OTHER_ELEMENTS = 2_000_000  # elements outside rows and shared strings, per workbook
BATCH = 65_536  # rows of a sheet turned into Arrow at once


def check_zip(path: Path, *, limit: int = MAX_XLSX_BYTES) -> list[zipfile.ZipInfo]:
    """Refuse what is not a zip, has more than MAX_PARTS files, unpacks to more than `limit`
    bytes or is a zip bomb, before parsing anything; returns its parts. (The sizes read are
    those the zip declares: zipfile stops at the declared size, so they bound what is read.)"""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(
            f"{path}: not an XLSX workbook (a damaged or truncated zip: {exc}); "
            "save it again from Excel as .xlsx"
        ) from exc
    if len(parts) > MAX_PARTS:
        raise InputDataError(
            f"{path}: holds {len(parts):,} files, more than {MAX_PARTS:,} (sheets, drawings "
            "...); keep the ticket sheet only, or export it as CSV"
        )
    total = sum(p.file_size for p in parts)
    if total > limit:
        raise InputDataError(
            f"{path}: unpacks to {total / 2**20:,.0f} MiB, more than {limit / 2**20:,.0f} MiB; "
            + ("export it as CSV or Parquet" if limit == MAX_XLSX_BYTES else "check the file")
        )
    for part in parts:
        if part.file_size > MAX_RATIO_FROM and part.file_size > MAX_RATIO * max(
            part.compress_size, 1
        ):
            raise InputDataError(
                f"{path}: part {part.filename} expands {part.file_size:,} bytes "
                "from almost nothing (a zip bomb); refusing to open it"
            )
    return parts


class _XmlBudget:
    """What the workbook's XML may cost openpyxl, checked with expat (no DTD, no entities)
    before openpyxl parses it: the cells of every sheet together, the rows of a sheet, the
    cells and elements of one row, nesting depth, the elements it keeps in memory outside
    rows and shared strings, and the longest text or tag."""

    def __init__(self, path: Path, cells: int) -> None:
        self.path, self.max_cells = path, cells
        self.cells = self.strings = self.other = 0

    def scan(self, archive: zipfile.ZipFile, name: str) -> None:
        """Parse part `name` of the open workbook within the budget; InputDataError if not."""
        parser = expat.ParserCreate(namespace_separator=" ")
        depth = rows = row_at = row_cells = row_elements = string_at = string_elements = 0

        def refuse(reason: str) -> NoReturn:
            raise InputDataError(
                f"{self.path}: the workbook's content is malformed or unsafe: part {name} "
                f"{reason}; save it again from Excel, or export the tickets as CSV"
            )

        def doctype(*_: object) -> None:
            refuse("declares a DTD (<!DOCTYPE>), which Excel never writes (entity expansion)")

        def start(tag: str, _: object) -> None:
            nonlocal depth, rows, row_at, row_cells, row_elements, string_at, string_elements
            depth += 1
            if depth > MAX_XML_DEPTH:
                refuse(f"nests elements more than {MAX_XML_DEPTH} deep")
            if row_at:
                row_elements += 1
                if depth == row_at + 1:
                    row_cells += 1
                    self.cells += 1
                    if self.cells > self.max_cells:
                        refuse(
                            f"brings the workbook over {self.max_cells:,} cells; export the "
                            "tickets as CSV or Parquet"
                        )
                if row_cells > MAX_ROW_CELLS or row_elements > MAX_ROW_ELEMENTS:
                    refuse(f"has a row of more than {MAX_ROW_CELLS:,} cells (row {rows:,})")
                return
            if string_at:
                string_elements += 1
                if string_elements > MAX_ROW_ELEMENTS:
                    refuse(f"has a shared string of more than {MAX_ROW_ELEMENTS:,} parts")
                return
            local = tag.rpartition(" ")[2]
            if local == "row":
                row_at, row_cells, row_elements, rows = depth, 0, 0, rows + 1
                if rows > MAX_ROWS:
                    refuse(f"has more than {MAX_ROWS:,} rows, more than Excel allows")
            elif local == "si":
                string_at, string_elements = depth, 0
                self.strings += 1
                if self.strings > self.max_cells:
                    refuse(f"holds more than {self.max_cells:,} shared strings")
            else:
                self.other += 1
                if self.other > MAX_OTHER_ELEMENTS:
                    refuse(f"brings the workbook over {MAX_OTHER_ELEMENTS:,} elements")

        def end(_: str) -> None:
            nonlocal depth, row_at, string_at
            if depth == row_at:
                row_at = 0
            if depth == string_at:
                string_at = 0
            depth -= 1

        parser.StartDoctypeDeclHandler = doctype
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        tail = 0  # bytes since the last '<' of the chunks read so far
        try:
            with archive.open(name) as f:
                while chunk := f.read(CHUNK):
                    runs = chunk.split(b"<")
                    if max(tail + len(runs[0]), *(len(r) for r in runs[1:])) > MAX_RUN:
                        refuse(
                            f"has a text or tag longer than {MAX_RUN:,} bytes (a cell holds "
                            f"{MAX_CELL_CHARS:,} characters at most)"
                        )
                    tail = len(runs[-1]) if len(runs) > 1 else tail + len(chunk)
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except expat.ExpatError as exc:
            refuse(f"is not well-formed XML ({exc})")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            refuse(f"cannot be unpacked ({exc})")


def check_xml(path: Path, parts: Sequence[zipfile.ZipInfo], *, cells: int) -> None:
    """Scan every XML part of the workbook within `cells` (`_XmlBudget`)."""
    budget = _XmlBudget(path, cells)
    with zipfile.ZipFile(path) as archive:
        for part in parts:
            if part.filename.lower().endswith((".xml", ".rels", ".vml")):
                budget.scan(archive, part.filename)


def open_xlsx(
    path: Path, *, limit: int = MAX_XLSX_BYTES, streaming: bool = True, cells: int | None = None
) -> Workbook:
    """An XLSX workbook checked before parsing (`check_zip`, then `check_xml` within `cells`,
    by default MAX_CELLS when `streaming`, else MAX_FORM_CELLS); `streaming` opens it
    read-only with computed values, otherwise whole with formulas as typed (small forms)."""
    parts = check_zip(path, limit=limit)
    check_xml(path, parts, cells=cells or (MAX_CELLS if streaming else MAX_FORM_CELLS))
    try:
        book = load_workbook(path, read_only=streaming, data_only=streaming)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputDataError(
            f"{path}: not a readable XLSX workbook ({type(exc).__name__}: {exc}); save it "
            "again from Excel as .xlsx"
        ) from exc
    if not streaming:  # a streamed sheet's cells are decoded as they are read (_cell_text)
        _decode_text_cells(book)
    return book


def _decode_text_cells(book: Workbook) -> None:
    """Give every text cell the text Excel shows for it (`_x000D_` is a line break, Excel's
    `_x005F_x000D_` the literal text), as openpyxl keeps the stored form."""
    for ws in book.worksheets:
        # the cells the file holds: iter_rows would create every cell of the used range, and
        # one far-off cell makes that range billions of cells
        for cell in list(ws._cells.values()):
            if isinstance(cell.value, str) and "_x" in cell.value:
                kind = cell.data_type
                cell.value = shown_text(cell.value)
                cell.data_type = kind  # the setter would take a decoded '=...' for a formula


def _read_xlsx(path: Path, sheet: str | None) -> pa.Table:
    """The sheet as a table of text; hostile workbooks fail with a message, in bounded time
    and memory (`open_xlsx` bounds the XML before openpyxl reads it, defusedxml refuses
    entity tricks, the <dimension> record is ignored, rows go to Arrow in batches)."""
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
        schema = pa.schema([(ROW_COLUMN, pa.int64()), *((n, pa.string()) for n in names)])
        batches: list[pa.RecordBatch] = []
        numbers: list[int] = []
        columns: list[list[str | None]] = [[] for _ in names]

        def flush() -> None:  # to Arrow every BATCH rows: text kept compact, not as objects
            arrays = [pa.array(numbers, pa.int64())] + [pa.array(c, pa.string()) for c in columns]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            numbers.clear()
            for c in columns:
                c.clear()

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
            if len(numbers) == BATCH:
                flush()
        flush()
        return pa.Table.from_batches(batches, schema=schema)
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
    return shown_text(value) if isinstance(value, str) else str(value)


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
