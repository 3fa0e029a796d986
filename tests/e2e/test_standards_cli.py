"""`improve standards` on the demo cycle: the standard goes V1.0 -> V1.1 through the
three-level review with its change log, and both versions stay readable. Drafted from the
cycle's optimisation report, reviewed author -> every cross-department head -> final sign-off;
a stakeholder edits a response time in the workbook, the import is V1.1 with the change, who
and when; reviewed and published, it supersedes V1.0, which `show` still reads and `diff`
compares. Out-of-order and refused reviews, a badly edited workbook; the workbook opens in
LibreOffice and the page renders in Chromium, offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from tests.e2e.conftest import require_binary
from typer.testing import CliRunner

from improve.cli.app import app
from improve.config import demo_programme_path
from improve.domain.calendar import months_later
from improve.reports.standards import COL_PATH, COL_VALUE

pytestmark = pytest.mark.slow
CONFIG = str(demo_programme_path())
HEADS = ("李娜", "张伟", "陈静", "刘洋")
RESPOND = "standards.response_times[urgent-fault].respond.value"


@dataclass
class Store:
    """A copy of the demo's store and a report folder, and the CLI run against them."""

    root: Path
    env: dict[str, str | None]
    runner: CliRunner

    @property
    def standards(self) -> Path:
        return self.root / "reports" / "demo" / "standards"

    def run(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, ["standards", *args], env=self.env)
        assert result.exit_code == code, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def review(self, version: str, level: str, who: str, *extra: str, code: int = 0) -> Any:
        return self.run("review", CONFIG, version, "--level", level, "--as", who, *extra,
                        code=code)  # fmt: skip


def _cell(book_path: Path, path: str) -> tuple[str, int]:
    book = load_workbook(book_path)
    for ws in book.worksheets:
        for r in range(1, ws.max_row + 1):
            if ws.cell(r, COL_PATH).value == path:
                return ws.title, r
    raise AssertionError(f"{path} is not in {book_path}")


def _edit(source: Path, target: Path, value: object) -> tuple[str, int]:
    sheet, row = _cell(source, RESPOND)
    book = load_workbook(source)
    book[sheet].cell(row, COL_VALUE).value = value
    book.save(target)
    return sheet, row


