"""The next cycle: its key and dates, the programme file rewritten in place, and what the
previous cycle carries into the new diagnosis."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.chain import Chain

from improve.config import demo_programme_path, load_programme
from improve.config_edit import write_next_cycle
from improve.domain.calendar import WorkCalendar
from improve.domain.programme import Programme
from improve.errors import StageError
from improve.stages.next_cycle import carried_items, next_cycle_settings, next_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [("2026-H1", "2026-H2"), ("2026-H2", "2027-H1"), ("2026-Q3", "2026-Q4"),
     ("2026-Q4", "2027-Q1"), ("pilot-east", None)],
)  # fmt: skip
def test_next_key(key: str, expected: str | None) -> None:
    assert next_key(key) == expected


def test_the_next_cycle_starts_the_day_after_the_deadline(
    programme: Programme, calendar: WorkCalendar
) -> None:
    following = next_cycle_settings(programme.cycle, calendar)
    assert following.key == "2026-H2" and following.carried_from == "2026-H1"
    assert following.diagnosis_date == date(2026, 7, 1)
    assert following.deadline == date(2026, 12, 31)  # as long as the first: six months
    # The first was planned four days after its diagnosis; 2026-07-05 is a Sunday.
    assert following.plan_start == date(2026, 7, 6)
    assert following.baseline_months == programme.cycle.baseline_months
    assert following.targets == () and following.withdrawn is None


def test_a_cycle_name_without_a_pattern_needs_a_key(
    programme: Programme, calendar: WorkCalendar
) -> None:
    odd = programme.cycle.model_copy(update={"key": "launch"})
    with pytest.raises(StageError, match="pass --key"):
        next_cycle_settings(odd, calendar)
    assert next_cycle_settings(odd, calendar, key="launch-2").key == "launch-2"
    with pytest.raises(StageError, match="new key"):
        next_cycle_settings(odd, calendar, key="launch")


def test_the_programme_file_changes_only_in_its_cycle_block(
    tmp_path: Path, programme: Programme, calendar: WorkCalendar
) -> None:
    path = tmp_path / "demo.yaml"
    original = demo_programme_path().read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    following = next_cycle_settings(programme.cycle, calendar)
    write_next_cycle(path, following, today=date(2026, 12, 1))
    assert load_programme(path).cycle == following
    text = path.read_text(encoding="utf-8")
    before, after = original.split("\ncycle:")[0], text.split("\ncycle:")[0]
    assert after.startswith(before)  # everything above, comments included, is unchanged
    assert original.split("\nscorecards:")[1] == text.split("\nscorecards:")[1]
    # A second move replaces the note of the first rather than piling them up.
    third = next_cycle_settings(following, calendar)
    write_next_cycle(path, third, today=date(2027, 1, 1))
    assert load_programme(path).cycle.key == "2027-H1"
    assert path.read_text(encoding="utf-8").count("`improve cycle next`") == 1
    assert not [p for p in tmp_path.iterdir() if p.name != "demo.yaml"]  # no temporary left


def test_carried_items_are_matched_to_the_new_problems(chain: Chain) -> None:
    previous = chain.optimisation
    items = carried_items(previous, chain.diagnosis.problems)
    kinds = {i.kind for i in items}
    assert {"unmet_target", "incomplete_task", "lesson"} <= kinds
    for item in items:
        assert item.from_cycle == "2026-H1"
        if item.kpi is None:
            assert item.status == "open" and item.problem_ids == ()
        else:
            same = {p.id for p in chain.diagnosis.problems if p.kpi == item.kpi}
            assert set(item.problem_ids) == same
            assert item.status == ("found_again" if same else "not_found_again")
    assert sum(i.kind == "lesson" for i in items) == len(previous.lessons)
