"""Turn a raw file table into the canonical ticket (or survey, progress) table of KPI.md.

Validation is all or nothing: every problem is collected with its file, row, column,
value and reason, and the table is created only when there are none.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from improve.data.presets import GENERIC, ColumnSpec, Preset, detect_preset, get_preset
from improve.data.readers import (
    MAX_HEADER,
    ROW_COLUMN,
    check_lines,
    csv_header,
    detect_encoding,
    detect_format,
    read_raw,
    row_number_sql,
    run,
)
from improve.domain.paths import escape_reason
from improve.domain.programme import (
    CANONICAL_COLUMNS,
    PROGRESS_COLUMNS,
    REQUIRED_COLUMNS,
    SURVEY_COLUMNS,
    DataSource,
)
from improve.errors import ConfigError, InputDataError

ColumnType = Literal["text", "timestamp", "date", "int", "float", "bool"]

TICKET_TYPES: dict[str, ColumnType] = {
    "ticket_id": "text", "created_at": "timestamp", "first_response_at": "timestamp",
    "resolved_at": "timestamp", "channel": "text", "category": "text", "team": "text",
    "agent": "text", "priority": "text", "region": "text", "product": "text", "reopens": "int",
    "agent_replies": "int", "reassignments": "int", "csat": "int", "complaint": "bool",
    "sla_breached": "bool", "handle_minutes": "float",
}  # fmt: skip
SURVEY_TYPES: dict[str, ColumnType] = {
    "survey_id": "text", "answered_at": "timestamp", "ticket_id": "text", "csat": "int",
    "nps": "int", "comment": "text", "region": "text", "channel": "text",
}  # fmt: skip
PROGRESS_TYPES: dict[str, ColumnType] = {
    "task_id": "text",
    "as_of": "date",
    "percent_complete": "float",
    "status": "text",
    "note": "text",
    "blocker": "text",
}
assert tuple(TICKET_TYPES) == CANONICAL_COLUMNS
assert tuple(SURVEY_TYPES) == SURVEY_COLUMNS
assert tuple(PROGRESS_TYPES) == PROGRESS_COLUMNS

_DEFAULTS: dict[str, str] = {"reopens": "0", "complaint": "FALSE"}
_TRUE = ("true", "t", "1", "yes", "y", "是", "x")
_FALSE = ("false", "f", "0", "no", "n", "否", "")
MAX_LISTED = 20
_PLAUSIBLE = ("1990-01-01", "2100-01-01")  # dates of service tickets, surveys and progress


@dataclass(frozen=True)
class Problem:
    """One located input problem."""

    row: int | None
    column: str | None
    value: str | None
    reason: str

    def describe(self, path: Path) -> str:
        """`file:row, column 'c', value 'v': reason`."""
        where = f"{path}" + (f":{self.row}" if self.row is not None else "")
        col = f", column {self.column!r}" if self.column else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.reason}"


def raise_problems(path: Path, problems: Sequence[Problem], total: int | None = None) -> None:
    """Raise one InputDataError listing the first 20 problems and counting the rest."""
    if not problems:
        return
    total = total if total is not None else len(problems)
    lines = [p.describe(path) for p in problems[:MAX_LISTED]]
    more = total - len(lines)
    tail = f"\n  ... and {more} more problem(s)" if more > 0 else ""
    raise InputDataError(
        f"{path}: {total} problem(s); nothing was stored. Fix the file and run again:\n  "
        + "\n  ".join(lines)
        + tail
    )


@dataclass(frozen=True)
class TableSpec:
    """What a canonical table holds: its typed columns, which are required, its key."""

    name: str
    types: Mapping[str, ColumnType]
    required: tuple[str, ...]
    key: str | None


TICKETS = TableSpec("tickets", TICKET_TYPES, REQUIRED_COLUMNS, "ticket_id")
SURVEYS = TableSpec("surveys", SURVEY_TYPES, ("answered_at",), "survey_id")
PROGRESS = TableSpec("progress", PROGRESS_TYPES, ("task_id", "as_of", "percent_complete"), None)


@dataclass(frozen=True)
class Resolved:
    """A canonical column as an SQL expression over the raw (text) table."""

    expr: str
    formats: tuple[str, ...] = ()
    expects: str | None = None


def load_canonical(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    source: DataSource,
    *,
    base_dir: Path,
    timezone: str = "Asia/Shanghai",
    stream: bool = True,
) -> int:
    """Read `source` into the canonical table `spec.name`; returns its row count.

    The columns come from the source's mapping, else its preset (named, or detected from
    the header row for tickets), else the canonical names. Raises InputDataError (nothing
    created) when any row fails validation. A clean CSV or Parquet file is read in one
    streamed pass (`streamed_select`); anything that pass refuses goes through the located
    path, which names each problem (`stream=False` forces it).
    """
    if stream:
        streamed = _load_streamed(con, spec, source, base_dir=base_dir, timezone=timezone)
        if streamed is not None:
            return streamed
    path = source_path(source, base_dir)
    raw = f"_raw_{spec.name}"
    columns = read_raw(con, path, raw, fmt=source.format, sheet=source.sheet)
    try:
        select = _resolve(spec, source, _preset(spec, source, columns), columns, path)
    except InputDataError:
        run(con, f"DROP TABLE IF EXISTS {raw}")
        raise
    typed = f"_typed_{spec.name}"
    native = _native(select, _types_of(con, raw), spec)
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {typed} AS SELECT {row_number_sql(con, raw)} AS "
        f"{ROW_COLUMN}, {_typed_columns(spec, select, native, timezone)} FROM {raw}",
    )
    problems, total = _validate(con, spec, typed, _checks(spec, select, native))
    if problems:
        run(con, f"DROP VIEW IF EXISTS {typed}")
        run(con, f"DROP TABLE IF EXISTS {raw}")
        raise_problems(path, problems, total)
    run(
        con,
        f"CREATE OR REPLACE TABLE {spec.name} AS SELECT "
        + ", ".join(f'"{c}"' for c in spec.types)
        + f" FROM {typed}",  # insertion order is kept: the file's order
    )
    run(con, f"DROP VIEW {typed}")
    run(con, f"DROP TABLE {raw}")
    return int(con.execute(f"SELECT count(*) FROM {spec.name}").fetchall()[0][0])


def _load_streamed(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    source: DataSource,
    *,
    base_dir: Path,
    timezone: str,
) -> int | None:
    """The table from the streamed read and its row count, or None (nothing created) when
    that read refuses the file, finds duplicate keys or no rows."""
    staged = f"_streamed_{spec.name}"
    try:
        select = streamed_select(con, spec, source, base_dir=base_dir, timezone=timezone)
        if select is None:
            return None
        run(con, f"CREATE OR REPLACE TABLE {staged} AS {select}")
        key = f"count(DISTINCT {_quote(spec.key)})" if spec.key else "count(*)"
        rows, keys = con.execute(f"SELECT count(*), {key} FROM {staged}").fetchall()[0]
    except duckdb.Error:
        run(con, f"DROP TABLE IF EXISTS {staged}")
        return None
    if not rows or rows != keys:
        run(con, f"DROP TABLE {staged}")
        return None
    run(con, f"DROP TABLE IF EXISTS {spec.name}")
    run(con, f"ALTER TABLE {staged} RENAME TO {spec.name}")
    return int(rows)


def source_path(source: DataSource, base_dir: Path) -> Path:
    """The data source's file, relative paths taken from `base_dir` and kept inside it (an
    absolute path is a file named on the command line)."""
    path = Path(source.path)
    if path.is_absolute():
        return path.resolve()
    reason = escape_reason(source.path)
    if reason is not None:
        raise ConfigError(
            f"data source path {source.path!r} {reason}; give it relative to the data folder "
            f"{base_dir} and inside it, like data/tickets.csv"
        )
    return (base_dir / path).resolve()


def _preset(spec: TableSpec, source: DataSource, columns: list[str]) -> Preset | None:
    """The source's preset (named, or detected from the header row) for ticket exports."""
    if spec is not TICKETS or source.preset == GENERIC:
        return None
    return get_preset(source.preset) if source.preset else detect_preset(columns)


