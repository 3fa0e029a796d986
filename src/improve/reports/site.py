"""Write a cycle's workbooks, pages, plotly.min.js and index into one folder, atomically.

Stakeholders may have the folder open (or a web server may serve it) while a new version is
written, so every file is written beside its target and renamed into place: a reader sees
the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import filecmp
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import plotly
from openpyxl import Workbook

from improve.domain.artifacts import ARTIFACT_TYPES, EvaluationReport, TargetList
from improve.domain.base import Artifact, ArtifactRef, Locale, Stage
from improve.domain.programme import Programme
from improve.errors import ReportError
from improve.faults import crash_point
from improve.reports import temps
from improve.reports.page import render_index, render_page
from improve.reports.workbook import build_workbook

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class CycleReportPaths:
    """What `write_cycle_reports` wrote."""

    index: Path
    plotly_js: Path
    workbooks: dict[Stage, Path]
    pages: dict[Stage, Path]


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write` on a temporary file in `path`'s folder, then rename it over `path`.

    The temporary name is random, so two writers never share one; `write` creates it, so it
    gets the permissions of a plain write. Temporaries of `path` left by a killed writer are
    removed first (`temps.sweep`). Raises ReportError when the folder cannot be written."""
    tmp = temps.temp_path(path)
    try:
        temps.sweep(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        crash_point(f"report-write:{path.name}")  # the new file complete, not in place yet
        tmp.replace(path)
    except OSError as exc:
        raise ReportError(
            f"cannot write {path}: {exc}; check the folder's permissions and free space"
        ) from exc
    finally:
        with contextlib.suppress(OSError):  # nothing to clean when the folder is unusable
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_workbook(book: Workbook, path: Path) -> None:
    """Save a workbook atomically."""
    write_atomic(path, lambda tmp: book.save(tmp))


def copy_plotly_js(out_dir: Path) -> Path:
    """Put the installed plotly.min.js (about 5 MB) in `out_dir`, only when missing or
    different."""
    if not PLOTLY_JS.is_file():
        raise ReportError(
            f"plotly.min.js is missing from the plotly package at {PLOTLY_JS}; "
            "reinstall plotly (uv sync)"
        )
    target = out_dir / "plotly.min.js"
    if not target.is_file() or not filecmp.cmp(PLOTLY_JS, target, shallow=False):
        write_atomic(target, lambda tmp: shutil.copyfile(PLOTLY_JS, tmp))
    return target


def _check(stage: Stage, ref: ArtifactRef | None, artifact: Artifact) -> None:
    expected = ARTIFACT_TYPES[stage]
    if not isinstance(artifact, expected):
        raise ReportError(
            f"reports: the {stage.value} entry holds a {type(artifact).__name__}, "
            f"not a {expected.__name__}; pass each artifact under its own stage"
        )
    if ref is not None and ref.stage != stage:
        raise ReportError(
            f"reports: the {stage.value} entry's reference {ref.artifact_id} is of stage "
            f"{ref.stage.value}; pass the reference stored with that artifact"
        )


def write_cycle_reports(
    out_dir: Path,
    *,
    programme: Programme,
    cycle_key: str,
    artifacts: Mapping[Stage, tuple[ArtifactRef | None, Artifact]],
    locale: Locale,
    statuses: Mapping[Stage, str] | None = None,
) -> CycleReportPaths:
    """Write `<stage>.xlsx` and `<stage>.html` for every stage present, plotly.min.js once,
    and index.html listing every stage (produced or not) with id, version and status.

    `statuses` maps a stage to its approval status (pending, approved, rejected). Files of
    stages not in `artifacts` are left alone; the index does not link them."""
    statuses = statuses or {}
    present = [s for s in Stage if s in artifacts]
    for stage in present:
        _check(stage, *artifacts[stage])
    plotly_js = copy_plotly_js(out_dir)
    workbooks, pages = {}, {}
    for stage in present:
        ref, artifact = artifacts[stage]
        workbooks[stage] = out_dir / f"{stage.value}.xlsx"
        book = build_workbook(artifact, locale=locale, programme=programme, ref=ref)
        save_workbook(book, workbooks[stage])
        pages[stage] = out_dir / f"{stage.value}.html"
        page = render_page(
            artifact,
            locale=locale,
            programme=programme,
            ref=ref,
            status=statuses.get(stage),
            stages=present,
        )
        write_text_atomic(pages[stage], page)
    targets = artifacts[Stage.TARGET][1] if Stage.TARGET in artifacts else None
    evaluation = artifacts[Stage.EVALUATE][1] if Stage.EVALUATE in artifacts else None
    index = out_dir / "index.html"
    write_text_atomic(
        index,
        render_index(
            programme=programme,
            cycle_key=cycle_key,
            locale=locale,
            present={s: (artifacts[s][0], statuses.get(s)) for s in present},
            targets=targets if isinstance(targets, TargetList) else None,
            evaluation=evaluation if isinstance(evaluation, EvaluationReport) else None,
        ),
    )
    return CycleReportPaths(index=index, plotly_js=plotly_js, workbooks=workbooks, pages=pages)
