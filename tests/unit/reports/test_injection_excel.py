"""Formula injection through the workbooks: text from data and people planted where the
reports carry it (ticket segments such as a channel, team or agent, a benchmark source, a
problem title, task names and owners, department, programme and people names, a progress
note, a customer keyword, a lesson, 5-Why answers, fishbone causes, a reviewer, a comment, a
standard's name) is a text cell in every workbook improve writes, and LibreOffice headless,
converting each workbook to CSV (every sheet) and saving it again as xlsx, shows it as typed:
`=1+2` is not 3 and the HYPERLINK is not a link called x.

The CSV files improve writes are the sample data set's, an input meant to be read back (see
`test_the_sample_surveys_csv_needs_no_formula_guard`)."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from defusedxml import ElementTree
from openpyxl import Workbook, load_workbook
from tests.e2e.conftest import require_binary
from tests.samples import (
    make_diagnosis,
    make_evaluation,
    make_execution,
    make_optimisation,
    make_plan,
    ref_of,
)

from improve.config import load_standard_template
from improve.data.sample import SampleFiles
from improve.domain.artifacts import DiagnosisReport, ImplementationPlan, TargetResult
from improve.domain.base import RootCause, Text
from improve.domain.facts import ProgressReport
from improve.domain.programme import Person, Programme
from improve.domain.review import FishboneCause, ProblemReview
from improve.reports.progressbook import build_progress_workbook
from improve.reports.standards import build_standard_workbook
from improve.reports.workbook import build_workbook
from improve.reports.worksheet import build_worksheet
from improve.stages.standards import draft_standard

LINK = '=HYPERLINK("http://evil.example","x")'
SUM = "=1+2"
DDE = "=cmd|' /C calc'!A0"
PLUS = "+cmd|' /C calc'!A0"
MINUS = "-2+3"
AT = "@SUM(1)"
HOSTILE = (LINK, SUM, DDE, PLUS, MINUS, AT)
LEADS = ("=", "+", "-", "@", "\t", "\r")
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# Every sheet to CSV: comma, double quote, UTF-8, from line 1, ..., sheet -1 = all sheets
# (one file per sheet, `<book>-<sheet>.csv`); formulas are exported as their results.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


@dataclass(frozen=True)
class Planted:
    """A cell of a written workbook holding hostile text."""

    book: str
    sheet: str
    row: int
    column: int
    text: str


def _programme(programme: Programme) -> Programme:
    """The demo programme with hostile names: the programme, a department and a person."""
    cs, *rest = programme.departments
    cs = cs.model_copy(
        update={"name": Text(zh=MINUS, en=MINUS), "members": (*cs.members, Person(name=SUM))}
    )
    return programme.model_copy(update={"name": Text(zh=AT, en=AT), "departments": (cs, *rest)})


def _diagnosis() -> DiagnosisReport:
    """Hostile problem title, segment (the channel value) and benchmark source, driver
    segments (a team and an agent) and a stakeholder review of P1."""
    d = make_diagnosis(title=Text(zh=LINK, en=LINK), segment=SUM, source=PLUS)
    drivers = {
        kpi: tuple(
            s.model_copy(update={"value": v}) for s, v in zip(segments, (MINUS, AT), strict=False)
        )
        for kpi, segments in d.drivers.items()
    }
    p1, *others = d.problems
    review = ProblemReview(
        problem_key=p1.key,
        whys=(AT, DDE),
        root_cause=LINK,
        causes=(FishboneCause(category=RootCause.TOOLS, text=MINUS),),
        reviewer=PLUS,
        reviewed_on=date(2026, 1, 9),
        comment=SUM,
    )
    return d.model_copy(
        update={"drivers": drivers, "problems": (p1.model_copy(update={"review": review}), *others)}
    )


def _plan() -> ImplementationPlan:
    """A hostile task name and a task owned by the person named `=1+2`."""
    plan = make_plan(task_name=LINK)
    first, *rest = plan.tasks
    return plan.model_copy(update={"tasks": (first.model_copy(update={"owner": SUM}), *rest)})


def _standard_workbook(programme: Programme) -> Workbook:
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    version = draft_standard(
        load_standard_template("simplified"), make_optimisation(lesson=DDE), [result],
        make_plan(), programme=programme, key="service-standard", author=AT,
        at=datetime(2026, 7, 6, 2, 0, tzinfo=UTC), name=Text(zh=LINK, en=SUM),
    )  # fmt: skip
    return build_standard_workbook(version, locale="en", programme=programme)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory, programme: Programme) -> dict[str, Path]:
    """Every kind of workbook improve writes, with hostile text planted, saved."""
    hostile = _programme(programme)
    diagnosis, plan = _diagnosis(), _plan()
    evaluation = make_evaluation()
    assert evaluation.customer is not None
    shift = evaluation.customer.faded[0].model_copy(update={"term": DDE})  # a customer's word
    evaluation = evaluation.model_copy(
        update={"customer": evaluation.customer.model_copy(update={"faded": (shift,)})}
    )
    report = {
        "diagnose": build_workbook(diagnosis, locale="en", programme=hostile),
        "design": build_workbook(plan, locale="en", programme=hostile, ref=ref_of(plan)),
        "execute": build_workbook(make_execution(note=PLUS), locale="en", programme=hostile),
        "evaluate": build_workbook(evaluation, locale="en", programme=hostile),
        "optimise": build_workbook(make_optimisation(lesson=AT), locale="en", programme=hostile),
        "worksheet": build_worksheet(
            diagnosis,
            ref_of(diagnosis),
            locale="en",
            reviews={p.key: p.review for p in diagnosis.problems if p.review},
        ),
        "progress": build_progress_workbook(
            plan,
            ref_of(plan),
            as_of=date(2026, 2, 9),
            planned={t.id: 50.0 for t in plan.tasks},
            latest={
                plan.tasks[0].id: ProgressReport(
                    task_id=plan.tasks[0].id, as_of=date(2026, 2, 6), percent_complete=40.0
                )
            },
            locale="en",
            programme=hostile,
        ),
        "standard": _standard_workbook(hostile),
    }
    folder = tmp_path_factory.mktemp("hostile-books")
    paths = {}
    for name, book in report.items():
        paths[name] = folder / f"{name}.xlsx"
        book.save(paths[name])
    return paths


@pytest.fixture(scope="module")
def planted(books: dict[str, Path]) -> list[Planted]:
    """Every cell holding hostile text, as openpyxl reads the saved files."""
    out = []
    for name, path in books.items():
        for ws in load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and any(h in c.value for h in HOSTILE):
                        out.append(Planted(name, ws.title, c.row, c.column, c.value))
    return out


def _soffice(args: list[str], profile: Path) -> None:
    soffice = require_binary("soffice")
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def office_csv(
    books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], list[list[str]]]:
    """(book, sheet) -> the rows LibreOffice exports: what it shows in each cell."""
    out_dir = tmp_path_factory.mktemp("office-csv")
    profile = tmp_path_factory.mktemp("office-profile")
    _soffice(["--convert-to", CSV_FILTER, "--outdir", str(out_dir), *map(str, books.values())],
             profile)  # fmt: skip
    sheets = {}
    for name, path in books.items():
        for title in load_workbook(path, read_only=True).sheetnames:
            csv_path = out_dir / f"{name}-{title}.csv"
            assert csv_path.exists(), f"LibreOffice wrote no {csv_path.name}"
            with csv_path.open(encoding="utf-8", newline="") as f:
                sheets[name, title] = list(csv.reader(f))
    return sheets


@pytest.fixture(scope="module")
def office_xlsx(books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the workbooks as LibreOffice saves them again (xlsx)."""
    out_dir = tmp_path_factory.mktemp("office-xlsx")
    profile = tmp_path_factory.mktemp("office-profile")
    _soffice(["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir),
              *map(str, books.values())], profile)  # fmt: skip
    return out_dir


