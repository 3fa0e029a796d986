"""Time `improve demo` end to end against the 3-minute budget of the demo, in one run.

uv run python benchmarks/demo_time.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

BUDGET_S = 180.0


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "improve", "demo", "--out", out],
            check=True,
            env=env,
            capture_output=True,
        )
        elapsed = time.perf_counter() - started
    verdict = "within" if elapsed <= BUDGET_S else "OVER"
    print(
        f"improve demo: {elapsed:6.1f} s   budget {BUDGET_S:.0f} s   {verdict} budget "
        f"({elapsed / BUDGET_S:.0%} of it)"
    )


if __name__ == "__main__":
    main()
