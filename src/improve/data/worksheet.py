"""Read a filled-in 5-Why / fishbone worksheet back (the layout of
`improve.reports.worksheet`): every answer validated, every problem located by sheet and
cell, all of them reported at once, and nothing returned unless the whole file is right."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from improve.data.located import Located, refuse
from improve.data.readers import open_xlsx
from improve.domain.base import ROOT_CAUSE_LABELS, RootCause
from improve.domain.review import (
    MAX_CAUSE,
    MAX_COMMENT,
    MAX_NAME,
    MAX_TEXT,
    MAX_WHYS,
    FishboneCause,
    ProblemReview,
    RootCauseReview,
)
from improve.errors import InputDataError
from improve.reports.worksheet import (
    CATEGORY_ORDER,
    FISHBONE_COLUMNS,
    FORMAT,
    META_SHEET,
    ROW_CATEGORY,
    ROW_COMMENT,
    ROW_DATE,
    ROW_FEASIBILITY,
    ROW_FISHBONE,
    ROW_REVIEWER,
    ROW_ROOT_CAUSE,
    ROW_WHY,
)

MAX_WORKSHEET_BYTES = 20 << 20  # a worksheet is a few KB per problem
# Every spelling of a category the cell may hold: the codes and both languages' labels.
CATEGORY_NAMES: dict[str, RootCause] = {
    **{c.value: c for c in RootCause},
    **{label.zh: c for c, label in ROOT_CAUSE_LABELS.items()},
    **{label.en.lower(): c for c, label in ROOT_CAUSE_LABELS.items()},
}
# The longest answers the review model takes, so a long one is located here, not refused
# by the model without a cell to point at.
LIMITS = {
    "text": MAX_TEXT,
    "cause": MAX_CAUSE,
    "comment": MAX_COMMENT,
    "reviewer": MAX_NAME,
}


def read_worksheet(path: Path, *, known: Mapping[str, str] | None = None) -> RootCauseReview:
    """The reviews in a filled worksheet: one per problem sheet with any answer.

    `known` maps the problem keys of the diagnosis the answers will be merged into to their
    sheet names; a sheet whose problem is not among them is an error (the worksheet was
    written for another diagnosis). Raises InputDataError listing every located problem."""
    # Whole, not streaming: a formula typed into an answer is read as the text it is (and
    # written back as inert text), never as a value some spreadsheet computed.
    book = open_xlsx(path, limit=MAX_WORKSHEET_BYTES, streaming=False)
    try:
        meta, sheets = _meta(path, book)
        issues: list[Located] = []
        reviews = []
        for sheet, key in sheets.items():
            if sheet not in book.sheetnames:
                issues.append(
                    Located(
                        sheet,
                        "—",
                        "sheet",
                        "the problem's sheet was deleted; write the worksheet again",
                    )
                )
                continue
            if known is not None and key not in known:
                issues.append(
                    Located(
                        sheet,
                        "A4",
                        "problem",
                        f"problem {key!r} is not in the current "
                        "diagnosis; write a fresh worksheet (improve rootcause write)",
                    )
                )
                continue
            review = _review(book[sheet], key, issues)
            if review is not None:
                reviews.append(review)
    finally:
        book.close()
    if issues:
        raise refuse(path, issues, fix="Fix the worksheet and import it again")
    if not reviews:
        raise InputDataError(
            f"{path}: no problem sheet has an answer; fill in the yellow cells (category, "
            "5-Why, reviewer and date) and import it again"
        )
    return RootCauseReview(
        diagnosis_id=str(meta["diagnosis_id"]),
        diagnosis_version=int(str(meta["diagnosis_version"])),
        reviews=tuple(reviews),
    )


def _meta(path: Path, book: Workbook) -> tuple[dict[str, object], dict[str, str]]:
    """The hidden sheet's fields and its sheet -> problem key map."""
    if META_SHEET not in book.sheetnames:
        raise InputDataError(
            f"{path}: not a root-cause worksheet written by improve (no {META_SHEET} sheet); "
            "fill in the worksheet `improve rootcause write` produced"
        )
    ws = book[META_SHEET]
    fields: dict[str, object] = {}
    sheets: dict[str, str] = {}
    mapping = False
    for row in ws.iter_rows(max_col=2, max_row=1000, values_only=True):
        first, second = row[0], row[1] if len(row) > 1 else None
        if first == "sheet" and second == "problem_key":
            mapping = True
        elif mapping and first and second:
            sheets[str(first)] = str(second)
        elif first:
            fields[str(first)] = second
    if fields.get("format") != FORMAT or not sheets:
        raise InputDataError(
            f"{path}: sheet {META_SHEET} does not describe a root-cause worksheet; write the "
            "worksheet again with `improve rootcause write`"
        )
    try:
        int(str(fields.get("diagnosis_version")))
    except ValueError:
        raise InputDataError(
            f"{path}: sheet {META_SHEET}: the diagnosis version was altered; write the "
            "worksheet again with `improve rootcause write`"
        ) from None
    return fields, sheets


