"""Deployment entry point of the improvement cycle with its stage gates (prefect.yaml's
entrypoint, or ``python flows/cycle.py CONFIG`` to serve it): the run suspends at each gate
for the reviewers' decisions, typed into the Prefect UI or sent through the API."""

from __future__ import annotations

import sys

from improve.orchestration.flows import gated_cycle_flow

cycle = gated_cycle_flow

if __name__ == "__main__":
    config = sys.argv[1] if len(sys.argv) > 1 else "config/demo.yaml"
    gated_cycle_flow.serve(name="improve-cycle", parameters={"config_path": config})
