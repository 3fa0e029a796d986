"""`improve diagnose`: a programme's baseline or a bare export, problems in priority order with
segment, root cause, start week, share of the gap, impact, feasibility and evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from improve.cli.app import app
from improve.config import demo_programme_path
from improve.data.sample import SampleFiles

KEYS = {
    "id", "priority", "kpi", "segment", "root_cause", "started", "gap",
    "share_of_gap_explained", "impact", "feasibility", "confidence", "evidence",
}  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMPROVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IMPROVE_DATABASE_URL", f"sqlite:///{tmp_path / 'home' / 'db.sqlite'}")
    return tmp_path


def _json(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["diagnose", *args, "--json"])
    assert result.exit_code == 0, result.output
    problems: list[dict[str, Any]] = json.loads(result.stdout)
    return problems


def test_the_programme_diagnosis_finds_the_planted_problems(home: Path, sample_root: Path) -> None:
    problems = _json(str(demo_programme_path()), "--data-root", str(sample_root))
    assert problems and all(set(p) == KEYS for p in problems)
    assert [p["priority"] for p in problems] == list(range(1, len(problems) + 1))
    found = {(p["root_cause"], *next(iter(p["segment"].items()))) for p in problems}
    assert ("process", "category", "账单与退款") in found
    assert ("tools", "channel", "web") in found
    assert ("resources", "team", "一线客服组") in found
    people = [p for p in problems if p["root_cause"] == "people"]
    assert people and "agent" in people[0]["segment"]
    for p in problems:
        assert 0 <= p["impact"] <= 1 and 0 <= p["feasibility"] <= 1 and p["evidence"]
        # contributions of one dimension add up to 1; a segment may explain more than the
        # whole gap when others are better than the reference
        assert p["share_of_gap_explained"] > 0
    resources = next(p for p in problems if p["root_cause"] == "resources")
    assert resources["started"] is not None  # front-line load grows through the year


def test_a_bare_export_is_diagnosed_with_defaults_and_reported(
    home: Path, sample_files: SampleFiles
) -> None:
    out = home / "report"
    result = CliRunner().invoke(
        app, ["diagnose", "--data", str(sample_files.tickets), "--out", str(out), "--locale", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "problem(s)" in result.output
    book = openpyxl.load_workbook(out / "diagnose.xlsx")
    assert "Control charts and shifts" in book.sheetnames
    page = (out / "diagnose.html").read_text(encoding="utf-8")
    assert "control-0" in page and (out / "plotly.min.js").exists()
    problems = _json("--data", str(sample_files.tickets))
    assert problems and problems[0]["priority"] == 1


@pytest.mark.parametrize("args", [[], ["x.yaml", "--data", "t.csv"]])
def test_a_programme_or_an_export_is_needed(args: list[str], home: Path) -> None:
    result = CliRunner().invoke(app, ["diagnose", *args])
    assert result.exit_code == 2
    assert "give a programme definition or --data FILE" in result.output
