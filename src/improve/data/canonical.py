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
from improve.data.readers import ROW_COLUMN, read_raw, row_number_sql, run
from improve.domain.programme import (
    CANONICAL_COLUMNS,
    PROGRESS_COLUMNS,
    REQUIRED_COLUMNS,
    SURVEY_COLUMNS,
    DataSource,
)
from improve.errors import InputDataError

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
}
assert tuple(TICKET_TYPES) == CANONICAL_COLUMNS
assert tuple(SURVEY_TYPES) == SURVEY_COLUMNS
assert tuple(PROGRESS_TYPES) == PROGRESS_COLUMNS

_DEFAULTS: dict[str, str] = {"reopens": "0", "complaint": "FALSE"}
_TRUE = ("true", "t", "1", "yes", "y", "是", "x")
_FALSE = ("false", "f", "0", "no", "n", "否", "")
MAX_LISTED = 20


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
) -> int:
    """Read `source` into the canonical table `spec.name`; returns its row count.

    The columns come from the source's mapping, else its preset (named, or detected from
    the header row for tickets), else the canonical names. Raises InputDataError (nothing
    created) when any row fails validation.
    """
    path = base_dir / source.path if not Path(source.path).is_absolute() else Path(source.path)
    path = path.resolve()
    raw = f"_raw_{spec.name}"
    columns = read_raw(con, path, raw, fmt=source.format, sheet=source.sheet)
    preset = None
    if spec is TICKETS and source.preset != GENERIC:
        preset = get_preset(source.preset) if source.preset else detect_preset(columns)
    try:
        select = _resolve(spec, source, preset, columns, path)
    except InputDataError:
        run(con, f"DROP TABLE IF EXISTS {raw}")
        raise
    typed = f"_typed_{spec.name}"
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {typed} AS SELECT {row_number_sql(con, raw)} AS "
        f"{ROW_COLUMN}, "
        + ", ".join(_typed_expr(spec.types[c], r, c, timezone) for c, r in select.items())
        + ", "
        + ", ".join(f'{r.expr} AS "_src_{c}"' for c, r in select.items())
        + f" FROM {raw}",
    )
    problems, total = _validate(con, spec, typed, select)
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
    count = con.execute(f"SELECT count(*) FROM {spec.name}").fetchall()[0]
    return int(count[0]) if count else 0


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


def _typed_expr(kind: ColumnType, resolved: Resolved, name: str, tz: str) -> str:
    expr = resolved.expr
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


def _validate(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, typed: str, select: Mapping[str, Resolved]
) -> tuple[list[Problem], int]:
    """Every check in one pass over the (unmaterialised) typed view; the source values of
    the first failures are fetched only when there are failures."""
    checks: list[tuple[str, str, str]] = []  # condition, column, reason

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
        src = f"nullif(trim(CAST(\"_src_{column}\" AS VARCHAR)), '')"
        if kind != "text":
            check(
                f'{src} IS NOT NULL AND "{column}" IS NULL',
                column,
                f"cannot be read as {select[column].expects or expected[kind]}",
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
