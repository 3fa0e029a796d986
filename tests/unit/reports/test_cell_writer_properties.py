"""Property tests of the cell writer: whatever text `write_cell` is given (control characters,
surrogates, very long text, a leading = + - @ tab or CR, any script), the saved workbook reads
back as that same text in a text cell, never a formula, and its sheet XML holds no formula.

What may change on the way is `cell_text`'s documented rule, re-derived here on its own
(`_expected`): the characters XML 1.0 cannot hold are dropped, CR and CRLF become LF (an XML
reader turns a bare CR into LF anyway), and the text is cut at Excel's 32,767 UTF-16 units.
Empty text is an empty cell. The file stores the underscore of a literal `_xHHHH_` as
`_x005F_` (else Excel would show U+HHHH): openpyxl reads that stored form back, and
`shown_text` (what the readers use) gives the text again."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from typing import Any

from defusedxml import ElementTree
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from tests.samples import make_diagnosis

from improve.domain.base import Text
from improve.ooxml import shown_text
from improve.reports.cells import cell_text, write_cell
from improve.reports.sections import Val
from improve.reports.workbook import build_workbook

SETTINGS = settings(max_examples=150, deadline=None)
# The characters XML 1.0 cannot hold, spelled out apart from the code under test.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
EXCEL_UNITS = 32_767
# What Excel and LibreOffice read as a formula or DDE when it leads a typed-in text.
LEADS = ("=", "+", "-", "@", "\t", "\r")
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "=1+2",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1+2",
    "\r=1+2",
    "\r\n=1+2",
]

# Characters worth more than their share of draws: formula leads, line breaks, every kind
# of character XML refuses (C0 controls, surrogates, U+FFFE/U+FFFF), C1 and Unicode line
# separators, a BOM, characters beyond the BMP, markup and quotes.
TRICKY = st.sampled_from(
    [
        *"=+-@\t\r\n\x00\x01\x08\x0b\x0c\x1f\x7f\x85\u2028\u2029\ufeff\ufffe\uffff",
        *("\ud800", "\udfff", "\U0001f600", "\U0010ffff", "首", "<", "&", '"', "'", "|", "!"),
    ]
)
CHARS = st.one_of(st.characters(exclude_categories=()), TRICKY)
# Excel's `_xHHHH_` escapes, whole, broken or in the wrong case, among the characters.
ESCAPES = st.sampled_from(["_x000D_", "_x0041_", "_x005F_", "_x005f_", "_x00", "_X0041_", "_"])
BODY = st.lists(st.one_of(st.text(CHARS, max_size=12), ESCAPES), max_size=6).map("".join)
LEAD = st.sampled_from(["", *LEADS, "\r\n", *HOSTILE])
SHORT = st.builds(lambda lead, body: lead + body, LEAD, BODY)
# Long text by repetition (hypothesis draws short strings): some of it past Excel's limit,
# with characters beyond the BMP that count two UTF-16 units.
LONG = st.builds(
    lambda unit, n: unit * n, st.text(CHARS, min_size=1, max_size=6), st.integers(1, 12_000)
)
TEXT = st.one_of(SHORT, SHORT, SHORT, LONG)
FMT = st.sampled_from(["text", "int", "num1", "pct", "date"])


def _expected(text: str) -> str:
    """The text the cell must read back as (the rule in the module docstring)."""
    kept = NOT_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    units = 0
    for end, ch in enumerate(kept):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > EXCEL_UNITS:
            return kept[:end]
    return kept


def _stored(shown: str) -> str:
    """The stored form of a cell's text: each `_` that starts `_xHHHH_` as `_x005F_`."""
    return re.sub("_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", shown)