def streamed_select(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    source: DataSource,
    *,
    base_dir: Path,
    timezone: str = "Asia/Shanghai",
) -> str | None:
    """The canonical rows as one SELECT straight over a UTF-8 CSV or a Parquet file.

    Nothing is copied as text: the CSV reader parses the plain typed columns itself, and the
    query fails (a DuckDB error) at the first row that any check of `load_canonical` refuses
    or that the reader cannot type. It accepts a subset of what `load_canonical` accepts, with
    the same values, so a caller falls back to `load_canonical` on any DuckDB error, for the
    located listing or for the rarer spellings (`是`, other encodings). None when the file
    needs that path from the start (XLSX, UTF-16, an odd header). Duplicate ids are not
    checked here.
    """
    path = source_path(source, base_dir)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    kind = detect_format(path, source.format)
    if kind == "parquet":
        reader = f"read_parquet({_literal(str(path))})"
        types = _types_of(con, reader)
        select = _resolve(spec, source, _preset(spec, source, list(types)), list(types), path)
    elif kind == "csv" and detect_encoding(path, sample=MAX_HEADER) == "utf-8":
        check_lines(path)  # NUL bytes and endless lines are refused before DuckDB reads
        try:
            delimiter, names = csv_header(path, path)
        except (InputDataError, UnicodeDecodeError):
            return None
        select = _resolve(spec, source, _preset(spec, source, names), names, path)
        types = dict.fromkeys(names, "VARCHAR") | _csv_types(spec, select)
        columns = "{" + ", ".join(f"{_literal(n)}: '{t}'" for n, t in types.items()) + "}"
        reader = (
            f"read_csv({_literal(str(path))}, header=true, delim={_literal(delimiter)}, "
            "quote='\"', escape='\"', auto_detect=false, strict_mode=true, "
            f"null_padding=false, columns={columns})"
        )
    else:
        return None
    if ROW_COLUMN in types:
        return None
    native = _native(select, types, spec)
    refused = " OR ".join(f"({condition})" for condition, _, _ in _checks(spec, select, native))
    return (
        f"SELECT {', '.join(_quote(c) for c in spec.types)} FROM (SELECT "
        f"{_typed_columns(spec, select, native, timezone)} FROM {reader}) WHERE CASE WHEN "
        f"{refused} THEN error('a row fails validation') ELSE TRUE END"
    )