def _formulas(path: Path) -> list[str]:
    """The worksheets of the file holding a formula element."""
    with zipfile.ZipFile(path) as z:
        return [
            n
            for n in z.namelist()
            if n.startswith("xl/worksheets/sheet")
            and ElementTree.fromstring(z.read(n)).find(f".//{NS}f") is not None
        ]


def test_hostile_text_lands_in_every_workbook_as_typed(planted: list[Planted]) -> None:
    """The planting worked: each hostile text is a whole cell where data text goes, in every
    kind of workbook, so the checks below test what they claim to."""
    whole = {(p.book, p.sheet, p.text) for p in planted}
    expected = {
        ("diagnose", "Problems", LINK),  # the problem title
        ("diagnose", "Problems", SUM),  # its segment: a channel value
        ("diagnose", "KPI baseline", PLUS),  # the benchmark source
        ("diagnose", "Gap drivers", MINUS),  # a team, an agent
        ("diagnose", "Gap drivers", AT),
        ("diagnose", "5-Why", AT),  # the stakeholders' answers
        ("diagnose", "5-Why", DDE),
        ("diagnose", "Root causes (fishbone)", LINK),  # their root cause
        ("diagnose", "Root causes (fishbone)", MINUS),  # a further cause
        ("design", "Tasks", LINK),  # a task name
        ("design", "Gantt", LINK),
        ("design", "Gantt", SUM),  # its owner
        ("design", "RACI", MINUS),  # a department's name as a column header
        ("execute", "Progress", PLUS),  # an owner's note
        ("evaluate", "Comment keywords", DDE),  # a customer's word
        ("optimise", "Lessons", AT),
        ("worksheet", "P1", LINK),  # the prefilled review
        ("worksheet", "P1", AT),
        ("worksheet", "P1", DDE),
        ("worksheet", "P1", MINUS),
        ("worksheet", "P1", PLUS),  # the reviewer
        ("worksheet", "P1", SUM),  # the comment
        ("progress", "Progress", LINK),
        ("progress", "Progress", SUM),
        ("progress", "Progress", MINUS),
    }
    assert expected <= whole, sorted(expected - whole)
    assert any(p.book == "standard" and p.text == SUM for p in planted)  # its name
    assert any(p.book == "standard" and p.text == LINK for p in planted)
    assert {p.book for p in planted} == {
        "diagnose", "design", "execute", "evaluate", "optimise", "worksheet", "progress",
        "standard",
    }  # fmt: skip


