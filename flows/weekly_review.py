"""Deployment entry point of the weekly review (prefect.yaml's entrypoint, or
``python flows/weekly_review.py CONFIG`` to serve it with the programme's schedule)."""

from __future__ import annotations

import sys
from pathlib import Path

from improve.orchestration.flows import weekly_review_flow
from improve.orchestration.schedules import serve_programme

weekly_review = weekly_review_flow

if __name__ == "__main__":
    serve_programme(Path(sys.argv[1] if len(sys.argv) > 1 else "config/demo.yaml"))
