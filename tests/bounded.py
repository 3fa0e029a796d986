"""Run a piece of improve in a child process under a memory limit and a timeout, the way a
hostile input must be met: refused with improve's own error, not a crash, an exhausted
machine or a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

MEMORY = 1536 << 20  # address space of the child (RLIMIT_AS): 1.5 GiB
TIMEOUT = 60.0  # seconds

_PRELUDE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from improve.errors import ImproveError
def _report(**fields):
    print("\\n@@" + json.dumps(fields, default=str))
try:
{body}
except ImproveError as exc:
    _report(error=type(exc).__name__, message=str(exc))
except MemoryError:
    _report(error="MemoryError", message="ran out of its memory limit")
else:
    _report(error=None, message="")
"""


@dataclass(frozen=True)
class Outcome:
    """How the child ended: the ImproveError class name (None when nothing was raised), its
    message, and the wall time."""

    error: str | None
    message: str
    seconds: float


def run_bounded(body: str, *, memory: int = MEMORY, timeout: float = TIMEOUT) -> Outcome:
    """Run the Python statements `body` in a child limited to `memory` bytes of address
    space; AssertionError when it crashes (any exception but an ImproveError or
    MemoryError) or outlives `timeout` seconds."""
    code = _PRELUDE.format(memory=memory, body=textwrap.indent(textwrap.dedent(body), "    "))
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after {timeout:g} s: not bounded in time") from None
    seconds = time.monotonic() - start
    marker = done.stdout.rfind("\n@@")
    if done.returncode != 0 or marker < 0:
        raise AssertionError(
            f"the child crashed (exit {done.returncode}):\n"
            f"{done.stderr[-4000:]}{done.stdout[-2000:]}"
        )
    fields = json.loads(done.stdout[marker + 3 :])
    return Outcome(fields["error"], fields["message"], seconds)
