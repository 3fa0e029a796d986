"""Settings: one root model read from IMPROVE_* environment variables, built in entry points."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from improve.errors import ConfigError


class Settings(BaseSettings):
    """Where the engine keeps its database and writes its reports."""

    model_config = SettingsConfigDict(env_prefix="IMPROVE_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path(".improve"), description="Working folder: SQLite database and ticket store."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite file under `home` when unset."
    )
    artifacts_dir: Path = Field(default=Path("artifacts"), description="Generated reports.")

    @field_validator("database_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and "://" not in url:
            raise ValueError(
                f"IMPROVE_DATABASE_URL={url!r} is not a database URL; use e.g. "
                "sqlite:///path/improve.db or postgresql+psycopg://user:pass@host/db"
            )
        return url

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or the SQLite file under `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'improve.db').resolve()}"


def load_settings() -> Settings:
    """Read the settings from the environment; a bad value is a ConfigError saying which."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"IMPROVE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}; fix the environment variable") from None
