"""Everything a run needs, built from a programme file and the settings (no prefect)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from improve.config import load_playbook, load_programme, load_rules
from improve.data.store import TicketStore
from improve.domain.base import Locale
from improve.domain.calendar import WorkCalendar, china_calendar
from improve.domain.programme import Playbook, Programme, RootCauseRules
from improve.settings import Settings, load_settings
from improve.storage.db import make_engine, migrate, session_factory


def programme_calendar(programme: Programme) -> WorkCalendar:
    """The programme's working days around its cycle: weekends, mainland China holidays,
    make-up days and its own days off."""
    cycle = programme.cycle
    first = cycle.diagnosis_date - timedelta(days=400)
    return china_calendar(range(first.year, cycle.deadline.year + 2), programme.days_off)


@dataclass
class RunContext:
    """A programme, where its data lives, the database and where reports go."""

    config_path: Path
    data_root: Path
    settings: Settings
    locale: Locale
    programme: Programme
    playbook: Playbook
    rules: RootCauseRules

    @classmethod
    def load(
        cls,
        config_path: str | Path,
        *,
        data_root: str | Path | None = None,
        locale: Locale | None = None,
        settings: Settings | None = None,
    ) -> RunContext:
        """Load and validate the programme, its playbook and rules."""
        path = Path(config_path).resolve()
        programme = load_programme(path)
        return cls(
            config_path=path,
            data_root=Path(data_root).resolve() if data_root else path.parent,
            settings=settings or load_settings(),
            locale=locale or programme.locale,
            programme=programme,
            playbook=load_playbook(programme, path.parent),
            rules=load_rules(programme, path.parent),
        )

    @classmethod
    def from_store(cls, programme_key: str, *, settings: Settings | None = None) -> RunContext:
        """The programme as its last run stored it, for commands that import into stored
        artifacts without its file (`improve plan import FILE`). Its playbook and rules are
        the embedded defaults: run no stage with it."""
        from improve.storage import repository as repo

        settings = settings or load_settings()
        engine = make_engine(settings.resolved_database_url)
        try:
            migrate(engine)
            with session_factory(engine)() as session:
                programme = repo.get_programme(session=session, key=programme_key)
        finally:
            engine.dispose()
        return cls(
            config_path=Path("CONFIG"),
            data_root=Path.cwd(),
            settings=settings,
            locale=programme.locale,
            programme=programme,
            playbook=load_playbook(),
            rules=load_rules(),
        )

    @cached_property
    def engine(self) -> Engine:
        """The migrated database engine."""
        engine = make_engine(self.settings.resolved_database_url)
        migrate(engine)
        return engine

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @cached_property
    def calendar(self) -> WorkCalendar:
        """Working days: weekends, mainland China holidays, make-up days, programme days off."""
        return programme_calendar(self.programme)

    @property
    def store(self) -> TicketStore:
        """The programme's ticket store (filled by `improve import`)."""
        return TicketStore(self.settings.home.resolve() / "store" / self.programme.key)

    @property
    def reports_dir(self) -> Path:
        """Where this cycle's workbooks and pages go."""
        return (
            self.settings.artifacts_dir / self.programme.key / self.programme.cycle.key
        ).resolve()

    def close(self) -> None:
        """Release the database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
