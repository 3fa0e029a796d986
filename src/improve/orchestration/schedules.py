"""The programme's unattended cadence as Prefect deployments: the weekly review on the
programme's cron and time zone (Monday 09:00 Asia/Shanghai by default), and the monthly
retrospective on weekdays 1-7 at 09:00, running only on the month's first working day.
`improve serve` serves them on one machine; prefect.yaml deploys the same flows to a process
work pool."""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from improve.config import load_programme
from improve.orchestration.flows import (
    artifact_key,
    monthly_retrospective_flow,
    weekly_review_flow,
)
from improve.orchestration.standards import STANDARDS_REVIEW_CRON, standards_review_reminder_flow


def weekly_deployment_name(programme_key: str) -> str:
    """The weekly review deployment's name for a programme."""
    return artifact_key(programme_key, "weekly-review")


def deployments(config_path: Path, *, data_root: Path | None = None) -> list[RunnerDeployment]:
    """The programme's scheduled deployments, each with its cron in the programme's time
    zone and the programme file as its parameter."""
    programme = load_programme(config_path)
    # a scheduled run first catches up every period the scheduler missed
    parameters: dict[str, str | bool] = {
        "config_path": str(config_path.resolve()),
        "catch_up": True,
    }
    if data_root is not None:
        parameters["data_root"] = str(data_root.resolve())
    weekly = weekly_review_flow.to_deployment(
        name=weekly_deployment_name(programme.key),
        schedules=[Cron(programme.review.weekly, timezone=programme.timezone)],
        parameters=parameters,
        description=f"周例会 / weekly review of {programme.key}, the last complete week",
        tags=["improve", programme.key],
    )
    monthly = monthly_retrospective_flow.to_deployment(
        name=artifact_key(programme.key, "monthly-retrospective"),
        schedules=[Cron(programme.review.monthly, timezone=programme.timezone)],
        parameters={**parameters, "scheduled": True},
        description=f"月度复盘 / monthly retrospective of {programme.key}, on the first "
        "working day of the month",
        tags=["improve", programme.key],
    )
    # called outside an event loop, to_deployment returns the deployment, not an awaitable
    assert isinstance(weekly, RunnerDeployment) and isinstance(monthly, RunnerDeployment)
    return [weekly, monthly]


def standards_deployment(config_path: Path) -> RunnerDeployment:
    """The quarterly review reminder of the programme's service standards, on the first day
    of each quarter at 09:00 in the programme's time zone."""
    programme = load_programme(config_path)
    reminder = standards_review_reminder_flow.to_deployment(
        name=artifact_key(programme.key, "standards-review"),
        schedules=[Cron(STANDARDS_REVIEW_CRON, timezone=programme.timezone)],
        parameters={"config_path": str(config_path.resolve())},
        description=f"服务标准季度回顾提醒 / quarterly review reminder of {programme.key}'s "
        "service standards",
        tags=["improve", programme.key],
    )
    assert isinstance(reminder, RunnerDeployment)
    return reminder


def serve_programme(config_path: Path, *, data_root: Path | None = None) -> None:
    """Serve the programme's deployments from this process until it is stopped."""
    serve(*deployments(config_path, data_root=data_root), standards_deployment(config_path))
