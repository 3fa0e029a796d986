"""Programme files and settings: strict, with messages that name the file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from improve.config import demo_programme_path, load_programme
from improve.errors import ConfigError
from improve.settings import load_settings


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = demo_programme_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "programme.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_demo_programme_loads() -> None:
    programme = load_programme(demo_programme_path())
    assert programme.key == "demo" and programme.locale == "zh-CN"
    assert programme.approvers.everyone[0] == programme.owner


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, "owner: 王敏", "owner: 王敏\nowner: 李娜")
    with pytest.raises(ConfigError, match=r"programme.yaml: duplicate key 'owner' at line"):
        load_programme(path)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "timezone"),
        ("locale: zh-CN", "locale: fr", "locale"),
        ("owner: 王敏", "owner: 王敏\ncolour: blue", "colour"),
        ("deadline: 2026-06-30", "deadline: 2025-06-30", "cycle"),
        ("{kpi: fcr_rate, value: 0.70", "{kpi: first_contact, value: 0.70", "benchmarks.0.kpi"),
    ],
)
def test_invalid_fields_are_named(tmp_path: Path, old: str, new: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"programme.yaml: invalid Programme.*\n  {field}"):
        load_programme(_variant(tmp_path, old, new))


def test_bad_settings_say_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPROVE_DATABASE_URL", "improve.db")
    with pytest.raises(ConfigError, match="IMPROVE_DATABASE_URL"):
        load_settings()
