"""Excel workbooks (openpyxl): a sheet per section, titled, frozen, formatted; the plan adds
an editable Gantt sheet drawn in week cells and an editable RACI sheet (planbook.py).

Every cell goes through `write_cell`, so text from data is always a text cell: stakeholders
open these files, and a note such as `=HYPERLINK(...)` must never run as a formula.
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from improve.domain.artifacts import ARTIFACT_TITLES, ImplementationPlan
from improve.domain.base import Artifact, ArtifactRef, Locale, Stage
from improve.domain.programme import Programme
from improve.reports import cells, planbook
from improve.reports.cells import HEADER_ROW, MAX_WIDTH, display_width, write_cell
from improve.reports.content import sections_for
from improve.reports.sections import Section, Words, display

__all__ = ["build_workbook", "display_width", "write_cell"]


def _section_sheet(ws: Worksheet, section: Section, title: str, subtitle: str) -> None:
    cells.title(ws, title, section.title + (f" — {subtitle}" if subtitle else ""))
    widths: dict[int, int] = {}
    for col, header in enumerate(section.headers, start=1):
        cells.header(ws, col, header)
        widths[col] = display_width(header)
    for r, row in enumerate(section.rows, start=HEADER_ROW + 1):
        for col, (value, fmt) in enumerate(zip(row, section.formats, strict=True), start=1):
            write_cell(ws, r, col, value, fmt)
            shown = "" if value is None else display(value, fmt)
            widths[col] = max(widths[col], min(MAX_WIDTH, display_width(shown)))
    last_row = HEADER_ROW + len(section.rows)
    if section.note:
        write_cell(ws, last_row + 2, 1, section.note)
    if section.rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(section.headers))}{last_row}"
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    cells.fit_columns(ws, widths)
    cells.page_setup(ws)


def _sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\ and at most 31 characters."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    candidate, n = clean, 1
    while candidate.lower() in {u.lower() for u in used}:
        n += 1
        candidate = f"{clean[: 31 - len(str(n)) - 1]}_{n}"
    used.add(candidate)
    return candidate


def build_workbook(
    artifact: Artifact,
    *,
    locale: Locale,
    programme: Programme | None = None,
    ref: ArtifactRef | None = None,
) -> Workbook:
    """The stage's workbook: a sheet per section; the plan's Gantt sheet sits before its RACI,
    both editable, with a hidden `_meta` naming the plan version `ref` for the import.

    `programme` supplies the department names, the owners to choose from and the programme
    name in each sheet's subtitle; without it the keys are shown."""
    w = Words(locale)
    stage: Stage = artifact.stage  # type: ignore[attr-defined]
    title = w.text(ARTIFACT_TITLES[stage])
    subtitle = f"{w.text(programme.name) if programme else artifact.programme} · {artifact.cycle}"
    book = Workbook()
    default = book.active
    used: set[str] = set()
    plan = artifact if isinstance(artifact, ImplementationPlan) else None
    gantt = raci = None
    for section in sections_for(artifact, locale, programme):
        if section.key == "raci" and plan is not None:
            gantt = book.create_sheet(_sheet_name(w("甘特图", "Gantt"), used))
            planbook.gantt_sheet(gantt, plan, w, programme, title=title, subtitle=subtitle)
        ws = book.create_sheet(_sheet_name(section.title, used))
        _section_sheet(ws, section, title, subtitle)
        if section.key == "raci" and plan is not None:
            raci = ws
            planbook.raci_sheet(ws, plan, w)
    if plan is not None and gantt is not None and raci is not None:
        planbook.meta_sheet(book.create_sheet(planbook.META_SHEET), plan, ref, gantt, raci)
    return cells.finish_book(book, default, title)


def build_sections_workbook(sections: list[Section], *, title: str, subtitle: str) -> Workbook:
    """A workbook of a sheet per section (the weekly review's and retrospective's)."""
    book = Workbook()
    default = book.active
    used: set[str] = set()
    for section in sections:
        _section_sheet(
            book.create_sheet(_sheet_name(section.title, used)), section, title, subtitle
        )
    return cells.finish_book(book, default, title)
