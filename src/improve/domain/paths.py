"""Names from configuration and input that become file paths: they stay in their folder.

A name is checked twice: where it is declared (the model's field, so the error names the
file and field) and where it is joined to its folder (`inside`, so a value that skipped
validation still cannot leave it)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def escape_reason(name: str) -> str | None:
    """Why the relative path `name` could leave (or not name a file in) its folder, or None
    when it is a plain relative path like `playbooks/own.yaml`."""
    if not name.strip():
        return "is empty"
    if _CONTROL.search(name):
        return "contains a control character (NUL, tab or line break)"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if ".." in PurePosixPath(name).parts:
        return "climbs out of its folder with '..'"
    return None


def _relative_inside(name: str) -> str:
    reason = escape_reason(name)
    if reason is not None:
        raise ValueError(
            f"{name!r} {reason}; give a path relative to its folder and inside it, with / "
            "between folders, like rules/own.yaml"
        )
    return name


RelativePath = Annotated[str, AfterValidator(_relative_inside)]


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, resolved; ValueError (saying why and what to write) when `name`
    would leave `folder`, through `..`, an absolute path or a symbolic link."""
    _relative_inside(name)
    base = folder.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ValueError(
            f"{name!r} leads outside {base} (through a symbolic link, to {path}); "
            f"keep the file inside {base}"
        )
    return path
