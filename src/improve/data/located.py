"""Problems found in a workbook a stakeholder filled in, each located by sheet and cell, and
the one error that lists them all (nothing is stored when there is any)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from improve.errors import InputDataError

MAX_LISTED = 20


@dataclass(frozen=True)
class Located:
    """One problem: where it is and what to change."""

    sheet: str
    cell: str
    field: str
    reason: str

    def describe(self, path: Path) -> str:
        """The line the error shows for it."""
        return f"{path}, sheet {self.sheet}, cell {self.cell} ({self.field}): {self.reason}"


def refuse(path: Path, issues: Sequence[Located], *, fix: str) -> InputDataError:
    """The error listing `issues` (the first MAX_LISTED) with what to do next."""
    lines = [i.describe(path) for i in issues[:MAX_LISTED]]
    more = len(issues) - len(lines)
    return InputDataError(
        f"{path}: {len(issues)} problem(s); nothing was stored. {fix}:\n  "
        + "\n  ".join(lines)
        + (f"\n  ... and {more} more problem(s)" if more > 0 else "")
    )