def test_openpyxl_reads_every_planted_cell_back_as_text(
    books: dict[str, Path], planted: list[Planted]
) -> None:
    opened = {name: load_workbook(path) for name, path in books.items()}
    for p in planted:
        cell = opened[p.book][p.sheet].cell(p.row, p.column)
        assert cell.data_type == "s", p
        assert cell.quotePrefix is p.text.startswith(LEADS), p
    assert not [(name, n) for name, path in books.items() for n in _formulas(path)]


@pytest.mark.office
def test_libreoffice_shows_every_planted_cell_as_typed(
    office_csv: dict[tuple[str, str], list[list[str]]], planted: list[Planted]
) -> None:
    """What LibreOffice computes for each cell, exported to CSV: the text itself. Had any
    become a formula, the CSV would hold its result (3, x, an error) instead."""
    wrong = []
    for p in planted:
        rows = office_csv[p.book, p.sheet]
        shown = rows[p.row - 1][p.column - 1] if p.row <= len(rows) else None
        if shown != p.text:
            wrong.append((p, shown))
    assert wrong == []


@pytest.mark.office
def test_libreoffice_keeps_every_planted_cell_text_when_it_saves(
    office_xlsx: Path, planted: list[Planted]
) -> None:
    """A stakeholder opening the workbook in LibreOffice and saving it keeps text cells:
    no formula in the file LibreOffice writes. LibreOffice drops the apostrophe flag but
    keeps the Text number format of each formula-like text, so a later edit in Excel still
    stays text."""
    opened = {
        name: load_workbook(office_xlsx / f"{name}.xlsx") for name in {p.book for p in planted}
    }
    for p in planted:
        cell = opened[p.book][p.sheet].cell(p.row, p.column)
        assert (cell.value, cell.data_type) == (p.text, "s"), p
        if p.text.startswith(LEADS):
            assert cell.number_format == "@", p
    assert not [(n, f) for n in opened for f in _formulas(office_xlsx / f"{n}.xlsx")]


