"""The programme's ticket store: canonical tickets as Parquet partitioned by creation month,
in generations switched atomically, so an import is all or nothing and a rerun adds nothing.

    <root>/CURRENT                 name of the live generation
    <root>/g000003/month=202501/tickets_0.parquet
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from improve.data.canonical import TICKET_TYPES, TICKETS, load_canonical, streamed_select
from improve.data.readers import run
from improve.domain.programme import DataSource
from improve.errors import StorageError

_COLUMNS = ", ".join(f'"{c}"' for c in TICKET_TYPES)
_GENERATION = re.compile(r"g[0-9]{6,}")  # what CURRENT may name: a folder of the store


def _month(alias: str = "") -> str:
    """The month key (202501) of a ticket's creation: an integer partitions fastest."""
    created = f"{alias}.created_at" if alias else "created_at"
    return f"(year({created}) * 100 + month({created}))"


def _folder_month(folder: Path) -> int:
    """The month key of a `month=...` folder (202501; 2025-01 from earlier versions)."""
    return int(folder.name.removeprefix("month=").replace("-", ""))


def _label(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


@dataclass(frozen=True)
class ImportResult:
    """What an import changed."""

    added: int
    updated: int
    unchanged: int
    generation: str | None
    months_written: tuple[str, ...]  # 2025-01, ...


class TicketStore:
    """Canonical tickets of one programme, beside its database."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def current(self) -> Path | None:
        """The live generation's folder, if anything was imported."""
        pointer = self.root / "CURRENT"
        if not pointer.exists():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        if not _GENERATION.fullmatch(name):
            raise StorageError(
                f"{pointer} names {name[:80]!r}, not a generation like g000003; restore it "
                "from a backup or delete the store folder and import again"
            )
        gen = self.root / name
        if not gen.is_dir():
            raise StorageError(
                f"{pointer} names {gen.name}, which is missing; restore it from "
                "a backup or delete the store folder and import again"
            )
        return gen

    def exists(self) -> bool:
        """Whether any tickets were imported."""
        return self.current is not None

    def files(self, gen: Path) -> list[Path]:
        """The month files of a generation."""
        return sorted(gen.glob("month=*/*.parquet"))

    def read_into(
        self, con: duckdb.DuckDBPyConnection, table: str = "tickets", *, view: bool = True
    ) -> int:
        """Make `table` read the live generation (a view over its Parquet files, or a copy);
        returns its row count."""
        gen = self.current
        if gen is None:
            raise StorageError(f"the ticket store {self.root} is empty; run `improve import`")
        files = [str(f) for f in self.files(gen)]
        if not files:
            raise StorageError(
                f"generation {gen} holds no month files; delete {self.root} and import the "
                "exports again"
            )
        kind = "VIEW" if view else "TABLE"
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        run(
            con,
            f"CREATE OR REPLACE {kind} {table} AS SELECT {_COLUMNS} FROM read_parquet([{listed}])",
        )
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def import_source(
        self,
        con: duckdb.DuckDBPyConnection,
        source: DataSource,
        *,
        base_dir: Path,
        timezone: str = "Asia/Shanghai",
    ) -> ImportResult:
        """Validate an export and merge it in, all or nothing (InputDataError, store untouched,
        when any row is refused).

        A clean CSV or Parquet file streams straight into month files (one parse, no text
        copy); a file that the streamed read refuses, or an XLSX, goes through
        `load_canonical`, which lists the located problems (or reads what only it reads).
        """
        with self._locked():
            current = self.current
            self._remove_stale(current)
            staging = self._next(current).with_suffix(".incoming")
            if not self._stage_streamed(con, source, staging, base_dir, timezone):
                load_canonical(
                    con, TICKETS, source, base_dir=base_dir, timezone=timezone, stream=False
                )
                self._stage(con, f"SELECT {_COLUMNS} FROM tickets", staging)
            return self._merge_staged(con, staging, current)

    def merge(self, con: duckdb.DuckDBPyConnection, table: str = "tickets") -> ImportResult:
        """Merge the canonical `table` (already validated) into the store."""
        with self._locked():
            current = self.current
            self._remove_stale(current)
            staging = self._next(current).with_suffix(".incoming")
            self._stage(con, f"SELECT {_COLUMNS} FROM {table}", staging)
            return self._merge_staged(con, staging, current)

    def _next(self, current: Path | None) -> Path:
        number = int(current.name[1:]) + 1 if current is not None else 1
        return self.root / f"g{number:06d}"

    def _stage_streamed(
        self,
        con: duckdb.DuckDBPyConnection,
        source: DataSource,
        staging: Path,
        base_dir: Path,
        timezone: str,
    ) -> bool:
        """Write the export's rows to `staging` by month straight from the file; False (and
        nothing staged) when the streamed read cannot take the file as it is."""
        try:
            select = streamed_select(con, TICKETS, source, base_dir=base_dir, timezone=timezone)
            if select is None:
                return False
            self._stage(con, select, staging)
            rows, ids = con.execute(
                # a hash collision only sends the file to the exact (located) check
                f"SELECT count(*), count(DISTINCT hash(ticket_id)) FROM {_parquet(staging)}"
            ).fetchall()[0]
        except duckdb.Error:
            shutil.rmtree(staging, ignore_errors=True)
            return False
        if not rows or rows != ids:  # an empty export or duplicate ids: listed by the slow path
            shutil.rmtree(staging, ignore_errors=True)
            return False
        return True

    def _stage(self, con: duckdb.DuckDBPyConnection, select: str, folder: Path) -> None:
        """Write `select`'s tickets into month folders under `folder` in one pass."""
        _copy_by_month(con, f"SELECT *, {_month()} AS month FROM ({select})", folder)

    def _merge_staged(
        self, con: duckdb.DuckDBPyConnection, staging: Path, current: Path | None
    ) -> ImportResult:
        """Make the staged tickets live: matched by id with the live generation, the staged
        row wins. Only the months that change are rewritten; the others are hard-linked into
        the new generation, which then becomes live in one rename."""
        gen = staging.with_suffix("")
        staged_months = sorted(_folder_month(p) for p in staging.glob("month=*"))
        if not staged_months:  # nothing to add
            shutil.rmtree(staging, ignore_errors=True)
            return ImportResult(0, 0, 0, None, ())
        if current is None:
            added = int(con.execute(f"SELECT count(*) FROM {_parquet(staging)}").fetchall()[0][0])
            staging.rename(gen)
            self._switch(gen, None)
            return ImportResult(added, 0, 0, gen.name, tuple(map(_label, staged_months)))
        run(
            con,
            f"CREATE OR REPLACE TEMP VIEW _incoming AS SELECT {_COLUMNS} FROM {_parquet(staging)}",
        )
        self.read_into(con, "_stored", view=True)
        try:
            counts = con.execute(
                f"SELECT count(*) FILTER (s.ticket_id IS NULL), "
                f"count(*) FILTER (s.ticket_id IS NOT NULL AND NOT ({_same('n', 's')})), "
                f"count(*) FILTER (s.ticket_id IS NOT NULL AND ({_same('n', 's')})) "
                f"FROM _incoming n LEFT JOIN _stored s USING (ticket_id)"
            ).fetchall()[0]
            added, updated, unchanged = (int(c) for c in counts)
            if added == 0 and updated == 0:
                shutil.rmtree(staging)
                return ImportResult(0, 0, unchanged, None, ())
            months = sorted(
                {
                    m
                    for (m,) in con.execute(
                        f"SELECT DISTINCT {_month('n')} FROM _incoming n "
                        f"LEFT JOIN _stored s USING (ticket_id) "
                        f"WHERE s.ticket_id IS NULL OR NOT ({_same('n', 's')}) "
                        f"UNION SELECT DISTINCT {_month('s')} FROM _incoming n "
                        f"JOIN _stored s USING (ticket_id) WHERE NOT ({_same('n', 's')})"
                    ).fetchall()
                }
            )
            listed = ", ".join(str(m) for m in months)
            merged = (
                f"SELECT {_COLUMNS} FROM _stored WHERE ticket_id NOT IN "
                f"(SELECT ticket_id FROM _incoming) UNION ALL SELECT {_COLUMNS} FROM _incoming"
            )
            _copy_by_month(
                con,
                f"SELECT *, {_month()} AS month FROM ({merged}) WHERE {_month()} IN ({listed})",
                gen,
            )
        finally:
            run(con, "DROP VIEW IF EXISTS _incoming")
            run(con, "DROP VIEW IF EXISTS _stored")
        for f in self.files(current):
            if _folder_month(f.parent) not in months:
                (gen / f.parent.name).mkdir(exist_ok=True)
                os.link(f, gen / f.parent.name / f.name)
        shutil.rmtree(staging)
        self._switch(gen, current)
        return ImportResult(added, updated, unchanged, gen.name, tuple(map(_label, months)))

    def _switch(self, gen: Path, current: Path | None) -> None:
        """Make `gen` the live generation (one atomic rename) and delete the old one."""
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(gen.name, encoding="utf-8")
        tmp.replace(self.root / "CURRENT")
        if current is not None:
            shutil.rmtree(current)

    def _remove_stale(self, current: Path | None) -> None:
        """Generations a crashed import left behind are never live: delete them."""
        for folder in self.root.glob("g[0-9]*"):
            if folder.is_dir() and (current is None or folder.name != current.name):
                shutil.rmtree(folder)


def _parquet(folder: Path) -> str:
    """A scan of the month files under `folder`."""
    pattern = str(folder / "month=*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = false)"


def _copy_by_month(con: duckdb.DuckDBPyConnection, select: str, folder: Path) -> None:
    """COPY `select` (with a `month` column) to Hive-style month folders under `folder`.

    Row order within a month is not kept, and each month's rows are flushed every 64K rows,
    which keeps a 20-million-row import in about a gigabyte."""
    target = str(folder).replace("'", "''")
    run(con, "SET preserve_insertion_order = false")
    run(con, "SET partitioned_write_flush_threshold = 65536")
    try:
        run(
            con,
            f"COPY ({select}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, "
            "COMPRESSION_LEVEL 1, PARTITION_BY (month), FILENAME_PATTERN 'tickets_{i}')",
        )
    finally:
        run(con, "RESET partitioned_write_flush_threshold")
        run(con, "SET preserve_insertion_order = true")


def _same(a: str, b: str) -> str:
    return " AND ".join(f'{a}."{c}" IS NOT DISTINCT FROM {b}."{c}"' for c in TICKET_TYPES)
