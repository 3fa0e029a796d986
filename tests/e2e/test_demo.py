"""`improve demo` leaves six workbooks, six stage pages and an index that LibreOffice and
Chromium open cleanly, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import require_binary

STAGES = ("diagnose", "target", "design", "execute", "evaluate", "optimise")
pytestmark = pytest.mark.slow


def test_demo_writes_every_report(demo_reports: Path) -> None:
    for stage in STAGES:
        assert (demo_reports / f"{stage}.xlsx").stat().st_size > 0
        assert (demo_reports / f"{stage}.html").stat().st_size > 0
    index = (demo_reports / "index.html").read_text(encoding="utf-8")
    for stage in STAGES:
        assert f"{stage}.html" in index
    assert (demo_reports / "plotly.min.js").stat().st_size > 1_000_000
    portal = demo_reports.parent.parent / "portal"
    assert (portal / "en" / "demo" / "2026-H1" / "optimise.html").exists()
    assert (portal / "zh-CN" / "index.html").exists()
    for page in demo_reports.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "cdn.plot.ly" not in text and "https://" not in text.split("</head>")[0]


def test_demo_status_shows_six_approved_stages(demo_out: Path) -> None:
    env = dict(os.environ, IMPROVE_DATABASE_URL=f"sqlite:///{demo_out / 'improve.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "improve", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    [cycle] = json.loads(result.stdout)
    assert [s["status"] for s in cycle["stages"]] == ["approved"] * 6


def test_evaluate_json_per_target(demo_out: Path) -> None:
    """`improve evaluate CONFIG --json`: per target baseline, target, actual, achievement,
    significance and interval; the overall score, grade and outcome."""
    from improve.config import demo_programme_path

    env = dict(
        os.environ,
        IMPROVE_DATABASE_URL=f"sqlite:///{demo_out / 'improve.db'}",
        IMPROVE_ARTIFACTS_DIR=str(demo_out / "reports"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "improve", "evaluate", str(demo_programme_path()), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    data = json.loads(result.stdout)
    assert {t["kpi"] for t in data["targets"]} == {"frt_median_min", "fcr_rate", "reopen_rate"}
    for t in data["targets"]:
        assert {"baseline", "target", "actual", "achievement", "significant", "ci"} <= set(t)
        assert t["significant"] is True and t["basis"] == "same_period"
        low, high = t["ci"]
        assert low <= t["same_period"]["change"] <= high
    assert data["grade"] in ("A", "B") and data["outcome"] == "partly_successful"
    assert 0 <= data["score"] <= 100


@pytest.mark.office
def test_every_workbook_converts_with_libreoffice(demo_reports: Path, tmp_path: Path) -> None:
    soffice = require_binary("soffice")
    books = sorted(demo_reports.glob("*.xlsx"))
    # the six stage workbooks and the root-cause worksheet stakeholders fill in
    assert len(books) == 7 and demo_reports / "diagnose-worksheet.xlsx" in books
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            *map(str, books),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for book in books:
        pdf = tmp_path / f"{book.stem}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, result.stdout + result.stderr


@pytest.mark.browser
def test_every_page_renders_offline_without_console_errors(demo_reports: Path) -> None:
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    pages = sorted(demo_reports.glob("*.html"))
    assert len(pages) == 7
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(offline=True)
        blocked: list[str] = []

        def only_files(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if request.url.startswith("file://"):
                route.continue_()  # type: ignore[attr-defined]
            else:
                blocked.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        context.route("**/*", only_files)
        for path in pages:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            assert errors == [], (path.name, errors)
            if path.stem in ("diagnose", "design", "execute", "evaluate"):
                charts = page.eval_on_selector_all(".js-plotly-plot .main-svg", "e => e.length")
                assert charts > 0, f"{path.name}: no plotly chart rendered"
            if path.stem == "design":
                # an arrow per dependency of the plan, from predecessor to successor
                arrows = page.eval_on_selector_all("#gantt .annotation-arrow-g", "e => e.length")
                assert arrows == _dependencies(demo_reports / "design.xlsx") > 0
            page.close()
        browser.close()
    assert blocked == []


def _dependencies(workbook: Path) -> int:
    """How many predecessor links the plan workbook's Gantt sheet lists."""
    from openpyxl import load_workbook

    from improve.reports.planbook import COL_DEPENDS, FIRST_ROW

    ws = load_workbook(workbook)["Gantt"]
    cells = (ws.cell(r, COL_DEPENDS).value for r in range(FIRST_ROW, ws.max_row + 1))
    return sum(len(str(v).split(", ")) for v in cells if v and "/" in str(v))


def test_cycle_next_starts_the_next_cycle_with_the_carry_over(
    demo_out: Path, tmp_path: Path
) -> None:
    """`improve cycle next`: the programme file moves to 2026-H2 and its diagnosis shows what
    2026-H1 left (the missed reopen target found again, the stalled task still open) beside
    the new findings; the first cycle's artifacts stay as they were."""
    from improve.config import demo_programme_path

    config = tmp_path / "demo.yaml"
    shutil.copy(demo_programme_path(), config)
    shutil.copy(demo_out / "improve.db", tmp_path / "improve.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPROVE_", "PREFECT_"))}
    env.update(
        IMPROVE_DATABASE_URL=f"sqlite:///{tmp_path / 'improve.db'}",
        IMPROVE_ARTIFACTS_DIR=str(tmp_path / "reports"),
        PREFECT_HOME=str(tmp_path / ".prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    command = [sys.executable, "-m", "improve", "cycle", "next", str(config),
               "--data-root", str(demo_out), "--json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["previous"] == "2026-H1" and data["cycle"]["key"] == "2026-H2"
    assert "key: 2026-H2" in config.read_text(encoding="utf-8")
    carried = {(c["kind"], c["ref"]): c for c in data["carried_over"]}
    reopen = next(c for c in carried.values() if c["kind"] == "unmet_target")
    assert reopen["kpi"] == "reopen_rate" and reopen["status"] == "found_again"
    assert set(reopen["problem_ids"]) <= {p["id"] for p in data["problems"]}
    assert carried["incomplete_task", "skills-training/criteria"]["status"] == "open"
    page = tmp_path / "reports" / "demo" / "2026-H2" / "diagnose.html"
    assert "skills-training/criteria" in page.read_text(encoding="utf-8")

    status = subprocess.run([sys.executable, "-m", "improve", "status", "--json"],
                            capture_output=True, text=True, env=env, check=True)  # fmt: skip
    cycles = {c["cycle_key"]: c for c in json.loads(status.stdout)}
    assert [s["status"] for s in cycles["2026-H1"]["stages"]] == ["approved"] * 6
    # The new cycle has no optimisation yet: moving on again is refused, nothing written.
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 1 and "2026-H2 has no optimise artifact" in again.stderr
    assert "key: 2026-H2" in config.read_text(encoding="utf-8")
