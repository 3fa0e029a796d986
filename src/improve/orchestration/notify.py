"""The Prefect notification hook: a team names a notification block (Slack, Microsoft Teams,
e-mail, a custom webhook ...) in `notifications.block`, and the weekly digest and failed
runs are sent through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.core import Block

from improve.config import load_programme
from improve.errors import ConfigError, ImproveError


def load_block(slug: str) -> NotificationBlock:
    """The notification block `slug` (type-slug/name) from the Prefect server; ConfigError
    saying how to create it when it is missing or is not a notification block."""
    try:
        block = Block.load(slug)
    except ValueError as exc:
        raise ConfigError(
            f"notifications.block {slug!r} is not on the Prefect server ({exc}); create it "
            "in the Prefect UI (Blocks) or with Python (e.g. SlackWebhook(url=...).save(...)), "
            "or remove notifications.block from the programme file"
        ) from None
    if not isinstance(block, NotificationBlock):
        raise ConfigError(
            f"notifications.block {slug!r} is a {type(block).__name__}, not a notification "
            "block; name a Slack, Teams, e-mail or custom webhook block"
        )
    return block


def send(slug: str, subject: str, body: str) -> None:
    """Send one message through the block."""
    block: Any = load_block(slug)  # typed async; called from sync code it runs at once
    block.notify(body=body, subject=subject)


def announce_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure hook of the review, digest and reminder flows: tell the programme's team,
    when it configured a block and wants failures; never raises (a hook's error would hide
    the run's own)."""
    logger = get_run_logger()
    config = (flow_run.parameters or {}).get("config_path")
    try:
        programme = load_programme(Path(config)) if config else None
    except (ImproveError, OSError) as exc:
        logger.warning("failure not announced: the programme file does not load (%s)", exc)
        return
    if programme is None or not programme.notifications.block:
        return
    if not programme.notifications.failures:
        return
    subject = f"improve: {flow.name} {flow_run.name} of {programme.key} failed"
    body = (
        f"{subject}\n\n{state.message or state.name}\n\n"
        f"Flow run {flow_run.id}; see its logs in the Prefect UI, fix the cause and run it again."
    )
    try:
        send(programme.notifications.block, subject, body)
    except Exception as exc:  # any delivery error: log it and keep the run's own
        logger.warning("failure not announced through %s: %s", programme.notifications.block, exc)
