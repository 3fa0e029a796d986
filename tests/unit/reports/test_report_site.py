"""write_cycle_reports: every present stage's workbook and page, plotly.min.js once, an index;
every file replaced atomically."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.samples import make_artifacts, ref_of

from improve.domain.base import Artifact, ArtifactRef, Stage
from improve.domain.programme import Programme
from improve.errors import ReportError
from improve.reports import temps
from improve.reports.site import PLOTLY_JS, write_atomic, write_cycle_reports


def _refs(artifacts: dict[Stage, Artifact]) -> dict[Stage, tuple[ArtifactRef | None, Artifact]]:
    return {s: (ref_of(a, version=2 if s == Stage.DESIGN else 1), a) for s, a in artifacts.items()}


def test_writes_every_file_and_an_index(
    artifacts: dict[Stage, Artifact], programme: Programme, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / "demo" / "2026-H1"
    paths = write_cycle_reports(
        out,
        programme=programme,
        cycle_key="2026-H1",
        artifacts=_refs(artifacts),
        locale="zh-CN",
        statuses={s: "approved" for s in Stage} | {Stage.OPTIMISE: "pending"},
    )
    names = {p.name for p in out.iterdir()}
    assert names == {"index.html", "plotly.min.js"} | {
        f"{s.value}.{ext}" for s in Stage for ext in ("xlsx", "html")
    }
    assert paths.index == out / "index.html" and paths.plotly_js == out / "plotly.min.js"
    assert paths.workbooks == {s: out / f"{s.value}.xlsx" for s in Stage}
    assert paths.pages == {s: out / f"{s.value}.html" for s in Stage}
    assert (out / "plotly.min.js").read_bytes() == PLOTLY_JS.read_bytes()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in index and "demo/2026-H1/design" in index and "v2" in index
    assert index.count("已批准") == 5 and index.count("待审批") == 1
    assert "尚未生成" not in index
    design = (out / "design.html").read_text(encoding="utf-8")
    assert "demo/2026-H1/design v2" in design and "已批准" in design
    design_book = load_workbook(out / "design.xlsx")
    assert design_book.sheetnames == ["策略", "任务", "甘特图", "责任矩阵", "_meta"]
    assert design_book["_meta"].sheet_state == "hidden"


def test_a_cycle_in_progress_links_only_what_exists(
    artifacts: dict[Stage, Artifact], programme: Programme, tmp_path: Path
) -> None:
    early = {s: (None, artifacts[s]) for s in (Stage.DIAGNOSE, Stage.TARGET)}
    write_cycle_reports(
        tmp_path, programme=programme, cycle_key="2026-H1", artifacts=early, locale="en"
    )
    assert {p.name for p in tmp_path.iterdir()} == {
        "index.html",
        "plotly.min.js",
        "diagnose.xlsx",
        "diagnose.html",
        "target.xlsx",
        "target.html",
    }
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.count("not produced yet") == 4 and 'href="design.html"' not in index
    page = (tmp_path / "target.html").read_text(encoding="utf-8")
    assert 'href="diagnose.html"' in page and 'href="design.html"' not in page


def test_plotly_js_is_copied_only_when_missing_or_different(
    artifacts: dict[Stage, Artifact], programme: Programme, tmp_path: Path
) -> None:
    one = {Stage.OPTIMISE: (None, artifacts[Stage.OPTIMISE])}

    def write() -> None:
        write_cycle_reports(
            tmp_path, programme=programme, cycle_key="2026-H1", artifacts=one, locale="en"
        )

    write()
    js = tmp_path / "plotly.min.js"
    first = js.stat()
    write()
    assert js.stat().st_ino == first.st_ino and js.stat().st_mtime_ns == first.st_mtime_ns
    js.write_text("stale", encoding="utf-8")
    write()
    assert js.read_bytes() == PLOTLY_JS.read_bytes()


def test_files_get_ordinary_permissions_and_no_temporary_file_is_left(
    artifacts: dict[Stage, Artifact], programme: Programme, tmp_path: Path
) -> None:
    write_cycle_reports(
        tmp_path,
        programme=programme,
        cycle_key="2026-H1",
        artifacts=_refs(artifacts),
        locale="en",
    )
    mask = os.umask(0o022)
    os.umask(mask)
    for path in tmp_path.iterdir():
        assert not path.name.startswith("."), path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path.name


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    target.write_text("old", encoding="utf-8")

    def fail(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(ReportError, match=r"cannot write .*index.html: disk full"):
        write_atomic(target, fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_an_unwritable_folder_is_a_report_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ReportError, match="permissions and free space"):
        write_atomic(blocker / "sub" / "index.html", lambda tmp: tmp.write_text("x"))


def test_an_artifact_under_the_wrong_stage_is_refused(programme: Programme, tmp_path: Path) -> None:
    artifacts = make_artifacts()
    with pytest.raises(ReportError, match="the target entry holds a DiagnosisReport"):
        write_cycle_reports(
            tmp_path,
            programme=programme,
            cycle_key="2026-H1",
            artifacts={Stage.TARGET: (None, artifacts[Stage.DIAGNOSE])},
            locale="en",
        )
    wrong_ref = ref_of(artifacts[Stage.DIAGNOSE])
    with pytest.raises(ReportError, match=r"reference .* is of stage diagnose"):
        write_cycle_reports(
            tmp_path,
            programme=programme,
            cycle_key="2026-H1",
            artifacts={Stage.TARGET: (wrong_ref, artifacts[Stage.TARGET])},
            locale="en",
        )
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writers_temporary_is_swept_by_the_next_write(tmp_path: Path) -> None:
    """A write killed between writing its temporary and renaming it leaves the temporary;
    the next write of that file removes it, but not a live writer's, another file's or
    another machine's."""
    target = tmp_path / "weekly-2026-W07.html"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = temps.temp_path(target).name.replace(f"-{os.getpid()}-", f"-{gone.stdout.strip()}-")
    live = temps.temp_path(target).name  # this process's: alive
    other_file = dead.replace("weekly-2026-W07", "weekly-2026-W08")
    other_host = re.sub(r"^(\.weekly-2026-W07\.html\.)[^-]+", r"\1elsewhere", dead)
    for name in (dead, live, other_file, other_host):
        (tmp_path / name).write_text("half", encoding="utf-8")
    write_atomic(target, lambda tmp: tmp.write_text("whole", encoding="utf-8"))
    assert target.read_text(encoding="utf-8") == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [target.name, live, other_file, other_host]
    )
