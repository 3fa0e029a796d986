"""The three-level review (三级审核) of a version: the author (初审), every cross-department
head (二审), then the final sign-off (终审), in that order, each decided only by the people the
programme lists for it. Stage artifacts and service standards share these rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from improve.domain.base import Text
from improve.domain.programme import Approvers
from improve.errors import ApprovalError

ReviewLevel = Literal["author", "cross", "final"]
LEVELS: tuple[ReviewLevel, ...] = ("author", "cross", "final")
LEVEL_TITLES: dict[str, Text] = {
    "author": Text(zh="初审（编写人）", en="author review"),
    "cross": Text(zh="二审（跨部门负责人）", en="cross-department review"),
    "final": Text(zh="终审（业务负责人签字）", en="final sign-off"),
}
LEVEL_NAMES: dict[ReviewLevel, str] = {
    "author": "author review (初审)",
    "cross": "cross-department review (二审)",
    "final": "final sign-off (终审)",
}


def awaited(
    approved: Iterable[tuple[str, str]], approvers: Approvers
) -> tuple[ReviewLevel, tuple[str, ...]] | None:
    """The level a version waits for and who may still decide at it, given the (level,
    name) approvals so far: the author and final levels need one of their people, the cross
    level every head (a programme without cross heads skips it); None when all are done."""
    done = set(approved)
    for level in LEVELS:
        names: tuple[str, ...] = getattr(approvers, level)
        if level == "cross":
            pending = tuple(n for n in names if (level, n) not in done)
            if pending:
                return level, pending
        elif names and not any((level, n) in done for n in names):
            return level, names
    return None


def check_decision(
    what: str,
    approved: Iterable[tuple[str, str]],
    approvers: Approvers,
    *,
    reviewer: str,
    level: ReviewLevel | None,
) -> ReviewLevel:
    """The level `reviewer` decides at now (`level`, or the one awaited when None); an
    ApprovalError saying who may when the level is out of order or the reviewer is not
    listed for it, or when nothing is left to decide."""
    step = awaited(approved, approvers)
    if step is None:
        raise ApprovalError(f"{what} has passed every review level; nothing is left to decide")
    expected, pending = step
    wanted = LEVEL_NAMES[expected]
    if level is not None and level != expected:
        earlier = LEVELS.index(level) < LEVELS.index(expected)
        raise ApprovalError(
            f"{what}: the {LEVEL_NAMES[level]} is done already; it awaits the {wanted} by "
            f"{', '.join(pending)}"
            if earlier
            else f"{what} is not ready for the {LEVEL_NAMES[level]}: the levels go author, "
            f"cross, final, and it awaits the {wanted} by {', '.join(pending)} first"
        )
    allowed: tuple[str, ...] = getattr(approvers, expected)
    if reviewer not in allowed:
        listed = [lvl for lvl in LEVELS if reviewer in getattr(approvers, lvl)]
        hint = (
            f"{reviewer} decides at the {LEVEL_NAMES[listed[0]]}, which comes "
            f"{'before' if LEVELS.index(listed[0]) < LEVELS.index(expected) else 'after'}"
            if listed
            else f"add the name under approvers.{expected} in the programme file"
        )
        raise ApprovalError(
            f"{reviewer!r} may not decide the {wanted} of {what}: it awaits "
            f"{', '.join(pending)}; {hint}"
        )
    if reviewer not in pending:
        raise ApprovalError(
            f"{reviewer} has approved the {wanted} of {what} already; it waits for "
            f"{', '.join(pending)}"
        )
    return expected
