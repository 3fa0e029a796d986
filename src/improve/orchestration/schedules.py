"""The programme's unattended cadence as Prefect deployments: the weekly review on the
programme's cron and time zone (Monday 09:00 Asia/Shanghai by default). `improve serve`
serves them on one machine; prefect.yaml deploys the same flows to a process work pool."""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from improve.config import load_programme
from improve.orchestration.flows import artifact_key, weekly_review_flow


def weekly_deployment_name(programme_key: str) -> str:
    """The weekly review deployment's name for a programme."""
    return artifact_key(programme_key, "weekly-review")


def deployments(config_path: Path, *, data_root: Path | None = None) -> list[RunnerDeployment]:
    """The programme's scheduled deployments, each with its cron in the programme's time
    zone and the programme file as its parameter."""
    programme = load_programme(config_path)
    parameters: dict[str, str] = {"config_path": str(config_path.resolve())}
    if data_root is not None:
        parameters["data_root"] = str(data_root.resolve())
    weekly = weekly_review_flow.to_deployment(
        name=weekly_deployment_name(programme.key),
        schedules=[Cron(programme.review.weekly, timezone=programme.timezone)],
        parameters=parameters,
        description=f"周例会 / weekly review of {programme.key}, the last complete week",
        tags=["improve", programme.key],
    )
    assert isinstance(weekly, RunnerDeployment)  # called outside an event loop: not awaitable
    return [weekly]


def serve_programme(config_path: Path, *, data_root: Path | None = None) -> None:
    """Serve the programme's deployments from this process until it is stopped."""
    serve(*deployments(config_path, data_root=data_root))