def _csv_types(spec: TableSpec, select: Mapping[str, Resolved]) -> dict[str, str]:
    """File columns the CSV reader can type itself with `load_canonical`'s exact reading:
    those a canonical column takes as they are and no other expression uses. Whole numbers
    are read as DOUBLE and checked (the reader would round 3.5 to 4); timestamps with extra
    formats stay text."""
    reader_type = {"timestamp": "TIMESTAMP", "int": "DOUBLE", "float": "DOUBLE", "bool": "BOOLEAN"}
    out: dict[str, str] = {}
    for column, resolved in select.items():
        kind = spec.types[column]
        match = re.fullmatch(r'"((?:[^"]|"")*)"', resolved.expr)
        if match is None or kind not in reader_type or resolved.formats:
            continue
        others = [r.expr for c, r in select.items() if c != column]
        if not any(resolved.expr in e for e in others):
            out[match.group(1).replace('""', '"')] = reader_type[kind]
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _find(columns: list[str], wanted: str) -> str | None:
    """The file's header for `wanted`, matched exactly, else ignoring case and spaces."""
    if wanted in columns:
        return wanted
    folded = {c.strip().lower(): c for c in columns}
    return folded.get(wanted.strip().lower())


_COL_REF = re.compile(r"\{col:([^}]*)\}")


