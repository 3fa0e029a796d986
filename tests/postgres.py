"""Throw-away places on the test PostgreSQL server (IMPROVE_TEST_POSTGRES_URL, which .ci/run
sets): a schema for a store, or a whole database for a Prefect server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("IMPROVE_TEST_POSTGRES_URL")


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """A new schema, dropped afterwards; the store URL whose connections use it."""
    assert POSTGRES_URL, "CI must set IMPROVE_TEST_POSTGRES_URL (see .ci/run)"
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database, dropped (its connections closed) afterwards; its URL without a driver
    (`postgresql://…/name`): add `+psycopg` for the store, `+asyncpg` for Prefect."""
    import psycopg

    assert POSTGRES_URL, "CI must set IMPROVE_TEST_POSTGRES_URL (see .ci/run)"
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