def test_the_owner_drop_down_offers_no_formula_like_name(programme: Programme) -> None:
    """The Gantt's owner cells offer the programme's people as a drop-down; a name a
    spreadsheet might take for a formula (or one XML cannot hold) once picked into the cell
    is never offered: the list is left out, as for names with a comma."""

    def owner_lists(p: Programme) -> list[str]:
        ws = build_workbook(make_plan(), locale="en", programme=p)["Gantt"]
        return [v.formula1 for v in ws.data_validations.dataValidation if v.type == "list"]

    [names] = owner_lists(programme)
    assert "李娜" in names
    assert owner_lists(_programme(programme)) == []
    for odd in ("@x", "-x", "+x", "a\x01b", "a\ufffeb"):
        cs, *rest = programme.departments
        cs = cs.model_copy(update={"members": (*cs.members, Person(name=odd))})
        assert owner_lists(programme.model_copy(update={"departments": (cs, *rest)})) == [], odd


def test_a_title_xml_cannot_hold_still_gives_a_workbook_that_opens(
    programme: Programme, tmp_path: Path
) -> None:
    """A standard's name is the workbook's document title too: characters XML cannot hold
    are dropped there as in the cells, or neither Excel nor openpyxl would open the file."""
    result = TargetResult(
        target_id="T1", kpi="frt_median_min", baseline=142.0, target=115.6, actual=110.3,
        achievement=1.2, achievement_display=1.2, met=True,
    )  # fmt: skip
    version = draft_standard(
        load_standard_template("simplified"), make_optimisation(), [result], make_plan(),
        programme=programme, key="service-standard", author="王敏",
        at=datetime(2026, 7, 6, 2, 0, tzinfo=UTC), name=Text(zh="标准\x01\ufffe", en="S\x0b\uffff"),
    )  # fmt: skip
    path = tmp_path / "standard.xlsx"
    build_standard_workbook(version, locale="zh-CN", programme=programme).save(path)
    book = load_workbook(path)
    assert book.properties.title == "标准 V1.0"
    assert book.worksheets[0]["A1"].value == "标准 V1.0"


@pytest.mark.office
def test_libreoffice_shows_excel_escape_like_text_as_typed(
    programme: Programme, tmp_path: Path
) -> None:
    """Excel and LibreOffice read `_xHHHH_` in a cell as the character U+HHHH; a problem
    title holding such text literally (a ticket subject quoting a log line, say) is stored
    with its underscores escaped, so LibreOffice shows it as typed, not a line break or A."""
    title = "日志 _x000D_ 与 _x0041_，=1+2_x005F_"
    path = tmp_path / "diagnose.xlsx"
    build_workbook(make_diagnosis(title=Text(zh=title, en=title)), locale="en").save(path)
    _soffice(["--convert-to", CSV_FILTER, "--outdir", str(tmp_path), str(path)],
             tmp_path / "profile")  # fmt: skip
    with (tmp_path / "diagnose-Problems.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[4][1] == title


def test_the_sample_surveys_csv_needs_no_formula_guard(sample_files: SampleFiles) -> None:
    """The only CSV improve writes is the sample data set's surveys.csv: an input that
    `improve` reads back, so it carries the text as generated (a `'` guard would come back
    as part of the comment). It needs none: no field starts with what a spreadsheet takes
    for a formula, as the comments come from a fixed list."""
    text = sample_files.surveys.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:6] == ["survey_id", "answered_at", "ticket_id", "csat", "nps", "comment"]
    assert len(rows) > 1000
    comments = {r[5] for r in rows[1:] if r[5]}
    assert len(comments) > 10
    leading = [(i, v) for i, r in enumerate(rows) for v in r if v.startswith(LEADS)]
    assert leading == []
