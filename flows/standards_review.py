"""Deployment entry point of the quarterly review reminder of a programme's service standards
(prefect.yaml's entrypoint; ``improve serve CONFIG`` serves it with the other schedules)."""

from __future__ import annotations

from improve.orchestration.standards import standards_review_reminder_flow

standards_review = standards_review_reminder_flow
