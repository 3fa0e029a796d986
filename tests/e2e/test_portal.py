"""`improve portal` over two programmes (the demo's, and a second one whose diagnosis awaits
its cross-department heads): the portfolio, every cycle and version page in both languages,
rendered offline by headless Chromium with no console error and no broken link; the search
box finds versions and filters the portfolio."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from tests.e2e.conftest import require_binary

from improve.domain.base import Stage, Text

pytestmark = pytest.mark.slow


def _second_programme(db: Path) -> None:
    """Store a second programme: the demo's diagnosis under another key, approved by its
    author and waiting for the cross-department heads."""
    from improve.config import demo_programme_path, load_programme
    from improve.storage import repository as repo
    from improve.storage.db import make_engine, migrate, session_factory

    demo = load_programme(demo_programme_path())
    second = demo.model_copy(
        update={"key": "north", "name": Text(zh="华北服务台 <改进>", en="North desk <pilot>")}
    )
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        diagnosis = repo.latest_artifact(
            session=session, programme_key="demo", cycle_key="2026-H1", stage=Stage.DIAGNOSE
        )
        assert diagnosis is not None
        repo.save_programme(session=session, programme=second)
        repo.ensure_cycle(session=session, programme_key="north", cycle_key="2026-H1")
        stored, _ = repo.save_artifact(
            session=session,
            programme_key="north",
            cycle_key="2026-H1",
            artifact=diagnosis.artifact.model_copy(update={"programme": "north"}),
            actor="王敏",
        )
        repo.approve(
            session=session,
            artifact_id=stored.ref.artifact_id,
            version=stored.ref.version,
            approver=demo.approvers.author[0],
            approvers=second.approvers,
        )
    engine.dispose()


@pytest.fixture(scope="module")
def portal(demo_out: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("portal")
    shutil.copy(demo_out / "improve.db", home / "improve.db")
    _second_programme(home / "improve.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPROVE_", "PREFECT_"))}
    env.update(IMPROVE_DATABASE_URL=f"sqlite:///{home / 'improve.db'}",
               IMPROVE_ARTIFACTS_DIR=str(home / "reports"))  # fmt: skip
    out = home / "site"
    command = [sys.executable, "-m", "improve", "portal", "--out", str(out),
               "--as-of", "2026-02-15", "--json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # Built again into its own folder: replaced whole, nothing left of the old one.
    (out / "zh-CN" / "stale.html").write_text("old", encoding="utf-8")
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert not (out / "zh-CN" / "stale.html").exists()
    # A folder the portal did not make is refused and left alone.
    other = home / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep", encoding="utf-8")
    refused = subprocess.run([*command[:5], str(other), *command[6:]], capture_output=True,
                             text=True, env=env, check=False)  # fmt: skip
    assert refused.returncode != 0 and "is not a portal folder" in refused.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    return out, json.loads(result.stdout)


def test_portfolio_lists_every_programme(portal: tuple[Path, dict]) -> None:
    out, data = portal
    programmes = {p["key"]: p for p in data["portfolio"]["programmes"]}
    assert set(programmes) == {"demo", "north"}
    demo, north = programmes["demo"], programmes["north"]
    assert (demo["stage"], demo["status"]) == ("optimise", "approved") and demo["pending"] == []
    assert {t["task_id"] for t in demo["overdue"]} == {
        "smart-service/test",
        "skills-training/criteria",
    }
    assert [k["status"] for k in demo["kpis"]] and all(len(k["series"]) > 2 for k in demo["kpis"])
    [pending] = north["pending"]
    assert pending["level"] == "cross" and pending["awaiting"] == ["李娜", "张伟", "陈静", "刘洋"]
    assert (north["stage"], north["status"], north["kpis"]) == ("diagnose", "pending", [])
    for lang in ("zh-CN", "en"):
        assert (out / lang / "demo" / "2026-H1" / "optimise.html").exists()
        assert (out / lang / "north" / "2026-H1" / "diagnose.html").exists()
    page = (out / "en" / "index.html").read_text(encoding="utf-8")
    assert "North desk &lt;pilot&gt;" in page and "<pilot>" not in page


def _pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html"))


@pytest.mark.browser
def test_the_portal_renders_offline_in_both_languages(portal: tuple[Path, dict]) -> None:
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    out, data = portal
    pages = _pages(out)
    assert data["pages"] == len(pages) - 1  # all but the root page that picks a language
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium,
                                     args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        context = browser.new_context(offline=True)
        blocked: list[str] = []

        def only_files(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if request.url.startswith(("file://", "data:")):
                route.continue_()  # type: ignore[attr-defined]
            else:
                blocked.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        context.route("**/*", only_files)
        broken = []
        for path in pages:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(150)
            assert errors == [], (path.relative_to(out), errors)
            for href in page.eval_on_selector_all("a[href]", "e => e.map(a => a.href)"):
                target = urlparse(href)
                if target.scheme == "file" and not Path(unquote(target.path)).exists():
                    broken.append((str(path.relative_to(out)), href))
            if path.parent.name in ("zh-CN", "en") and path.name == "index.html":
                lang = path.parent.name
                assert page.get_attribute("html", "lang") == lang
                switch = page.get_attribute("nav a.lang", "href")
                assert switch == f"../{'en' if lang == 'zh-CN' else 'zh-CN'}/index.html"
                rows = page.locator("#portfolio tbody tr")
                assert rows.count() == 2
                page.fill("#search", "north diagnose")
                found = page.eval_on_selector_all("#results a", "e => e.map(a => a.href)")
                assert any(h.endswith("/north/2026-H1/diagnose.html") for h in found), found
                assert [r.is_visible() for r in rows.all()] == [False, True]
                page.fill("#search", "skills-training/criteria")
                assert page.locator("#results li").count() >= 1
                assert [r.is_visible() for r in rows.all()] == [True, False]
                page.fill("#search", "")
                assert all(r.is_visible() for r in rows.all())
            if path.name == "design.html" and "demo" in path.parts:
                charts = page.eval_on_selector_all(".js-plotly-plot .main-svg", "e => e.length")
                assert charts > 0, f"{path}: no plotly chart rendered"
            page.close()
        root = context.new_page()
        root.goto((out / "index.html").as_uri())
        root.wait_for_url("**/zh-CN/index.html")
        browser.close()
    assert broken == [] and blocked == []
