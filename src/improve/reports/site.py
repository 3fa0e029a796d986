"""Write a cycle's workbooks, pages, plotly.min.js and index into one folder, atomically."""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import plotly

from improve.domain.artifacts import EvaluationReport, TargetList
from improve.domain.base import Artifact, ArtifactRef, Locale, Stage
from improve.domain.programme import Programme
from improve.errors import ReportError
from improve.reports.page import render_index, render_page
from improve.reports.workbook import build_workbook

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class CycleReportPaths:
    """What was written."""

    index: Path
    workbooks: dict[Stage, Path]
    pages: dict[Stage, Path]


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename it into place: a crash
    never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise ReportError(
            f"cannot write {path}: {exc}; check the folder's permissions and free space"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_atomic(path, lambda tmp: _write_text(tmp, text))


def _copy_plotly(out_dir: Path) -> None:
    target = out_dir / "plotly.min.js"
    if not target.exists() or not filecmp.cmp(PLOTLY_JS, target, shallow=False):
        write_atomic(target, lambda tmp: _copy(PLOTLY_JS, tmp))


def write_cycle_reports(
    out_dir: Path,
    *,
    programme: Programme,
    cycle_key: str,
    artifacts: Mapping[Stage, tuple[ArtifactRef | None, Artifact]],
    locale: Locale,
    statuses: Mapping[Stage, str] | None = None,
) -> CycleReportPaths:
    """Every present stage's workbook and page, plotly.min.js once, and index.html."""
    statuses = statuses or {}
    present = [s for s in Stage if s in artifacts]
    workbooks, pages = {}, {}
    _copy_plotly(out_dir)
    for stage in present:
        ref, artifact = artifacts[stage]
        book = build_workbook(artifact, locale=locale, programme=programme)
        workbooks[stage] = out_dir / f"{stage.value}.xlsx"
        write_atomic(workbooks[stage], lambda tmp, b=book: b.save(tmp))  # type: ignore[misc]
        pages[stage] = out_dir / f"{stage.value}.html"
        write_text_atomic(
            pages[stage],
            render_page(
                artifact,
                locale=locale,
                programme=programme,
                ref=ref,
                status=statuses.get(stage),
                stages=present,
            ),
        )
    index = out_dir / "index.html"
    targets = artifacts.get(Stage.TARGET, (None, None))[1]
    evaluation = artifacts.get(Stage.EVALUATE, (None, None))[1]
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
    return CycleReportPaths(index=index, workbooks=workbooks, pages=pages)
