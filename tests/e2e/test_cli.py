"""The `improve` command end to end: kpis, errors as one line, the stage gate with approve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.prefect_server import shared_api
from typer.testing import CliRunner

from improve.cli.app import app
from improve.config import demo_programme_path
from improve.data.sample import SampleFiles


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("IMPROVE_DEBUG", raising=False)
    monkeypatch.setenv("IMPROVE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_kpis_prints_a_table(runner: CliRunner, sample_files: SampleFiles) -> None:
    result = runner.invoke(app, ["kpis", str(sample_files.tickets), "--dims", "channel"])
    assert result.exit_code == 0, result.output
    assert "2025-01-01" in result.output and "web" in result.output


def test_kpis_with_a_programme_adds_nps(
    runner: CliRunner, sample_files: SampleFiles, sample_root: Path
) -> None:
    config = sample_root / "demo.yaml"
    config.write_text(demo_programme_path().read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(
        app, ["kpis", str(sample_files.tickets), "--config", str(config), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert all(r["nps"] is not None and -100 <= r["nps"] <= 100 for r in rows)


def test_bad_input_is_one_red_line_and_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ticket_id,created_at,channel,category,team\n1,soon,web,c,t\n", encoding="utf-8")
    result = runner.invoke(app, ["kpis", str(bad)])
    assert result.exit_code == 1
    assert "error:" in result.output and f"{bad}:2, column 'created_at'" in result.output
    assert "Traceback" not in result.output


def test_unknown_dimension_and_stage_are_refused(
    runner: CliRunner, sample_files: SampleFiles
) -> None:
    result = runner.invoke(app, ["kpis", str(sample_files.tickets), "--dims", "colour"])
    assert result.exit_code == 1 and "unknown dimension 'colour'" in result.output
    result = runner.invoke(app, ["run", str(demo_programme_path()), "--stage", "plan"])
    assert result.exit_code == 2


def test_status_on_an_empty_store(runner: CliRunner) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "improve demo" in runner.invoke(app, ["status"]).output


def _improve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "improve", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess with its own store, reports and Prefect home, its
    flow runs on the test process's Prefect server (tests/prefect_server.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPROVE_", "PREFECT_"))}
    env.update(
        IMPROVE_DATABASE_URL=f"sqlite:///{tmp_path / 'improve.db'}",
        IMPROVE_ARTIFACTS_DIR=str(tmp_path / "reports"),
        PREFECT_HOME=str(tmp_path / ".prefect"),
        PREFECT_API_URL=shared_api(),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    return env


@pytest.mark.slow
def test_run_stops_at_the_gate_until_approved(sample_root: Path, tmp_path: Path) -> None:
    env = _isolated_env(tmp_path)
    config = str(demo_programme_path())
    first = _improve("run", config, "--data-root", str(sample_root), env=env)
    assert first.returncode == 0, first.stderr
    assert "Stage gate" in first.stdout and "demo/2026-H1/diagnose" in first.stdout

    refused = _improve("approve", "demo/2026-H1/diagnose", "--as", "路人", env=env)
    assert refused.returncode == 1 and "'路人' may not decide" in refused.stderr
    early = _improve("approve", "demo/2026-H1/diagnose", "--as", "赵总", "--level", "final",
                     env=env)  # fmt: skip
    assert early.returncode == 1 and "not ready for the final sign-off" in early.stderr
    author = _improve("approve", "demo/2026-H1/diagnose", "--as", "王敏", env=env)
    assert author.returncode == 0 and "approved by 王敏" in author.stdout
    assert "next: the cross-department review (二审) by 李娜, 张伟, 陈静, 刘洋" in author.stdout
    for head in ("李娜", "张伟", "陈静", "刘洋"):
        assert _improve("approve", "demo/2026-H1/diagnose", "--as", head, env=env).returncode == 0
    final = _improve("approve", "demo/2026-H1/diagnose", "--as", "赵总", env=env)
    assert final.returncode == 0 and "status: approved" in final.stdout

    second = _improve("run", config, "--data-root", str(sample_root), "--stage", "target", env=env)
    assert second.returncode == 0, second.stderr
    status = json.loads(_improve("status", "--json", env=env).stdout)
    assert [s["status"] for s in status[0]["stages"][:3]] == ["approved", "pending", None]
    assert (tmp_path / "reports" / "demo" / "2026-H1" / "target.xlsx").exists()


@pytest.mark.slow
def test_the_root_cause_worksheet_round_trip(sample_root: Path, tmp_path: Path) -> None:
    """Diagnose, hand out the worksheet, import it filled in: the diagnosis gets a new version
    with the answers; the same file again changes nothing; a badly filled one is refused with
    located errors and nothing stored."""
    from openpyxl import load_workbook

    from improve.reports.worksheet import ROW_CATEGORY, ROW_DATE, ROW_REVIEWER, ROW_WHY

    env = _isolated_env(tmp_path)
    config, root = str(demo_programme_path()), str(sample_root)
    ran = _improve("run", config, "--data-root", root, "--stage", "diagnose", env=env)
    assert ran.returncode == 0, ran.stderr
    # Publishing the diagnosis put the worksheet beside the reports.
    assert (tmp_path / "reports" / "demo" / "2026-H1" / "diagnose-worksheet.xlsx").exists()
    sheet = tmp_path / "rc.xlsx"
    wrote = _improve("rootcause", "write", config, "--out", str(sheet), env=env)
    assert wrote.returncode == 0, wrote.stderr

    book = load_workbook(sheet)
    web = next(n for n in book.sheetnames if book[n]["B4"].value == "tools/channel/web")
    ws = book[web]
    ws[f"B{ROW_CATEGORY}"], ws[f"B{ROW_REVIEWER}"], ws[f"B{ROW_DATE}"] = (
        "工具",
        "刘洋",
        "2026-01-12",
    )
    ws[f"B{ROW_WHY}"] = "网页表单缺少字段"
    book.save(sheet)
    imported = _improve("rootcause", "import", str(sheet), "--config", config,
                        "--data-root", root, "--json", env=env)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["added"] == 1 and result["diagnosis"]["version"] == 2
    again = _improve("rootcause", "import", str(sheet), "--config", config,
                     "--data-root", root, "--json", env=env)  # fmt: skip
    assert json.loads(again.stdout)["added"] == 0

    ws[f"B{ROW_WHY + 2}"] = "跳过了为什么 2"
    ws[f"B{ROW_CATEGORY}"] = "设备"
    book.save(sheet)
    bad = _improve("rootcause", "import", str(sheet), "--config", config, env=env)
    assert bad.returncode == 1
    assert f"sheet {web}, cell B{ROW_CATEGORY} (confirmed category)" in bad.stderr
    assert f"sheet {web}, cell B{ROW_WHY + 1} (why 2)" in bad.stderr
    status = json.loads(_improve("status", "--json", env=env).stdout)
    assert status[0]["stages"][0]["version"] == 2  # nothing new from the refused file


def test_pilot_evaluate_json_per_kpi(runner: CliRunner, sample_root: Path) -> None:
    config = str(demo_programme_path())
    args = ["pilot", "evaluate", config, "--data-root", str(sample_root), "--json"]
    result = runner.invoke(app, [*args, "--pilot", "east-assistant"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "roll_out"
    for kpi in data["kpis"]:
        assert {"effect", "ci_low", "ci_high", "p_value", "verdict", "power", "test"} <= set(kpi)
        assert kpi["verdict"] == "roll_out" and kpi["p_value"] < 0.05
    unknown = runner.invoke(app, [*args, "--pilot", "south"])
    assert unknown.exit_code == 1 and "has no pilot 'south'" in unknown.output


@pytest.mark.slow
def test_review_commands(sample_root: Path, tmp_path: Path) -> None:
    """`improve review weekly|monthly` run their flows and print JSON; a bad period is a
    usage error; the same month again stores nothing."""
    env = _isolated_env(tmp_path)
    config, root = str(demo_programme_path()), str(sample_root)
    ran = _improve("run", config, "--data-root", root, "--auto-approve", "--stage", "diagnose",
                   env=env)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    for stage in ("target", "design"):
        assert _improve("run", config, "--data-root", root, "--auto-approve", "--stage", stage,
                        env=env).returncode == 0  # fmt: skip
    monthly = _improve("review", "monthly", config, "--data-root", root, "--period", "2026-02",
                       "--json", env=env)  # fmt: skip
    assert monthly.returncode == 0, monthly.stderr
    data = json.loads(monthly.stdout)
    assert data["created"] and data["period"] == "2026-02" and data["kind"] == "monthly"
    assert {"deviations", "forecasts", "shifts", "risks", "scorecards"} <= set(data)
    again = _improve("review", "monthly", config, "--data-root", root, "--period", "2026-02",
                     "--json", env=env)  # fmt: skip
    assert json.loads(again.stdout)["created"] is False
    bad = _improve("review", "weekly", config, "--period", "2026-7", env=env)
    words = " ".join(bad.stderr.replace("│", " ").split())
    assert bad.returncode == 2 and "'2026-7' is not an ISO week" in words, words