def _render(template: str, column: str, columns: list[str], source: DataSource) -> str:
    """Fill a preset transform: {} is the column, {col:H} another header, {complaint_tag}
    the programme's complaint word, {labels} a test over repeated Labels headers."""

    def other(match: re.Match[str]) -> str:
        found = _find(columns, match.group(1))
        return _quote(found) if found else "NULL"

    tag = source.complaint_tag.lower().replace("'", "''")
    labels = [c for c in columns if re.fullmatch(r"labels(_\d+)?", c.strip().lower())]
    label_test = " OR ".join(f"lower(coalesce({_quote(c)}, '')) = '{tag}'" for c in labels)
    out = _COL_REF.sub(other, template)
    out = out.replace("{complaint_tag}", tag).replace("{labels}", f"({label_test or 'FALSE'})")
    out = out.replace("{}", _quote(column))
    return out.replace("{{", "{").replace("}}", "}")


def _resolve(
    spec: TableSpec,
    source: DataSource,
    preset: Preset | None,
    columns: list[str],
    path: Path,
) -> dict[str, Resolved]:
    """Canonical column -> expression: the mapping, else the preset, else the canonical name."""
    select: dict[str, Resolved] = {}
    missing: list[Problem] = []
    for canonical in spec.types:
        preset_spec = preset.columns.get(canonical) if preset else None
        if canonical in source.mapping or preset_spec is None:
            wanted = source.mapping.get(canonical, canonical)
            plain = ColumnSpec(wanted)
        else:
            plain = preset_spec
        if plain.constant is not None:
            select[canonical] = Resolved("'" + plain.constant.replace("'", "''") + "'")
            continue
        wanted = plain.source or canonical
        found = _find(columns, wanted)
        if found is not None:
            select[canonical] = Resolved(
                _render(plain.transform, found, columns, source), plain.formats, plain.expects
            )
        elif canonical in spec.required or canonical in source.mapping:
            near = difflib.get_close_matches(wanted, columns, n=3, cutoff=0.5)
            hint = (
                f"; nearest headers: {', '.join(near)}"
                if near
                else f"; the file's headers are: {', '.join(columns[:30])}"
            )
            via = f" (preset {preset.name})" if preset and preset_spec else ""
            missing.append(
                Problem(
                    1,
                    wanted,
                    None,
                    f"required column missing (canonical {canonical!r}{via}){hint}; "
                    "rename the header or map it in the data source's `mapping`",
                )
            )
        else:
            default = f"'{_DEFAULTS[canonical]}'" if canonical in _DEFAULTS else "NULL"
            select[canonical] = Resolved(default)
    raise_problems(path, missing)
    return select


# Source column types that already hold a canonical kind: no text round trip is needed.
_TZ = "TIMESTAMP WITH TIME ZONE"
_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NATIVE: dict[ColumnType, tuple[str, ...]] = {
    "text": ("VARCHAR",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", _TZ),
    "date": ("DATE",),
    "int": (*_NUMBERS, "DOUBLE", "FLOAT"),
    "float": (*_NUMBERS, "DOUBLE", "FLOAT"),
    "bool": ("BOOLEAN",),
}
_CAST: dict[ColumnType, str] = {
    "timestamp": "TIMESTAMP", "date": "DATE", "int": "BIGINT", "float": "DOUBLE",
    "bool": "BOOLEAN", "text": "VARCHAR",
}  # fmt: skip


def _types_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or table function."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def _native(
    select: Mapping[str, Resolved], types: Mapping[str, str], spec: TableSpec
) -> dict[str, str]:
    """Canonical columns read straight from a source column of a fitting type -> that type."""
    out: dict[str, str] = {}
    for column, resolved in select.items():
        for name, kind in types.items():
            if resolved.expr == _quote(name) and kind in _NATIVE[spec.types[column]]:
                out[column] = kind
    return out


