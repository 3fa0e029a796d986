"""Fault injection for the crash tests: the process kills itself (SIGKILL, no clean-up of
any kind) at a named point when IMPROVE_CRASH_AT names it. Unset, a point costs one
environment lookup."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "IMPROVE_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, at once, when IMPROVE_CRASH_AT is `name` (tests/crash/ sets it)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
