"""Deployment entry point of the monthly retrospective (prefect.yaml's entrypoint; serve the
programme's schedules with ``python flows/weekly_review.py CONFIG`` or `improve serve`)."""

from __future__ import annotations

from improve.orchestration.flows import monthly_retrospective_flow

monthly_retrospective = monthly_retrospective_flow