@pytest.fixture(scope="module")
def demo_store(demo_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The demo cycle's store, copied so the demo's own checks see it unchanged."""
    root = tmp_path_factory.mktemp("standards")
    shutil.copy(demo_out / "improve.db", root / "improve.db")
    env: dict[str, str | None] = {
        "IMPROVE_DATABASE_URL": f"sqlite:///{root / 'improve.db'}",
        "IMPROVE_ARTIFACTS_DIR": str(root / "reports"),
        "IMPROVE_DEBUG": None,
    }
    return Store(root, env, CliRunner())


@pytest.fixture(scope="module")
def story(demo_store: Store) -> dict[str, Any]:
    """The whole story, run once; each step's JSON answer by name."""
    s, out = demo_store, {}
    out["draft"] = s.json("draft", CONFIG, "--as", "王敏")
    out["draft_again"] = s.json("draft", CONFIG, "--as", "王敏")
    out["out_of_order"] = s.review("V1.0", "cross", "李娜", code=1).output
    out["refused"] = s.review("V1.0", "author", "李娜", code=1).output
    out["v1_levels"] = [
        json.loads(s.review("V1.0", level, who, "--json").stdout)
        for level, who in [("author", "王敏"), *(("cross", h) for h in HEADS), ("final", "赵总")]
    ]
    v1_book = s.standards / "service-standard-V1.0.xlsx"
    out["v1_book"] = v1_book
    bad = s.root / "bad.xlsx"
    out["bad_cell"] = _edit(v1_book, bad, "quickly")
    out["bad"] = s.run("import", CONFIG, str(bad), "--as", "李娜", code=1).output
    out["after_bad"] = s.json("list", CONFIG)
    edited = s.root / "edited.xlsx"
    _edit(v1_book, edited, 10)
    out["imported_at"] = datetime.now(UTC)
    out["import"] = s.json("import", CONFIG, str(edited), "--as", "李娜", "--summary",
                           "紧急故障 10 分钟内回电")  # fmt: skip
    out["import_again"] = s.json("import", CONFIG, str(edited), "--as", "李娜")
    out["final_before_cross"] = s.review("V1.1", "final", "赵总", code=1).output
    out["v1_1_levels"] = [
        json.loads(s.review("V1.1", level, who, "--json").stdout)
        for level, who in [("author", "王敏"), *(("cross", h) for h in HEADS), ("final", "赵总")]
    ]
    out["draft_after"] = s.json("draft", CONFIG, "--as", "王敏")
    out["list"] = s.json("list", CONFIG)
    out["show_v1_0"] = s.json("show", CONFIG, "--version", "V1.0")
    out["show_human"] = s.run("show", CONFIG, "--version", "V1.0", "--locale", "en").output
    out["diff"] = s.json("diff", CONFIG, "V1.0", "V1.1")
    out["diff_human"] = s.run("diff", CONFIG, "V1.0", "V1.1").output
    return out


def test_the_draft_is_v1_0_from_the_cycle_and_a_rerun_stores_nothing(
    story: dict[str, Any], demo_store: Store
) -> None:
    draft = story["draft"]
    assert (draft["version"], draft["status"], draft["created"]) == ("V1.0", "draft", True)
    assert draft["awaiting"] == {"level": "author", "reviewers": ["王敏"]}
    assert "general template" in draft["changes"][0]["what"]["en"]
    assert story["draft_again"]["created"] is False
    assert story["draft_again"]["version"] == "V1.0"
    # drafting again from the same cycle, after stakeholders revised it, keeps their edits
    assert story["draft_after"]["created"] is False
    v1 = story["show_v1_0"]
    measures = {m["key"] for m in v1["document"]["standards"]["measures"]}
    assert measures == {"capacity", "smart-service"}  # the demo cycle's measures that worked
    times = {t["key"]: t for t in v1["document"]["standards"]["response_times"]}
    assert times["frt-median-min"]["respond"] == {"value": 71.0, "unit": "min"}
    assert "actual 37.5 min" in times["frt-median-min"]["basis"]["en"]
    assert [r["stage"] for r in v1["derived_from"]] == ["optimise", "evaluate", "design"]


def test_out_of_order_and_refused_reviews_are_one_clear_line(story: dict[str, Any]) -> None:
    out_of_order = " ".join(story["out_of_order"].split())
    assert "error:" in out_of_order and "Traceback" not in out_of_order
    assert "not ready for the cross-department review" in out_of_order
    assert "awaits the author review by 王敏 first" in out_of_order
    refused = " ".join(story["refused"].split())
    assert "'李娜' may not decide the author review of service-standard V1.0" in refused
    assert "only 王敏 may" in refused
    final_first = " ".join(story["final_before_cross"].split())
    assert "awaits the author review by 王敏" in final_first


def test_v1_0_goes_through_the_three_levels_to_published(story: dict[str, Any]) -> None:
    levels = story["v1_levels"]
    assert [x["status"] for x in levels] == ["in_review"] * 5 + ["published"]
    assert [x["awaiting"] for x in levels[:5]] == [
        {"level": "cross", "reviewers": list(HEADS)},
        {"level": "cross", "reviewers": list(HEADS[1:])},
        {"level": "cross", "reviewers": list(HEADS[2:])},
        {"level": "cross", "reviewers": list(HEADS[3:])},
        {"level": "final", "reviewers": ["赵总"]},
    ]
    assert levels[-1]["awaiting"] is None and levels[-1]["superseded"] == []


def test_a_badly_edited_workbook_is_refused_at_its_cell_and_nothing_is_stored(
    story: dict[str, Any],
) -> None:
    sheet, row = story["bad_cell"]
    message = " ".join(story["bad"].split())
    assert f"sheet {sheet}, cell E{row}" in message
    assert "'quickly' is not a number" in message and "nothing was stored" in message
    assert [v["version"] for v in story["after_bad"]] == ["V1.0"]


def test_the_edit_is_v1_1_with_its_change_log_and_a_reimport_stores_nothing(
    story: dict[str, Any],
) -> None:
    imported = story["import"]
    assert (imported["version"], imported["status"], imported["created"]) == (
        "V1.1", "draft", True,
    )  # fmt: skip
    [change] = imported["changes"]
    assert change["field"] == "standards.response_times[urgent-fault].respond"
    assert change["what"]["en"] == (
        "Service standards · response-time standard 'Urgent fault' · respond within"
    )
    assert change["what"]["zh"] == "服务标准规范 · 响应时效标准“紧急故障” · 响应时限"
    assert (change["before"]["en"], change["after"]["en"]) == ("15 min", "10 min")
    assert (change["before"]["zh"], change["after"]["zh"]) == ("15 分钟", "10 分钟")
    assert change["who"] == "李娜"
    when = datetime.fromisoformat(change["when"])
    assert abs(when - story["imported_at"]) < timedelta(minutes=2)
    again = story["import_again"]
    assert (again["version"], again["created"]) == ("V1.1", False)


def test_publishing_v1_1_supersedes_v1_0_and_both_stay_readable(story: dict[str, Any]) -> None:
    published = story["v1_1_levels"][-1]
    assert published["status"] == "published" and published["superseded"] == ["V1.0"]
    listed = {v["version"]: v for v in story["list"]}
    assert set(listed) == {"V1.0", "V1.1"}
    assert listed["V1.0"]["status"] == "superseded" and listed["V1.0"]["next_review"] is None
    v11 = listed["V1.1"]
    assert v11["status"] == "published" and v11["revises"] == "V1.0"
    local = datetime.fromisoformat(v11["published_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert v11["next_review"] == months_later(local.date(), 3).isoformat()
    assert [(r["level"], r["reviewer"]) for r in v11["reviews"]] == [
        ("author", "王敏"), *(("cross", h) for h in HEADS), ("final", "赵总"),
    ]  # fmt: skip
    assert v11["summary"] == "紧急故障 10 分钟内回电"
    # V1.0 still reads as it was published
    v1 = story["show_v1_0"]
    assert v1["status"] == "superseded" and v1["published_at"] is not None
    urgent = next(
        t for t in v1["document"]["standards"]["response_times"] if t["key"] == "urgent-fault"
    )
    assert urgent["respond"] == {"value": 15.0, "unit": "min"}
    assert "Urgent fault" in story["show_human"] and "superseded" in story["show_human"]
    diff = story["diff"]
    assert (diff["from"], diff["to"]) == ("V1.0", "V1.1")
    assert [c["field"] for c in diff["changes"]] == [
        "standards.response_times[urgent-fault].respond"
    ]
    human = " ".join(story["diff_human"].split())
    assert "15 分钟 → 10 分钟" in human and "1 change(s)" in human


def test_every_version_has_its_workbook_page_and_the_index(
    story: dict[str, Any], demo_store: Store
) -> None:
    folder = demo_store.standards
    for version in ("V1.0", "V1.1"):
        assert (folder / f"service-standard-{version}.xlsx").stat().st_size > 0
        page = (folder / f"service-standard-{version}.html").read_text(encoding="utf-8")
        assert "修订记录" in page and "审核记录" in page
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "service-standard-V1.0.html" in index and "service-standard-V1.1.html" in index
    v1 = (folder / "service-standard-V1.0.html").read_text(encoding="utf-8")
    assert "已被替代" in v1  # its page was written again when V1.1 superseded it
    book = load_workbook(folder / "service-standard-V1.1.xlsx")
    assert book["_meta"]["B5"].value == "V1.1"


@pytest.mark.office
def test_the_workbooks_convert_with_libreoffice(
    story: dict[str, Any], demo_store: Store, tmp_path: Path
) -> None:
    soffice = require_binary("soffice")
    books = sorted(demo_store.standards.glob("*.xlsx"))
    assert len(books) == 2
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, books)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for book in books:
        pdf = tmp_path / f"{book.stem}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, result.stdout + result.stderr


@pytest.mark.browser
def test_the_pages_render_offline_without_console_errors(
    story: dict[str, Any], demo_store: Store
) -> None:
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    pages = sorted(demo_store.standards.glob("*.html"))
    assert len(pages) == 3  # two versions and the index
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking"],
        )  # fmt: skip
        context = browser.new_context(offline=True)
        blocked: list[str] = []

        def only_files(route: Any) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_files)
        for path in pages:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            assert errors == [], (path.name, errors)
            if path.stem != "index":
                rows = page.eval_on_selector_all("#response-times tbody tr", "e => e.length")
                assert rows >= 3, path.name
                assert page.eval_on_selector_all("#changes tbody tr", "e => e.length") >= 1
            page.close()
        browser.close()
    assert blocked == []