def _typed_columns(
    spec: TableSpec, select: Mapping[str, Resolved], native: Mapping[str, str], tz: str
) -> str:
    """The canonical columns and, as `_src_<column>`, the values they were read from."""
    return ", ".join(
        [_typed_expr(spec.types[c], r, c, tz, native.get(c)) for c, r in select.items()]
        + [f'{r.expr} AS "_src_{c}"' for c, r in select.items()]
    )


def _typed_expr(
    kind: ColumnType, resolved: Resolved, name: str, tz: str, source_type: str | None = None
) -> str:
    expr = resolved.expr
    if source_type is not None and kind != "text":
        if source_type == _TZ:
            out = f"timezone('{tz}', {expr})"
        elif kind == "int" and source_type in ("DOUBLE", "FLOAT"):
            out = f"CASE WHEN {expr} = floor({expr}) THEN CAST({expr} AS BIGINT) END"
        else:
            out = f"CAST({expr} AS {_CAST[kind]})"
        return f'{out} AS "{name}"'
    text = f"nullif(trim(CAST({expr} AS VARCHAR)), '')"
    if kind == "text":
        out = text
    elif kind == "timestamp":
        parsers = [f"TRY_CAST({text} AS TIMESTAMP)"] + [
            f"try_strptime({text}, '{fmt}')" for fmt in resolved.formats
        ]
        out = (
            f"CASE WHEN typeof({expr}) = 'TIMESTAMP WITH TIME ZONE' "
            f"THEN timezone('{tz}', TRY_CAST({expr} AS TIMESTAMPTZ)) "
            f"ELSE coalesce({', '.join(parsers)}) END"
        )
    elif kind == "date":
        out = f"TRY_CAST({text} AS DATE)"
    elif kind == "float":
        out = f"TRY_CAST({text} AS DOUBLE)"
    elif kind == "int":
        out = (
            f"CASE WHEN TRY_CAST({text} AS DOUBLE) = floor(TRY_CAST({text} AS DOUBLE)) "
            f"THEN TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT) END"
        )
    else:
        trues = ", ".join(f"'{v}'" for v in _TRUE)
        falses = ", ".join(f"'{v}'" for v in _FALSE if v)
        out = (
            f"CASE WHEN lower({text}) IN ({trues}) THEN TRUE "
            f"WHEN lower({text}) IN ({falses}) THEN FALSE END"
        )
    return f'{out} AS "{name}"'


Check = tuple[str, str, str]  # SQL condition over the typed columns, column, reason


def _checks(
    spec: TableSpec, select: Mapping[str, Resolved], native: Mapping[str, str]
) -> list[Check]:
    """Every row-level check of a canonical table, over its typed and `_src_` columns."""
    checks: list[Check] = []

    def check(condition: str, column: str, reason: str) -> None:
        checks.append((condition, column, reason))

    expected = {
        "timestamp": "a date-time like 2025-03-01 09:30",
        "date": "a date like 2025-03-01",
        "int": "a whole number",
        "float": "a number",
        "bool": "true/false (or 1/0, 是/否)",
        "text": "text",
    }
    for column, kind in spec.types.items():
        if kind == "text":  # the typed value is the source text, trimmed, '' as NULL
            src = f'"{column}"'
            # only Parquet can carry one (CSV and XLSX readers refuse it first), and no
            # PostgreSQL text can hold it
            check(
                f"contains({src}, chr(0))",
                column,
                "holds a NUL character (U+0000); remove it from the export and load it again",
            )
        elif column in native:
            src = f'"_src_{column}"'
        else:
            src = f"nullif(trim(CAST(\"_src_{column}\" AS VARCHAR)), '')"
        # a cast from a native type keeps every value, except a fraction to a whole number
        lossless = column in native and not (
            kind == "int" and native[column] in ("DOUBLE", "FLOAT")
        )
        if kind != "text" and not lossless:
            check(
                f'{src} IS NOT NULL AND "{column}" IS NULL',
                column,
                f"cannot be read as {select[column].expects or expected[kind]}",
            )
        if kind in ("timestamp", "date"):
            low, high = (f"{kind.upper()} '{d}'" for d in _PLAUSIBLE)
            check(
                f'"{column}" NOT BETWEEN {low} AND {high}',
                column,
                f"an impossible date (outside {_PLAUSIBLE[0][:4]}-{int(_PLAUSIBLE[1][:4]) - 1}); "
                "correct it or leave it empty",
            )
        if column in spec.required:
            check(f"{src} IS NULL", column, "required value is empty")
    types = spec.types
    if "reopens" in types:
        for c in ("reopens", "agent_replies", "reassignments"):
            check(f'"{c}" < 0', c, "must be 0 or more")
        check('"csat" NOT BETWEEN 1 AND 5', "csat", "CSAT must be 1 to 5 (or empty if unrated)")
        check('"handle_minutes" < 0', "handle_minutes", "must be 0 or more")
        check('"resolved_at" < "created_at"', "resolved_at", "resolved before it was created")
        check(
            '"first_response_at" < "created_at"',
            "first_response_at",
            "first response before the ticket was created",
        )
    if spec is SURVEYS:
        check('"csat" NOT BETWEEN 1 AND 5', "csat", "CSAT must be 1 to 5")
        check('"nps" NOT BETWEEN 0 AND 10', "nps", "NPS answer must be 0 to 10")
    if spec is PROGRESS:
        check(
            '"percent_complete" NOT BETWEEN 0 AND 100',
            "percent_complete",
            "percent complete must be 0 to 100",
        )
    return checks


