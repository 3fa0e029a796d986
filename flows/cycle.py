"""Deployment entry point: serve the improvement-cycle flow (``python flows/cycle.py CONFIG``)."""

from __future__ import annotations

import sys

from improve.orchestration.flows import cycle_flow

if __name__ == "__main__":
    config = sys.argv[1] if len(sys.argv) > 1 else "config/demo.yaml"
    cycle_flow.serve(name="improve-cycle", parameters={"config_path": config})
