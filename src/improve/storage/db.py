"""Engine creation, migrations (Alembic, configured in code) and sessions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from improve.errors import StorageError
from improve.storage import nul

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
MIGRATE_LOCK = 7_283_001  # the advisory lock id migrations hold on PostgreSQL

_CHECK = (
    "check IMPROVE_DATABASE_URL, that the server is running and reachable, "
    "and that the user, password and database name are right"
)


def masked_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets its folder, WAL, a busy timeout and foreign keys.

    Nothing connects yet: an unreachable server is reported by `migrate` or the first query.
    """
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except (ArgumentError, ValueError) as exc:
        raise StorageError(
            f"database URL {masked_url(url)!r} is not valid ({exc}); use e.g. "
            "sqlite:///path/improve.db or postgresql+psycopg://user:pass@host/db"
        ) from None
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed)
        connect_args: dict[str, Any] = {}
        if backend == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise StorageError(
            f"no database driver for {masked_url(parsed)} ({exc}); use sqlite:/// or "
            "postgresql+psycopg:// (both installed with improve)"
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {folder} for the SQLite database {database} "
                f"({exc.strerror}); set IMPROVE_HOME or IMPROVE_DATABASE_URL to a writable place"
            ) from None
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, open transactions (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads, then writes after
        # another writer committed fails at once with "database is locked" instead of waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates %, which a password may contain.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration (`alembic upgrade head`)."""
    config = alembic_config(engine)
    where = masked_url(engine.url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # processes migrating a new database at once take turns (alembic does not)
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as exc:
        if exc.statement is None or exc.connection_invalidated:  # failed while connecting
            raise StorageError(f"cannot reach the database {where}: {exc.orig}; {_CHECK}") from None
        raise StorageError(
            f"migrating the database {where} failed: {exc.orig}; check that no other program "
            "locks or changed its tables, then rerun"
        ) from exc
    except CommandError as exc:
        raise StorageError(
            f"the database {where} has a schema this version of improve does not know ({exc}); "
            "upgrade improve or point IMPROVE_DATABASE_URL at another database"
        ) from None
    except SQLAlchemyError as exc:
        raise StorageError(f"migrating the database {where} failed: {exc}; {_CHECK}") from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (repositories return copies anyway)
    and that refuse a NUL character in any text before it is written."""
    factory = sessionmaker(engine, expire_on_commit=False)
    nul.guard(factory)
    return factory
