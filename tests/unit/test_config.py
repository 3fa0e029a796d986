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


def _programme_with_playbook(tmp_path: Path, playbook_yaml: str) -> Path:
    (tmp_path / "playbook.yaml").write_text(playbook_yaml, encoding="utf-8")
    text = demo_programme_path().read_text(encoding="utf-8")
    path = tmp_path / "programme.yaml"
    path.write_text(text + "playbook: playbook.yaml\n", encoding="utf-8")
    return path


_STRATEGY = """
  - key: {key}
    category: {category}
    name: {{zh: 知识库, en: Knowledge base}}
    description: {{zh: 建设知识库, en: Build a knowledge base}}
    effort: 2
    standard: {{zh: 知识库每月更新, en: Knowledge base updated monthly}}
    tasks:
      - key: write
        name: {{zh: 编写文章, en: Write articles}}
        duration_days: 8
        role: cs_specialist
        resources: {{zh: 专员 2 人, en: Two specialists}}
        acceptance: {{zh: 覆盖前 20 类问题, en: Covers the top 20 questions}}
"""


def test_a_programme_playbook_extends_and_overrides_the_default(tmp_path: Path) -> None:
    from improve.config import load_playbook

    default = load_playbook()
    replaced = _STRATEGY.format(key="smart-service", category="tools").replace(
        "知识库每月更新", "新标准"
    )
    path = _programme_with_playbook(
        tmp_path,
        "schema_version: 1\nremove: [capacity]\nstrategies:"
        + _STRATEGY.format(key="knowledge-base", category="resources")
        + replaced,
    )
    playbook = load_playbook(load_programme(path), tmp_path)
    keys = [s.key for s in playbook.strategies]
    assert "knowledge-base" in keys and "capacity" not in keys
    assert keys.index("smart-service") == [s.key for s in default.strategies].index(
        "smart-service"
    )  # overridden in place
    assert playbook.strategy("smart-service").standard.zh == "新标准"
    assert len(playbook.strategy("smart-service").tasks) == 1
    # every strategy and task speaks both languages
    for s in playbook.strategies:
        assert s.name.zh and s.name.en and all(t.name.zh and t.name.en for t in s.tasks)


def test_a_playbook_that_loses_a_category_or_names_unknown_keys_is_refused(
    tmp_path: Path,
) -> None:
    from improve.config import load_playbook

    path = _programme_with_playbook(tmp_path, "schema_version: 1\nremove: [nonexistent]\n")
    with pytest.raises(ConfigError, match=r"remove names strategies .*nonexistent"):
        load_playbook(load_programme(path), tmp_path)
    only = "schema_version: 1\nmode: replace\nstrategies:" + _STRATEGY.format(
        key="kb", category="tools"
    )
    path = _programme_with_playbook(tmp_path, only)
    with pytest.raises(ConfigError, match=r"playbook has no strategy for \['people', 'process'"):
        load_playbook(load_programme(path), tmp_path)


def test_people_are_listed_once(tmp_path: Path) -> None:
    text = demo_programme_path().read_text(encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("{name: 黄磊,", "{name: 周杰,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"people listed in two departments: \['周杰'\]"):
        load_programme(path)
