"""The programme's schedules as `improve serve` serves them: cron and time zone from the
programme definition, the programme file as the flow's parameter."""

from __future__ import annotations

from pathlib import Path

from improve.config import demo_programme_path
from improve.orchestration.schedules import deployments


def test_the_weekly_review_follows_the_programmes_cron_and_time_zone(tmp_path: Path) -> None:
    text = demo_programme_path().read_text(encoding="utf-8")
    config = tmp_path / "p.yaml"
    config.write_text(
        text.replace('weekly: "0 9 * * 1"', 'weekly: "30 8 * * 2"').replace(
            "timezone: Asia/Shanghai", "timezone: Asia/Hong_Kong"
        ),
        encoding="utf-8",
    )
    weekly, monthly = deployments(config, data_root=tmp_path)
    assert weekly.name == "demo-weekly-review"
    [schedule] = weekly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 8 * * 2", "Asia/Hong_Kong")
    assert weekly.parameters == {
        "config_path": str(config), "data_root": str(tmp_path), "catch_up": True,
    }  # fmt: skip
    assert monthly.name == "demo-monthly-retrospective"
    [month] = monthly.schedules
    assert (month.schedule.cron, month.schedule.timezone) == ("0 9 1-7 * 1-5", "Asia/Hong_Kong")
    assert monthly.parameters["scheduled"] is True
