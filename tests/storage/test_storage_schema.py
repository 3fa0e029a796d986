"""Engine set-up and migrations: the migrated schema is exactly the ORM's, SQLite is tuned,
and an unreachable database is one clear StorageError."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from improve.errors import StorageError
from improve.storage.db import alembic_config, make_engine, masked_url, migrate
from improve.storage.orm import Base

TABLES = {
    "programme",
    "cycle",
    "artifact_version",
    "approval",
    "kpi_snapshot",
    "cadence_report",
    "plan_task",
    "progress_update",
    "audit_log",
    "root_cause_review",
    "standard_version",
    "standard_review",
}


def test_migrations_create_exactly_the_orm_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        revision = MigrationContext.configure(conn).get_current_revision()
    assert diff == []
    assert set(inspect(engine).get_table_names()) == {*TABLES, "alembic_version"}
    assert set(Base.metadata.tables) == TABLES
    assert revision == "0007"


def test_migrate_twice_is_a_no_op_and_downgrade_removes_everything(engine: Engine) -> None:
    migrate(engine)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == {*TABLES, "alembic_version"}


def test_sqlite_gets_its_folder_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "improve.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert path.exists()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1}


def test_foreign_keys_are_enforced_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    migrate(engine)
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO cycle (programme_key, key, status, created_at) "
                    "VALUES ('ghost', 'c1', 'open', '2026-01-01 00:00:00')"
                )
            )
    finally:
        engine.dispose()


def test_an_unreachable_server_names_the_masked_url_and_what_to_check() -> None:
    engine = make_engine("postgresql+psycopg://improve:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(StorageError) as info:
        migrate(engine)
    message = str(info.value)
    assert "s3cret" not in message
    assert "postgresql+psycopg://improve:***@127.0.0.1:1/nowhere" in message
    assert "check IMPROVE_DATABASE_URL" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "is not valid"),
        ("postgresql://u:pw@h:port/db", "is not valid"),
        ("oracle+nodriver://u:p@h/db", "no database driver"),
    ],
)
def test_a_bad_url_is_a_storage_error(url: str, expected: str) -> None:
    with pytest.raises(StorageError, match=expected) as info:
        make_engine(url)
    assert ":pw@" not in str(info.value) and ":p@" not in str(info.value)


def test_an_unwritable_sqlite_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create the folder"):
        make_engine(f"sqlite:///{blocker / 'sub' / 'improve.db'}")


def test_masked_url_hides_passwords_even_in_unparsable_urls() -> None:
    assert masked_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert "pw" not in masked_url("weird://u:pw@h:notaport/db")
