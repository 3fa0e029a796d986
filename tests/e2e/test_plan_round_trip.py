"""Targets and the plan from the command line, and the plan workbook's editing round trip:
stakeholders edit dates, owners and RACI letters; a plan breaking the rules is refused with
every error located and nothing stored; a good one becomes the next version with its diff;
the same file twice stores nothing; LibreOffice opens, edits and saves the workbook."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from tests.e2e.conftest import require_binary
from tests.e2e.test_cli import _improve, _isolated_env

from improve.config import demo_programme_path
from improve.reports.planbook import COL_END, COL_OWNER, COL_START

pytestmark = pytest.mark.slow


def _rows(ws: Worksheet) -> dict[str, int]:
    """Task id -> row, from column A (the RACI sheet's column A reads 'id name')."""
    return {
        str(ws.cell(r, 1).value).split(" ")[0]: r
        for r in range(5, ws.max_row + 1)
        if ws.cell(r, 1).value and "/" in str(ws.cell(r, 1).value)
    }


@pytest.fixture(scope="module")
def planned(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A store holding the sample's diagnosis, targets and plan, all approved."""
    home = tmp_path_factory.mktemp("plan")
    env = _isolated_env(home)
    config, root = str(demo_programme_path()), str(sample_root)
    for stage in ("diagnose", "target", "design"):
        ran = _improve("run", config, "--data-root", root, "--stage", stage, "--auto-approve",
                       env=env)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
    return home, env


def test_targets_json_lists_smart_targets_with_their_cascade(planned: tuple[Path, dict]) -> None:
    _, env = planned
    shown = _improve("targets", str(demo_programme_path()), "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["version"] == 1 and data["status"] == "approved"
    for t in data["targets"]:
        assert t["smart_passed"] and t["problem_ids"] and t["deadline"] == "2026-06-30"
        assert t["cascade"]["holds"], t["cascade"]
        assert {s["department"] for s in t["sub_targets"]} == {"cs", "tech", "ops"}
        assert abs(sum(s["responsibility"] for s in t["sub_targets"]) - 1) < 1e-3
    human = _improve("targets", str(demo_programme_path()), env=env)
    assert human.returncode == 0 and "SMART" in human.stdout


def test_plan_json_has_every_field_of_the_contract(planned: tuple[Path, dict]) -> None:
    _, env = planned
    shown = _improve("plan", str(demo_programme_path()), "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["version"] == 1 and data["overallocations"] == []
    fields = {"id", "name", "owner", "start", "end", "depends_on", "critical", "slack_days", "raci"}
    for task in data["tasks"]:
        assert fields <= set(task)
        assert (
            list(task["raci"].values()).count("A") + sum("A/" in v for v in task["raci"].values())
            == 1
        )
        start = date.fromisoformat(task["start"])
        for before in task["depends_on"]:
            pred = next(t for t in data["tasks"] if t["id"] == before)
            assert date.fromisoformat(pred["end"]) < start
    assert any(t["critical"] for t in data["tasks"])
    assert all(t["slack_days"] == 0 for t in data["tasks"] if t["critical"])


def test_edited_plan_round_trip(planned: tuple[Path, dict], tmp_path: Path) -> None:
    home, env = planned
    config = str(demo_programme_path())
    book_path = tmp_path / "plan.xlsx"
    wrote = _improve("plan", config, "--out", str(book_path), env=env)
    assert wrote.returncode == 0, wrote.stderr

    # A deliberate over-allocation, a RACI row with two A's and a task moved onto a holiday.
    book = load_workbook(book_path)
    gantt, raci = book["甘特图"], book["责任矩阵"]
    g, r = _rows(gantt), _rows(raci)
    gantt.cell(g["remove-handoffs/trial"], COL_OWNER).value = "周杰"
    gantt.cell(g["skills-training/curriculum"], COL_OWNER).value = "周杰"
    gantt.cell(g["smart-service/launch-training"], COL_START).value = date(2026, 2, 17)
    row = r["remove-handoffs/map"]
    second_a = next(c for c in range(2, 6) if raci.cell(row, c).value in ("C", "I"))
    raci.cell(row, second_a).value = "A"
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    refused = _improve("plan", "import", str(bad), "--config", config, env=env)
    assert refused.returncode == 1
    assert "3 problem(s); nothing was stored" in refused.stderr
    start_cell = f"E{g['smart-service/launch-training']}"
    assert f"sheet 甘特图, cell {start_cell} (start)" in refused.stderr
    assert "2026-02-17 (Tuesday), a day off" in refused.stderr
    a_cells = [f"{'ABCDE'[c - 1]}{row}" for c in range(2, 6) if raci.cell(row, c).value == "A"]
    assert len(a_cells) == 2 and "2 Accountable" in refused.stderr
    assert any(f"sheet 责任矩阵, cell {cell} (RACI" in refused.stderr for cell in a_cells)
    assert f"cell C{g['remove-handoffs/trial']} (owner)" in refused.stderr  # the later edit
    assert "周杰 is booked 150% of full time from 2026-01-19 to 2026-01-21" in refused.stderr
    status = json.loads(_improve("status", "--json", env=env).stdout)
    assert status[0]["stages"][2]["version"] == 1  # nothing stored

    # A good edit, saved by LibreOffice as stakeholders would: moves a task within its slack,
    # hands another to a colleague with the same role, marks a department consulted.
    book = load_workbook(book_path)
    gantt, raci = book["甘特图"], book["责任矩阵"]
    gantt.cell(g["capacity/rota"], COL_START).value = "2026-01-21"
    gantt.cell(g["capacity/rota"], COL_END).value = date(2026, 1, 27)
    gantt.cell(g["remove-handoffs/trial"], COL_OWNER).value = "周杰"
    informed = next(c for c in range(2, 6) if raci.cell(r["capacity/hiring"], c).value == "I")
    raci.cell(r["capacity/hiring"], informed).value = "C"
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    good = _through_libreoffice(edited, tmp_path) if shutil.which("soffice") else edited
    # without --config: the programme stored with the plan is used
    imported = _improve("plan", "import", str(good), "--json", env=env)
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["created"] and result["version"] == 2 and result["status"] == "pending"
    changed = {(c["task_id"], c["field"]): (c["before"], c["after"]) for c in result["changes"]}
    raci_field = next(k for k in changed if k[1].startswith("raci:"))
    assert changed == {
        ("capacity/rota", "start"): ("2026-01-14", "2026-01-21"),
        ("capacity/rota", "end"): ("2026-01-20", "2026-01-27"),
        ("remove-handoffs/trial", "owner"): ("吴芳", "周杰"),
        raci_field: ("I", "C"),
    }
    plan = json.loads(_improve("plan", config, "--json", env=env).stdout)
    rota = next(t for t in plan["tasks"] if t["id"] == "capacity/rota")
    assert plan["revised_from"] == 1 and rota["slack_days"] == 23 - 5
    again = _improve("plan", "import", str(good), "--config", config, "--json", env=env)
    assert json.loads(again.stdout)["created"] is False
    # The published workbook is the new version's, and a rerun of the design stage keeps
    # the stakeholders' edits instead of designing afresh.
    published = load_workbook(home / "reports" / "demo" / "2026-H1" / "design.xlsx")
    assert published["_meta"]["B4"].value == 2
    rerun = _improve("run", config, "--stage", "design", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "design    demo/2026-H1/design v2  unchanged" in rerun.stdout


def _through_libreoffice(path: Path, tmp_path: Path) -> Path:
    """`path` opened and saved again as .xlsx by headless LibreOffice."""
    soffice = require_binary("soffice")
    out = tmp_path / "lo"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = out / path.name
    assert saved.exists(), result.stdout + result.stderr
    return saved


def test_progress_round_trip(planned: tuple[Path, dict], tmp_path: Path) -> None:
    """Owners fill in the week's progress workbook; the import stores it once, and a file
    with an impossible percentage is refused at its cell with nothing stored."""
    from improve.reports.progressbook import COL_BLOCKER, COL_PERCENT, COL_STATUS

    _, env = planned
    config = str(demo_programme_path())
    path = tmp_path / "progress.xlsx"
    wrote = _improve("progress", "write", config, "--as-of", "2026-01-19", "--out", str(path),
                     env=env)  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr
    book = load_workbook(path)
    ws = book.worksheets[0]
    rows = _rows(ws)
    ws.cell(rows["capacity/forecast"], COL_PERCENT).value = 100
    ws.cell(rows["capacity/hiring"], COL_PERCENT).value = 30
    ws.cell(rows["capacity/hiring"], COL_STATUS).value = "受阻"
    ws.cell(rows["capacity/hiring"], COL_BLOCKER).value = "招聘预算待批"
    book.save(path)
    first = _improve("progress", "import", str(path), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"as_of": "2026-01-19", "reported": 2, "stored": 2}
    again = _improve("progress", "import", str(path), "--config", config, "--json", env=env)
    assert json.loads(again.stdout)["stored"] == 0
    ws.cell(rows["capacity/hiring"], COL_PERCENT).value = 130
    book.save(path)
    bad = _improve("progress", "import", str(path), "--json", env=env)
    assert bad.returncode == 1
    assert f"cell J{rows['capacity/hiring']} (% complete): 130 is impossible" in bad.stderr
    # the next week's workbook shows what was reported
    nxt = tmp_path / "next.xlsx"
    _improve("progress", "write", config, "--as-of", "2026-01-26", "--out", str(nxt), env=env)
    shown = load_workbook(nxt).worksheets[0]
    assert shown.cell(_rows(shown)["capacity/hiring"], 8).value == 30
