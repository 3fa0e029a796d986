"""Cell writing shared by every workbook: values as typed cells (text never a formula),
titles, header rows, column widths and print set-up."""

from __future__ import annotations

import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from improve.ooxml import stored_text, xml_text
from improve.reports.sections import Fmt, Val

NUMBER_FORMATS: dict[Fmt, str] = {
    "text": "@",
    "int": "#,##0",
    "num1": "0.0",
    "num2": "0.00",
    "num3": "0.000",
    "pct": "0.0%",
    "pval": "0.000",
    "date": "yyyy-mm-dd",
}
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # a cell stakeholders fill in or edit
UNLOCKED = Protection(locked=False)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
# A text starting with one of these is read as a formula (or DDE) by Excel and LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's limit; longer text is cut rather than corrupting the file
MAX_WIDTH = 60
HEADER_ROW = 4  # title, subtitle, a blank row, then the table


def cell_text(value: str) -> str:
    """The text a cell holds for `value`, exactly as it reads back from the saved file:
    characters XML cannot hold dropped, line breaks as LF (an XML reader turns a bare CR
    into LF anyway), cut at Excel's 32,767 characters (UTF-16 units: a character beyond the
    BMP, such as an emoji, counts two, as in Excel's LEN)."""
    text = xml_text(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) <= MAX_CELL_CHARS // 2 or len(text.encode("utf-16-le")) <= 2 * MAX_CELL_CHARS:
        return text
    units = 0
    for end, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_CELL_CHARS:
            return text[:end]
    return text


def write_cell(ws: Worksheet, row: int, column: int, value: Any, fmt: Fmt = "text") -> Cell:
    """Write one value with its number format; a str is always a text cell, never a formula.

    The text is `cell_text(value)`: odd input never makes the workbook unwritable or
    unreadable, and the file reads back as the cell was written."""
    if isinstance(value, Val):
        value, fmt = value.value, value.fmt
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        text = cell_text(value)
        cell.value = stored_text(text)  # a literal `_x000D_` stays text, not a line break
        cell.data_type = "s"  # openpyxl itself would store '=...' as a formula
        if text.startswith(FORMULA_START):
            # the apostrophe-prefix flag: Excel and LibreOffice show it as typed, and an
            # edit of the cell keeps it text
            cell.quotePrefix = True
            cell.number_format = "@"
    elif isinstance(value, bool) or value is None:
        cell.value = value
    else:
        cell.value = value
        cell.number_format = NUMBER_FORMATS[fmt]
    return cell


def display_width(text: str) -> int:
    """Columns a text needs: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit_columns(ws: Worksheet, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(8, width + 2))


def page_setup(ws: Worksheet) -> None:
    """Landscape, one page wide: the sheets print (and convert to PDF) legibly."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


def title(ws: Worksheet, title: str, subtitle: str) -> None:
    write_cell(ws, 1, 1, title).font = TITLE_FONT
    write_cell(ws, 2, 1, subtitle)


def header(ws: Worksheet, column: int, text: str) -> Cell:
    cell = write_cell(ws, HEADER_ROW, column, text)
    cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def editable(ws: Worksheet, row: int, column: int) -> Cell:
    """Mark a cell for stakeholders to fill in: yellow and unlocked."""
    cell = ws.cell(row=row, column=column)
    cell.fill, cell.protection = INPUT_FILL, UNLOCKED
    return cell


def protect(ws: Worksheet) -> None:
    """Lock the sheet but for its unlocked cells; columns and rows may still be resized."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def finish_book(book: Workbook, default: Worksheet | None, title: str) -> Workbook:
    """Drop the empty sheet the workbook was created with, open on the first sheet, and set
    the document title and creator."""
    if default is not None:
        book.remove(default)
    book.active = 0
    book.properties.title = xml_text(title)  # a standard's title is data
    book.properties.creator = "improve"
    return book