def _saved(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_cells(xlsx: bytes) -> list[Any]:
    """Every <c> element of every worksheet, after asserting no sheet holds a formula."""
    out = []
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                root = ElementTree.fromstring(z.read(name))
                assert root.find(f".//{NS}f") is None, f"{name} holds a formula"
                out += root.iter(f"{NS}c")
    return out


@SETTINGS
@given(st.lists(st.tuples(TEXT, st.booleans(), FMT), min_size=1, max_size=12))
@example([(t, False, "text") for t in HOSTILE])
@example([("\ufffe", False, "text"), ("\ud800x", False, "text"), ("a\x00b", True, "int")])
@example([("x" * 40_000, False, "text"), ("\U0001f600" * 20_000, False, "text")])
@example([("", False, "text"), ("\r", False, "text"), ("=" * 40_000, True, "pct")])
@example([("_x000D_", False, "text"), ("=_x0041__x005F_x0042_", False, "text")])
def test_any_text_reads_back_as_the_same_text_cell(values: list[tuple[str, bool, str]]) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row, (text, wrapped, fmt) in enumerate(values, start=1):
        value = Val(text, fmt) if wrapped else text
        written = write_cell(ws, row, 1, value)
        assert written.value == _stored(_expected(text))  # what the file will say
    xlsx = _saved(book)
    cells = _sheet_cells(xlsx)
    assert {c.get("t") for c in cells} <= {"s", "inlineStr"}  # text, never a formula result
    back = load_workbook(io.BytesIO(xlsx)).active
    assert back is not None
    for row, (text, _, _) in enumerate(values, start=1):
        want = _expected(text)
        cell = back.cell(row, 1)
        if not want:
            assert cell.value is None
            continue
        assert cell.value == _stored(want)
        assert shown_text(cell.value) == want
        assert cell.data_type == "s"
        formula_like = want.startswith(LEADS)
        assert cell.quotePrefix is formula_like
        if formula_like:
            assert cell.number_format == "@"


@SETTINGS
@given(TEXT)
def test_the_rule_changes_only_what_it_must(text: str) -> None:
    """`cell_text` is the documented rule: clean text within the limit is untouched, and the
    rule applied twice changes nothing more."""
    assert cell_text(text) == _expected(text)
    assert cell_text(cell_text(text)) == cell_text(text)
    clean = not NOT_XML.search(text) and "\r" not in text
    if clean and len(text.encode("utf-16-le")) <= 2 * EXCEL_UNITS:
        assert cell_text(text) == text
    assert len(cell_text(text).encode("utf-16-le")) <= 2 * EXCEL_UNITS


@given(
    st.one_of(
        st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False), st.dates()
    )
)
@settings(max_examples=50, deadline=None)
def test_numbers_and_dates_stay_typed(value: int | float | date) -> None:
    """Only text is forced to text: a number or a date keeps its type and format."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    write_cell(ws, 1, 1, value, "date" if isinstance(value, date) else "num2")
    back = load_workbook(io.BytesIO(_saved(book))).active
    assert back is not None
    cell = back.cell(1, 1)
    assert cell.data_type == ("d" if isinstance(value, date) else "n")
    assert not cell.quotePrefix


@settings(max_examples=25, deadline=None)
@given(SHORT)
@example(HOSTILE[0])
@example("_x000D_")
def test_a_problem_title_of_any_text_stays_text_in_the_diagnosis_workbook(text: str) -> None:
    """Through the real report builder: the title lands in four sheets, each time as the
    same text cell (the model strips surrounding whitespace first)."""
    title = Text(zh=text, en=text)
    xlsx = _saved(build_workbook(make_diagnosis(title=title), locale="en"))
    _sheet_cells(xlsx)
    want = _expected(title.en)
    book = load_workbook(io.BytesIO(xlsx))
    where = {"Problems": "B5", "Root causes (fishbone)": "B5", "5-Why": "B5", "Priority": "C5"}
    for sheet, coordinate in where.items():
        cell = book[sheet][coordinate]
        assert cell.value == (_stored(want) or None), sheet
        if want:
            assert cell.data_type == "s" and cell.quotePrefix is want.startswith(LEADS)
