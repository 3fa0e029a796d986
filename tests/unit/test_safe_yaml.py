"""Configuration YAML is read safely and strictly: YAML 1.2-core scalars (no `yes`/`on`
booleans, no base-60 `8:30`, no octal `012`), no duplicate keys, no anchors or aliases (no
billion laughs), no explicit tags, bounded size and depth; every refusal names the file,
the line and the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.bounded import run_bounded

from improve.config import (
    MAX_CONFIG_BYTES,
    default_config_dir,
    demo_programme_path,
    load_file,
    load_programme,
    read_yaml,
)
from improve.config_edit import cycle_block
from improve.domain.programme import (
    BenchmarkDefaults,
    Playbook,
    Programme,
    RootCauseRules,
    Withdrawal,
)
from improve.domain.standards import StandardTemplate
from improve.errors import ConfigError


def _file(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = demo_programme_path().read_text(encoding="utf-8")
    assert old in text
    return _file(tmp_path, text.replace(old, new, 1), "programme.yaml")


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        # YAML 1.1 would make these True/False, 510, 83, 10, 1000 or a date
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("N", "N"),
        ("8:30", "8:30"), ("08:30", "08:30"), ("0123", "0123"), ("012", "012"),
        ("1_000", "1_000"), ("0x1F", "0x1F"), ("0o17", "0o17"), ("2026-01-05", "2026-01-05"),
        ("2026-01-05 09:00:00", "2026-01-05 09:00:00"), ("=", "="), (".inf", ".inf"),
        (".nan", ".nan"),
        # the YAML 1.2 core schema's own types
        ("true", True), ("False", False), ("TRUE", True), ("null", None), ("~", None),
        ("", None), ("0", 0), ("-12", -12), ("+4", 4), ("0.70", 0.7), ("1e3", 1000.0),
        (".5", 0.5), ("-2.5E-1", -0.25),
    ],
)  # fmt: skip
def test_plain_scalars_follow_the_yaml_1_2_core_schema(
    plain: str, value: Any, tmp_path: Path
) -> None:
    data = read_yaml(_file(tmp_path, f"a: {plain}\n"))
    assert data == {"a": value} and type(data["a"]) is type(value)


def test_quoted_values_are_always_text(tmp_path: Path) -> None:
    assert read_yaml(_file(tmp_path, "a: 'on'\nb: \"12\"\nc: '08:30'\n")) == {
        "a": "on", "b": "12", "c": "08:30"
    }  # fmt: skip


def test_yaml_1_1_words_reach_the_models_as_written(tmp_path: Path) -> None:
    """A team called `on`, a person called `No`, a `withdrawn: {on: ...}` block (YAML 1.1
    reads that key as True, so the block could not be written unquoted) and a quoted
    business-hours time all load as meant."""
    assert yaml.safe_load("on: 1") == {True: 1}  # what the stock SafeLoader does
    path = _variant(
        tmp_path,
        "  max_problems: 6",
        "  max_problems: 6\n  withdrawn: {on: 2026-03-01, reason: budget cut}",
    )
    text = path.read_text(encoding="utf-8").replace(
        "teams: [二线技术组]", "teams: [二线技术组, on]"
    )
    text = text.replace("{name: 黄磊,", "{name: No,")
    path.write_text(text + "business_hours: {start: 08:30, end: '18:00'}\n", encoding="utf-8")
    programme = load_programme(path)
    assert programme.cycle.withdrawn == Withdrawal(on=date(2026, 3, 1), reason="budget cut")
    assert "on" in programme.departments[1].teams
    assert programme.departments[1].members[0].name == "No"
    assert programme.business_hours is not None and programme.business_hours.minutes[0] == 510


def test_the_rewritten_cycle_block_reads_back_the_same(tmp_path: Path) -> None:
    cycle = load_programme(demo_programme_path()).cycle.model_copy(
        update={"withdrawn": Withdrawal(on=date(2026, 3, 1), reason="on hold")}
    )
    block = yaml.safe_load(cycle_block(cycle, "note"))["cycle"]  # written quoting 'on'
    data = read_yaml(_file(tmp_path, cycle_block(cycle, "note")))
    assert data["cycle"]["withdrawn"] == {"on": "2026-03-01", "reason": "on hold"}
    assert type(cycle).model_validate(data["cycle"]) == cycle
    assert type(cycle).model_validate(block) == cycle


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "owner: 王敏",
            "owner: 王敏\nbusiness_hours: {start: 8:30}",
            r"programme.yaml: invalid Programme.*\n  business_hours.start \(line 8\): '8:30' is "
            r"not a time of day; write it as HH:MM",
        ),
        (
            "key: 2026-H1",
            "key: 2026",
            r"\n  cycle.key \(line 63\): Input should be a valid string; got 2026, quote it",
        ),
        ("locale: zh-CN", "locale: fr", r"\n  locale \(line 9\): .*; got 'fr'"),
        (
            "  - key: tech\n",
            "  - key: tech\n    colour: blue\n",
            r"\n  departments.1.colour \(line 33\): Extra inputs are not permitted",
        ),
        (
            "  deadline: 2026-06-30",
            "  deadline: 2026-6-30",
            r"\n  cycle.deadline \(line 67\): Input should be a valid date",
        ),
    ],
)
def test_field_errors_name_the_file_line_and_key(
    old: str, new: str, expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=rf"(?s){expected}"):
        load_programme(_variant(tmp_path, old, new))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: 2\na: 3\n",
            r"c.yaml: duplicate key 'a' at line 3 \(first at line 1\); keep one",
        ),
        (
            "items:\n  - {key: x, name: a}\n  - key: y\n    name: b\n    name: c\n",
            r"c.yaml: duplicate key 'name' at line 5 \(first at line 4\)",
        ),
        ("1: a\n'1': b\n", r"^(?!.*duplicate)"),  # an int and a text key differ: not refused
        ("? [a, b]\n: 1\n", r"c.yaml: line 1: a key must be a plain name"),
        ("? {a: 1}\n: 1\n", r"c.yaml: line 1: a key must be a plain name"),
    ],
)
def test_duplicate_and_odd_keys_are_refused_with_their_line(
    text: str, expected: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, text)
    if expected.startswith("^(?!"):
        assert read_yaml(path) == {1: "a", "1": "b"}
        return
    with pytest.raises(ConfigError, match=expected):
        read_yaml(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("base: &b {a: 1}\nother: *b\n", 1),
        ("base: {a: 1}\nother: *b\n", 2),
        ("base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n", 1),
        ("a: &x 1\n", 1),
    ],
)
def test_anchors_and_aliases_are_refused(text: str, line: int, tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=rf"c.yaml: line {line}: anchor or alias .*write the values out"
    ):
        read_yaml(_file(tmp_path, text))


def test_a_merge_key_without_aliases_is_just_an_unknown_field(tmp_path: Path) -> None:
    path = _variant(tmp_path, "owner: 王敏", "owner: 王敏\n<<: {locale: en}")
    with pytest.raises(ConfigError, match=r"\n  << \(line 8\): Extra inputs are not permitted"):
        load_programme(path)


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9)
)


def test_billion_laughs_fail_fast_within_a_memory_limit(tmp_path: Path) -> None:
    path = _file(tmp_path, "schema_version: 1\n" + BILLION_LAUGHS + "strategies: *j\n", "p.yaml")
    outcome = run_bounded(
        f"""
        from pathlib import Path
        from improve.config import load_file
        from improve.domain.programme import Playbook
        load_file(Playbook, Path({str(path)!r}))
        """,
        timeout=30,
    )
    assert outcome.error == "ConfigError", outcome
    assert outcome.message.startswith(f"{path}: line 2: anchor or alias 'a'"), outcome.message
    assert outcome.seconds < 10


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/name:os.system",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!timestamp 2026-01-05",
        "!!str 12",
        "!custom x",
        "! 12",
    ],
)
def test_explicit_tags_are_refused(value: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = _file(tmp_path, "a: 1\nb: " + value.replace("{marker}", str(marker)) + "\n")
    with pytest.raises(ConfigError, match=r"c.yaml: line 2: explicit tag .* is not allowed"):
        read_yaml(path)
    assert not marker.exists()


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c.yaml: line 1: nested more than 32 levels deep"):
        read_yaml(_file(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert read_yaml(_file(tmp_path, "a: " + "[" * 30 + "]" * 30 + "\n"))


def test_a_big_or_endless_file_is_refused_after_reading_its_limit(tmp_path: Path) -> None:
    big = _file(tmp_path, "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1) + "a: 1\n")
    with pytest.raises(ConfigError, match=r"c.yaml: larger than 1 MiB, too big for a config"):
        read_yaml(big)
    outcome = run_bounded(
        """
        from pathlib import Path
        from improve.config import read_yaml
        read_yaml(Path("/dev/zero"))
        """,
        timeout=30,
    )
    assert (outcome.error, outcome.message) == (
        "ConfigError",
        "/dev/zero: larger than 1 MiB, too big for a configuration file; check that it is "
        "the right file, or split it",
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d, r": is a folder, not a YAML file"),
        (lambda d: d / "missing.yaml", r"missing.yaml: file not found"),
        (lambda d: _bytes(d, b"a: \xff\xfe\n"), r"c.yaml: not UTF-8 text"),
        (lambda d: _bytes(d, b"a: 1\n---\nb: 2\n"), r"c.yaml: not valid YAML: expected a single"),
        (lambda d: _bytes(d, b"a: b\x00\n"), r"c.yaml: not valid YAML"),
        (lambda d: _bytes(d, b"a: [1, 2\n"), r"c.yaml: not valid YAML"),
    ],
)
def test_unreadable_files_say_why(make: Any, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=expected):
        read_yaml(make(tmp_path))


def _bytes(folder: Path, data: bytes) -> Path:
    path = folder / "c.yaml"
    path.write_bytes(data)
    return path


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    assert read_yaml(_bytes(tmp_path, "\ufeffa: 1\n".encode())) == {"a": 1}


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("demo.yaml", Programme), ("export.yaml", Programme), ("playbook.yaml", Playbook),
        ("root_cause_rules.yaml", RootCauseRules), ("benchmarks.yaml", BenchmarkDefaults),
        ("standards/general.yaml", StandardTemplate),
        ("standards/industry.yaml", StandardTemplate),
        ("standards/simplified.yaml", StandardTemplate),
    ],
)  # fmt: skip
def test_the_embedded_configs_mean_what_they_meant(name: str, model: Any) -> None:
    """The strict loader changes nothing for the shipped files: each validates to the same
    model as with PyYAML's SafeLoader."""
    path = default_config_dir() / name
    before = model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert load_file(model, path) == before
