"""Refuse NUL characters in text columns before they reach the database, on every backend.

PostgreSQL's text cannot hold U+0000 (psycopg fails mid-transaction with a driver error)
while SQLite stores it silently, so the same input would behave differently per store. The
input readers already refuse NUL; this is the last line, checked on every flush. JSON
columns are left alone: both backends keep an escaped \\u0000 in JSON and give it back.
"""

from __future__ import annotations

from sqlalchemy import String, event
from sqlalchemy.orm import Session, UOWTransaction, object_mapper, sessionmaker

from improve.errors import StorageError


def check_row(row: object) -> None:
    """Raise StorageError naming the table, the column and the value of a NUL in `row`."""
    mapper = object_mapper(row)
    table = mapper.persist_selectable.description
    for column in mapper.columns:
        if not isinstance(column.type, String):
            continue
        value = getattr(row, mapper.get_property_by_column(column).key, None)
        if isinstance(value, str) and "\x00" in value:
            shown = value.replace("\x00", "\\x00")
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise StorageError(
                f'{table}.{column.name} = "{shown}" holds a NUL character '
                "(U+0000), which the database cannot store; nothing was written. Remove the "
                "character from the file or text it came from and rerun"
            )


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    for row in (*session.new, *session.dirty):
        check_row(row)


def guard(factory: sessionmaker[Session]) -> None:
    """Check every row a session from `factory` flushes."""
    event.listen(factory, "before_flush", _before_flush)
