"""The programme's ticket store: canonical tickets as Parquet partitioned by creation month,
in generations switched atomically, so an import is all or nothing and a rerun adds nothing.

    <root>/CURRENT                 name of the live generation
    <root>/g000003/month=2025-01/tickets_0.parquet
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from improve.data.canonical import TICKET_TYPES
from improve.data.readers import run
from improve.errors import StorageError

_COLUMNS = ", ".join(f'"{c}"' for c in TICKET_TYPES)
_MONTH = "strftime(created_at, '%Y-%m')"


@dataclass(frozen=True)
class ImportResult:
    """What an import changed."""

    added: int
    updated: int
    unchanged: int
    generation: str | None
    months_written: tuple[str, ...]


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
        gen = self.root / pointer.read_text(encoding="utf-8").strip()
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

    def merge(self, con: duckdb.DuckDBPyConnection, table: str = "tickets") -> ImportResult:
        """Merge the canonical `table` into the store: tickets are matched by id and the
        incoming row wins. Only the months that change are rewritten; the others are
        hard-linked into the new generation, which then becomes live in one rename."""
        with self._locked():
            current = self.current
            self._remove_stale(current)
            if current is not None:
                self.read_into(con, "_stored", view=False)
            else:
                run(
                    con,
                    f"CREATE OR REPLACE TABLE _stored AS SELECT {_COLUMNS} FROM {table} LIMIT 0",
                )
            counts = con.execute(
                f"SELECT count(*) FILTER (s.ticket_id IS NULL), "
                f"count(*) FILTER (s.ticket_id IS NOT NULL AND NOT ({_same('n', 's')})), "
                f"count(*) FILTER (s.ticket_id IS NOT NULL AND ({_same('n', 's')})) "
                f"FROM {table} n LEFT JOIN _stored s USING (ticket_id)"
            ).fetchall()[0]
            added, updated, unchanged = (int(c) for c in counts)
            if added == 0 and updated == 0:
                return ImportResult(0, 0, unchanged, None, ())
            months = sorted(
                {
                    m
                    for (m,) in con.execute(
                        f"SELECT DISTINCT strftime(n.created_at, '%Y-%m') FROM {table} n "
                        f"LEFT JOIN _stored s USING (ticket_id) "
                        f"WHERE s.ticket_id IS NULL OR NOT ({_same('n', 's')}) "
                        f"UNION SELECT DISTINCT strftime(s.created_at, '%Y-%m') FROM {table} n "
                        f"JOIN _stored s USING (ticket_id) WHERE NOT ({_same('n', 's')})"
                    ).fetchall()
                }
            )
            run(
                con,
                f"CREATE OR REPLACE TABLE _merged AS SELECT {_COLUMNS} FROM _stored "
                f"WHERE ticket_id NOT IN (SELECT ticket_id FROM {table}) "
                f"UNION ALL SELECT {_COLUMNS} FROM {table}",
            )
            number = int(current.name[1:]) + 1 if current is not None else 1
            gen = self.root / f"g{number:06d}"
            listed = ", ".join(f"'{m}'" for m in months)
            # One pass writes every changed month (DuckDB's Hive-partitioned COPY).
            run(
                con,
                f"COPY (SELECT {_COLUMNS}, {_MONTH} AS month FROM _merged WHERE {_MONTH} IN "
                f"({listed})) TO '{gen}' "
                "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month), "
                "FILENAME_PATTERN 'tickets_{i}')",
            )
            if current is not None:
                for f in self.files(current):
                    if f.parent.name.removeprefix("month=") not in months:
                        (gen / f.parent.name).mkdir(exist_ok=True)
                        os.link(f, gen / f.parent.name / f.name)
            for name in ("_stored", "_merged"):
                run(con, f"DROP TABLE {name}")
            tmp = self.root / "CURRENT.tmp"
            tmp.write_text(gen.name, encoding="utf-8")
            tmp.replace(self.root / "CURRENT")
            if current is not None:
                shutil.rmtree(current)
            return ImportResult(added, updated, unchanged, gen.name, tuple(months))

    def _remove_stale(self, current: Path | None) -> None:
        """Generations a crashed import left behind are never live: delete them."""
        for folder in self.root.glob("g[0-9]*"):
            if folder.is_dir() and (current is None or folder.name != current.name):
                shutil.rmtree(folder)


def _same(a: str, b: str) -> str:
    return " AND ".join(f'{a}."{c}" IS NOT DISTINCT FROM {b}."{c}"' for c in TICKET_TYPES)
