"""Names from configuration and input that become file paths cannot leave their folder:
keys are single, safe path components where they are declared; file names in a programme
are relative and stay inside its folder, checked again (symbolic links resolved) where
they are joined; the refusals name the value, why, and what to write instead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from improve.config import demo_programme_path, load_playbook, load_programme, load_rules
from improve.data.canonical import TICKETS, load_canonical, source_path
from improve.data.store import TicketStore
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview
from improve.domain.paths import escape_reason, inside
from improve.domain.programme import CycleSettings, DataSource, Pilot, Programme
from improve.domain.standards import StandardVersion
from improve.errors import ConfigError, StorageError

ESCAPES = [
    ("../outside.yaml", "climbs out of its folder"),
    ("rules/../../outside.yaml", "climbs out of its folder"),
    ("..", "climbs out of its folder"),
    ("/etc/passwd", "is an absolute path"),
    ("\\\\server\\share\\x.yaml", "is an absolute path"),
    ("C:\\rules.yaml", "is an absolute path"),
    ("c:rules.yaml", "is an absolute path"),
    ("rules\\..\\..\\x.yaml", "contains a backslash"),
    ("rules.yaml\x00.txt", "contains a control character"),
    ("rules\n.yaml", "contains a control character"),
    ("", "is empty"),
    ("   ", "is empty"),
]


@pytest.mark.parametrize(("name", "reason"), ESCAPES)
def test_names_that_could_leave_their_folder_are_named_with_the_reason(
    name: str, reason: str
) -> None:
    assert escape_reason(name) == reason or (reason in (escape_reason(name) or ""))


@pytest.mark.parametrize(
    "name", ["playbook.yaml", "rules/own.yaml", "./own.yaml", "a..b.yaml", "..hidden", "报告.yaml"]
)
def test_plain_relative_names_are_accepted(name: str, tmp_path: Path) -> None:
    assert escape_reason(name) is None
    assert inside(tmp_path, name).is_relative_to(tmp_path.resolve())


def _programme_with(tmp_path: Path, extra: str, old: str = "", new: str = "") -> Path:
    text = demo_programme_path().read_text(encoding="utf-8")
    if old:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "programme.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("field", ["playbook", "root_cause_rules"])
@pytest.mark.parametrize(("name", "reason"), ESCAPES[:8])
def test_the_programme_file_cannot_point_its_rules_outside_its_folder(
    field: str, name: str, reason: str, tmp_path: Path
) -> None:
    quoted = name.replace("\\", "\\\\")
    path = _programme_with(tmp_path, f'{field}: "{quoted}"\n')
    with pytest.raises(ConfigError, match=r"programme.yaml: invalid Programme") as info:
        load_programme(path)
    assert f"  {field} (line " in str(info.value) and reason in str(info.value)
    assert "give a path relative to its folder and inside it" in str(info.value)


@pytest.mark.parametrize("source", ["tickets", "surveys", "progress"])
@pytest.mark.parametrize(("name", "reason"), ESCAPES[:8])
def test_the_programme_file_cannot_point_its_data_outside_the_data_folder(
    source: str, name: str, reason: str, tmp_path: Path
) -> None:
    quoted = name.replace("\\", "\\\\")
    old = {"tickets": "data/tickets.parquet", "surveys": "data/surveys.csv"}.get(
        source, "data/progress.xlsx"
    )
    path = _programme_with(tmp_path, "", f"{{path: {old}", f'{{path: "{quoted}"')
    with pytest.raises(ConfigError, match=rf"\n  data.{source} \(line \d+\): path ") as info:
        load_programme(path)
    assert reason in str(info.value) and "relative to the data folder" in str(info.value)


def test_a_symbolic_link_out_of_the_programme_folder_is_refused(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "programme", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "rules.yaml").write_text("schema_version: 1\nrules: []\n", encoding="utf-8")
    (folder / "rules.yaml").symlink_to(elsewhere / "rules.yaml")
    programme = load_programme(_programme_with(folder, "root_cause_rules: rules.yaml\n"))
    with pytest.raises(ConfigError, match=r"the programme's root_cause_rules: 'rules.yaml' leads"):
        load_rules(programme, folder)
    # the same file, inside the folder, is read (and then validated)
    (folder / "rules.yaml").unlink()
    (folder / "rules.yaml").write_text("schema_version: 1\nrules: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules.yaml: invalid RootCauseRules"):
        load_rules(programme, folder)


def test_a_playbook_in_a_subfolder_is_read(tmp_path: Path) -> None:
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "playbook.yaml").write_text("schema_version: 1\n", encoding="utf-8")
    programme = load_programme(_programme_with(tmp_path, "playbook: own/playbook.yaml\n"))
    assert load_playbook(programme, tmp_path) == load_playbook()


def test_a_data_path_that_skipped_validation_is_refused_where_it_is_joined(
    tmp_path: Path,
) -> None:
    """model_copy does not validate: the join refuses `..` on its own, but takes an absolute
    path (a file named on the command line)."""
    outside = tmp_path / "outside.csv"
    outside.write_text("ticket_id,created_at,channel,category,team\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    source = load_programme(demo_programme_path()).data.tickets
    sneaky = source.model_copy(update={"path": "../outside.csv"})
    with pytest.raises(ConfigError, match=r"data source path '../outside.csv' climbs out"):
        load_canonical(duckdb.connect(), TICKETS, sneaky, base_dir=data)
    assert source_path(DataSource(path=str(outside)), data) == outside.resolve()


def test_the_store_follows_only_a_generation_name(tmp_path: Path) -> None:
    store = TicketStore(tmp_path / "store")
    store.root.mkdir()
    (tmp_path / "victim").mkdir()
    (store.root / "CURRENT").write_text("../victim", encoding="utf-8")
    with pytest.raises(StorageError, match=r"CURRENT names '../victim', not a generation"):
        store.current  # noqa: B018
    (store.root / "g000001").mkdir()
    (store.root / "CURRENT").write_text("g000001\n", encoding="utf-8")
    assert store.current == store.root / "g000001"


# --- keys that name folders and files: programme, cycle, pilot, standard, version, period ---

_PIECES = [*"aZ09._-/\\ :~$\x00\n\t*?é报", "..", "V1.0", "2026-W04", "2026-02"]
_HOSTILE = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join) | st.sampled_from(
    [".", "..", "../x", "a/..", "/abs", "a\\b", "a" * 65, "x\x00y", "C:x"]
)


def _validator(model: type[Any], field: str) -> TypeAdapter[Any]:
    info = model.model_fields[field]
    return TypeAdapter(Annotated[(info.annotation, *info.metadata)])


_KEYS = [
    (Programme, "key"),
    (CycleSettings, "key"),
    (Pilot, "key"),
    (StandardVersion, "key"),
    (StandardVersion, "version"),
    (WeeklyReview, "period"),
    (MonthlyRetrospective, "period"),
]


@pytest.mark.parametrize(("model", "field"), _KEYS, ids=lambda v: getattr(v, "__name__", v))
@settings(max_examples=300, deadline=None)
@given(value=_HOSTILE)
@example(value="demo")
@example(value="V1.10")
@example(value="2026-W04")
@example(value="2026-02")
def test_every_key_a_model_accepts_is_one_safe_path_component(
    model: type[Any], field: str, value: str
) -> None:
    try:
        key = _validator(model, field).validate_python(value.strip())
    except ValidationError:
        return
    assert key not in ("", ".", "..") and escape_reason(key) is None
    assert "/" not in key and "\\" not in key and len(key.encode()) <= 64
    base = Path("/srv/artifacts/programme")
    assert (base / key).parent == base and os.path.normpath(base / key) == str(base / key)


@pytest.mark.parametrize("value", ["../demo", "a/b", "a\\b", "..", "x\x00y", "a" * 65, "/abs"])
def test_programme_and_cycle_keys_that_could_leave_a_folder_are_refused(
    value: str, tmp_path: Path
) -> None:
    quoted = value.replace("\\", "\\\\").replace("\x00", "\\0")
    for old, field in (("key: demo", "key"), ("key: 2026-H1", "cycle.key")):
        path = _programme_with(tmp_path, "", old, f'{old.split(":")[0]}: "{quoted}"')
        with pytest.raises(ConfigError, match=rf"\n  {field} \(line \d+\): String should"):
            load_programme(path)