def _text(
    ws: Worksheet, row: int, column: int, field: str, limit: str, issues: list[Located]
) -> str | None:
    cell = ws.cell(row=row, column=column)
    value = cell.value
    if value is None:
        return None
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = text.strip()
    if not text:
        return None
    if len(text) > LIMITS[limit]:
        issues.append(
            Located(
                ws.title,
                cell.coordinate,
                field,
                f"{len(text)} characters, at most {LIMITS[limit]}; shorten it",
            )
        )
        return None
    return text


def _review(ws: Worksheet, key: str, issues: list[Located]) -> ProblemReview | None:
    """One problem sheet's answers; None when nothing is filled in."""
    start = len(issues)
    sheet = ws.title
    category_text = _text(ws, ROW_CATEGORY, 2, "confirmed category", "text", issues)
    category = None
    if category_text is not None:
        category = CATEGORY_NAMES.get(category_text.strip().lower())
        if category is None:
            choices = ", ".join(
                f"{ROOT_CAUSE_LABELS[c].zh}/{ROOT_CAUSE_LABELS[c].en}" for c in CATEGORY_ORDER
            )
            issues.append(
                Located(
                    sheet,
                    f"B{ROW_CATEGORY}",
                    "confirmed category",
                    f"{category_text!r} is not a category; choose one of {choices}",
                )
            )
    feasibility = _rating(ws, issues)
    reviewer = _text(ws, ROW_REVIEWER, 2, "reviewer", "reviewer", issues)
    reviewed_on = _date(ws, issues)
    answers = [_text(ws, ROW_WHY + i, 2, f"why {i + 1}", "text", issues) for i in range(MAX_WHYS)]
    last = max((i for i, a in enumerate(answers) if a is not None), default=-1)
    for i in range(last):
        if answers[i] is None:
            issues.append(
                Located(
                    sheet,
                    f"B{ROW_WHY + i}",
                    f"why {i + 1}",
                    f"empty while why {last + 1} is answered; each why answers the one "
                    "before it: fill it in or move the answers up",
                )
            )
    root_cause = _text(ws, ROW_ROOT_CAUSE, 2, "root cause", "text", issues)
    if root_cause is not None and last < 0:
        issues.append(
            Located(
                sheet,
                f"B{ROW_WHY}",
                "why 1",
                "a root cause is given without a why chain; answer why 1 first",
            )
        )
    causes = []
    for i, cat in enumerate(CATEGORY_ORDER):
        for c in range(FISHBONE_COLUMNS):
            text = _text(ws, ROW_FISHBONE + i, 2 + c, f"{cat.value} cause", "cause", issues)
            if text is not None:
                causes.append(FishboneCause(category=cat, text=text))
    comment = _text(ws, ROW_COMMENT, 2, "comment", "comment", issues)
    answered = (
        category_text is not None
        or feasibility is not None
        or last >= 0
        or root_cause is not None
        or causes
        or comment is not None
    )
    if not answered:
        # Reviewer and date alone (or nothing) are not a review.
        return None
    if reviewer is None and not _has_issue(issues, start, f"B{ROW_REVIEWER}"):
        issues.append(
            Located(sheet, f"B{ROW_REVIEWER}", "reviewer", "empty; write who filled this in")
        )
    if reviewed_on is None and not _has_issue(issues, start, f"B{ROW_DATE}"):
        issues.append(Located(sheet, f"B{ROW_DATE}", "date", "empty; write the date as YYYY-MM-DD"))
    if len(issues) > start or reviewer is None or reviewed_on is None:
        return None
    return ProblemReview(
        problem_key=key,
        confirmed_category=category,
        whys=tuple(a for a in answers if a is not None),
        root_cause=root_cause,
        causes=tuple(causes),
        feasibility=feasibility,
        reviewer=reviewer,
        reviewed_on=reviewed_on,
        comment=comment,
    )


def _has_issue(issues: list[Located], start: int, cell: str) -> bool:
    return any(i.cell == cell for i in issues[start:])


def _rating(ws: Worksheet, issues: list[Located]) -> int | None:
    value = ws.cell(row=ROW_FEASIBILITY, column=2).value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if not number.is_integer() or not 1 <= number <= 5:
        issues.append(
            Located(
                ws.title,
                f"B{ROW_FEASIBILITY}",
                "feasibility",
                f"{value!r} is not a whole number from 1 (hard) to 5 (easy)",
            )
        )
        return None
    return int(number)


def _date(ws: Worksheet, issues: list[Located]) -> date | None:
    value = ws.cell(row=ROW_DATE, column=2).value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None or not date(1990, 1, 1) <= parsed <= date(2100, 1, 1):
        issues.append(
            Located(
                ws.title, f"B{ROW_DATE}", "date", f"{value!r} is not a date; write it as YYYY-MM-DD"
            )
        )
        return None
    return parsed
