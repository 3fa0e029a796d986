"""Business-hours first response and resolution on a working calendar with mainland China's
holidays and make-up working days."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from improve.data.business import add_business_hours
from improve.data.canonical import TICKETS, load_canonical
from improve.data.kpis import compute_kpis
from improve.domain.programme import BusinessHours, DataSource

HEADER = "ticket_id,created_at,first_response_at,resolved_at,channel,category,team"


def _kpis(tmp_path: Path, line: str, hours: BusinessHours | None) -> dict[str, object]:
    path = tmp_path / "t.csv"
    path.write_text(f"{HEADER}\n{line}\n", encoding="utf-8")
    con = duckdb.connect()
    load_canonical(con, TICKETS, DataSource(path=str(path)), base_dir=tmp_path)
    if hours is not None:
        add_business_hours(con, hours)
    [row] = compute_kpis(con, grain="window")
    return row


@pytest.mark.parametrize(
    ("created", "first", "resolved", "frt", "res_h"),
    [
        # Friday 17:00 to Monday 10:00: an hour on each working day.
        ("2025-03-07 17:00", "2025-03-10 10:00", "2025-03-10 18:00", 120, 10),
        # Created at night, answered before opening: no working time has passed.
        ("2025-03-10 22:00", "2025-03-11 08:30", "2025-03-11 09:30", 0, 0.5),
        # Spring Festival 2026: Saturday 14 February is a make-up working day, 16-23 are off.
        ("2026-02-13 17:00", "2026-02-24 10:00", "2026-02-24 10:00", 660, 11),
    ],
)
def test_working_minutes(
    tmp_path: Path, created: str, first: str, resolved: str, frt: float, res_h: float
) -> None:
    row = _kpis(tmp_path, f"1,{created},{first},{resolved},web,c,t", BusinessHours())
    assert row["frt_median_min"] == pytest.approx(frt)
    assert row["resolution_median_h"] == pytest.approx(res_h)


def test_calendar_time_without_a_calendar(tmp_path: Path) -> None:
    row = _kpis(tmp_path, "1,2025-03-07 17:00,2025-03-10 10:00,,web,c,t", None)
    assert row["frt_median_min"] == pytest.approx(65 * 60)


def test_seven_day_desk_without_holidays(tmp_path: Path) -> None:
    hours = BusinessHours(
        start="08:00", end="20:00", weekdays=(0, 1, 2, 3, 4, 5, 6), holidays="none"
    )
    row = _kpis(tmp_path, "1,2026-02-16 19:00,2026-02-17 09:00,,web,c,t", hours)
    assert row["frt_median_min"] == pytest.approx(120)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": 540}, "quote it"),
        ({"start": "18:00", "end": "09:00"}, "open before"),
        ({"start": "9h"}, "not a time of day; write it as HH:MM"),
        ({"weekdays": (7,)}, "0 \\(Monday\\) to 6"),
    ],
)
def test_bad_business_hours(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessHours.model_validate(data)
