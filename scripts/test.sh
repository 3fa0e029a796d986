#!/usr/bin/env bash
# The test command of the README: sets up everything on a fresh machine with python3 and pip,
# then runs the whole test suite (uv run pytest, one worker per core, a test file per worker,
# files in collection order: tests/crash, deploy and e2e, the longest, start first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120

# Browser and office checks use Debian's Chromium and LibreOffice (never a downloaded build).
if ! command -v chromium >/dev/null || ! command -v soffice >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libreoffice-calc-nogui >/dev/null
  else
    echo "note: chromium or soffice missing and not root: browser/office tests will be skipped" >&2
  fi
fi

python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q uv
rc=0
python3 -m uv run --frozen pytest -n auto --dist loadfile --no-loadscope-reorder "$@" || rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
