"""Rewrite a programme file's `cycle:` block (for `improve cycle next`), keeping every other
line, comment and key order as the owner wrote them: the change shows as a small diff."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from improve.config import load_programme
from improve.domain.programme import CycleSettings, Programme
from improve.errors import ConfigError

_TOP_KEY = re.compile(r"^[^\s#]")
_CYCLE = re.compile(r"^cycle\s*:")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v not in (None, (), [], {})}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def cycle_block(cycle: CycleSettings, note: str) -> str:
    """The `cycle:` block as YAML (dates unquoted), after a comment line."""
    body = yaml.safe_dump(
        {"cycle": _plain(cycle.model_dump())},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return f"# {note}\n{body}"


def replace_cycle(text: str, block: str, path: Path) -> str:
    """`text` with its top-level `cycle:` block (up to the next top-level line) replaced."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _CYCLE.match(line)), None)
    if start is None:
        raise ConfigError(f"{path}: has no top-level `cycle:` block to move to the next cycle")
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    while end > start + 1 and lines[end - 1].strip() == "":
        end -= 1  # keep the blank lines before the next key
    if start and lines[start - 1].startswith("# ") and "`improve cycle next`" in lines[start - 1]:
        start -= 1  # the note of the cycle before goes with its block
    return "".join(lines[:start]) + block + "".join(lines[end:])


def write_next_cycle(path: Path, cycle: CycleSettings, *, today: date) -> Programme:
    """Write `cycle` into the programme file in place of the current one (atomically: a
    temporary file renamed over it, after the result loads and validates)."""
    text = path.read_text(encoding="utf-8-sig")
    note = (
        f"cycle {cycle.key}, started by `improve cycle next` on {today} after "
        f"{cycle.carried_from}; earlier cycles stay in the store"
    )
    new = replace_cycle(text, cycle_block(cycle, note), path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
        programme = load_programme(tmp)
        if programme.cycle != cycle:
            raise ConfigError(f"{path}: the rewritten cycle block does not read back the same")
        tmp.chmod(path.stat().st_mode & 0o777)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return programme