def _validate(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, typed: str, checks: Sequence[Check]
) -> tuple[list[Problem], int]:
    """Every check in one pass over the (unmaterialised) typed view; the source values of
    the first failures are fetched only when there are failures."""
    flags = ", ".join(f"CASE WHEN {cond} THEN {i} END" for i, (cond, _, _) in enumerate(checks))
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE _failed AS SELECT {ROW_COLUMN} AS r, c FROM ("
        f"SELECT {ROW_COLUMN}, unnest(list_filter([{flags}], lambda x: x IS NOT NULL)) AS c "
        f"FROM {typed})",
    )
    failed = int(con.execute("SELECT count(*) FROM _failed").fetchall()[0][0])
    duplicates = _duplicates(con, typed, spec.key) if spec.key else []
    total = failed + len(duplicates)
    problems = list(duplicates)
    if failed:
        pick = " ".join(
            f'WHEN {i} THEN CAST("_src_{column}" AS VARCHAR)'
            for i, (_, column, _) in enumerate(checks)
        )
        first = con.execute(
            f"SELECT f.r, f.c, CASE f.c {pick} END FROM (SELECT * FROM _failed ORDER BY r, c "
            f"LIMIT {MAX_LISTED}) f JOIN {typed} t ON t.{ROW_COLUMN} = f.r"
        ).fetchall()
        problems += [Problem(int(r), checks[c][1], v, checks[c][2]) for r, c, v in first]
    run(con, "DROP TABLE _failed")
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems[:MAX_LISTED], total


def _duplicates(con: duckdb.DuckDBPyConnection, typed: str, key: str) -> list[Problem]:
    """Rows whose id another row has too (all of them counted, the first 20 described)."""
    rows = con.execute(
        f'WITH d AS (SELECT "{key}" AS k FROM {typed} GROUP BY 1 HAVING count(*) > 1) '
        f"SELECT a.{ROW_COLUMN}, a.\"{key}\", string_agg(CAST(b.{ROW_COLUMN} AS VARCHAR), ', ' "
        f'ORDER BY b.{ROW_COLUMN}) FROM {typed} a JOIN d ON a."{key}" = d.k '
        f'JOIN {typed} b ON b."{key}" = a."{key}" AND b.{ROW_COLUMN} <> a.{ROW_COLUMN} '
        f"GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return [
        Problem(int(r), key, v, f"duplicate id, also on row(s) {others}") for r, v, others in rows
    ]
