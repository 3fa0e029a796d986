"""Temporary names of report writes, and the sweep of those a killed writer left behind.

A write goes to `.<name>.<host>-<pid>-<token>.<suffix>` beside its target and is renamed
into place; a process killed in between (SIGKILL, power loss, a worker's flow run process
dying) leaves that file. The next write of the same target removes the ones whose process on
this machine is gone, so a rerun leaves no debris, whoever ran the killed write (a cycle, a
weekly review on a worker, the portal). Others' live temporaries are never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def temp_path(target: Path, suffix: str = "tmp") -> Path:
    """A fresh temporary path beside `target`, naming this host and process."""
    token = secrets.token_hex(8)
    return target.with_name(f".{target.name}.{_HOST}-{os.getpid()}-{token}.{suffix}")


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this machine is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep(target: Path, suffix: str = "tmp") -> list[Path]:
    """Remove the temporaries of `target` left by processes of this host that are gone;
    the paths removed."""
    if not target.parent.is_dir():
        return []
    shape = re.compile(
        rf"\.{re.escape(target.name)}\.{_HOST}-(\d+)-[0-9a-f]{{16}}\.{re.escape(suffix)}"
    )
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.{_HOST}-*.{suffix}"):
        match = shape.fullmatch(leftover.name)
        if match is None or process_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):  # another sweeper got there first
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed.append(leftover)
    return removed
