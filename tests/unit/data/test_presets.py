"""Vendor exports with their real headers: each preset gives KPI.md's numbers, whatever the
encoding or delimiter the file was saved with."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.unit.data.test_kpis_reference import _assert_same, reference_kpis
from typer.testing import CliRunner

from improve.cli.app import app
from improve.data.presets import PRESETS, detect_preset
from improve.data.sample import SampleFiles

Row = dict[str, Any]
FMT = "%Y-%m-%d %H:%M:%S"
SN_PRIORITY = {
    "urgent": "1 - Critical",
    "high": "2 - High",
    "normal": "3 - Moderate",
    "low": "4 - Low",
}
FD_SURVEY = {5: "Awesome", 4: "Happy", 3: "Neutral", 2: "Unhappy", 1: "Not Good"}


def _ts(value: datetime | None, fmt: str = FMT) -> str:
    return "" if value is None else value.strftime(fmt)


def _canonical(t: Row, **changes: Any) -> Row:
    keep = {
        k: t[k]
        for k in (
            "ticket_id",
            "created_at",
            "first_response_at",
            "resolved_at",
            "channel",
            "category",
            "team",
            "agent",
            "priority",
            "region",
            "product",
            "reopens",
            "agent_replies",
            "reassignments",
            "csat",
            "complaint",
            "sla_breached",
            "handle_minutes",
        )
    }
    keep.update(region=None, product=None)
    keep.update(changes)
    return keep


def zendesk(t: Row) -> tuple[Row, Row]:
    minutes = (
        None
        if t["first_response_at"] is None
        else int((t["first_response_at"] - t["created_at"]).total_seconds() // 60)
    )
    csat = t["csat"]
    score = (
        ("Good" if csat >= 4 else "Bad")
        if csat is not None
        else ("Offered" if t["resolved_at"] else "Not Offered")
    )
    vendor = {
        "Id": t["ticket_id"],
        "Requester": "客户",
        "Assignee": t["agent"] or "",
        "Group": t["team"],
        "Subject": '=HYPERLINK("x")',
        "Tags": "complaint vip" if t["complaint"] else "vip",
        "Status": "Solved" if t["resolved_at"] else "Open",
        "Priority": t["priority"].capitalize(),
        "Via": t["channel"],
        "Ticket type": t["category"],
        "Created at": _ts(t["created_at"]),
        "Updated at": _ts(t["created_at"]),
        "Solved at": _ts(t["resolved_at"]),
        "Satisfaction Score": score,
        "Group stations": (t["reassignments"] or 0) + 1,
        "Reopens": t["reopens"],
        "Replies": t["agent_replies"],
        "First reply time in minutes": "" if minutes is None else minutes,
        "Full resolution time in minutes": "",
    }
    expected = _canonical(
        t,
        first_response_at=None if minutes is None else t["created_at"] + timedelta(minutes=minutes),
        csat=None if csat is None else (5 if csat >= 4 else 1),
        reassignments=t["reassignments"] or 0,
        sla_breached=None,
        handle_minutes=None,
    )
    return vendor, expected


def servicenow(t: Row) -> tuple[Row, Row]:
    category = t["category"] + (" complaint" if t["complaint"] else "")
    handle = t["handle_minutes"]
    seconds = None if handle is None else round(handle * 60)
    breached = t["sla_breached"]
    vendor = {
        "number": f"INC{t['ticket_id']}",
        "state": "Resolved",
        "incident_state": "Resolved",
        "opened_at": _ts(t["created_at"]),
        "resolved_at": "",
        "closed_at": _ts(t["resolved_at"]),
        "reassignment_count": t["reassignments"],
        "reopen_count": t["reopens"],
        "priority": SN_PRIORITY[t["priority"]],
        "impact": "2",
        "urgency": "2",
        "category": category,
        "subcategory": "",
        "contact_type": t["channel"],
        "assignment_group": t["team"],
        "assigned_to": t["agent"] or "",
        "made_sla": "" if breached is None else str(not breached).lower(),
        "business_stc": "",
        "calendar_stc": "",
        "time_worked": ""
        if seconds is None
        else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
        "close_code": "Solved",
    }
    expected = _canonical(
        t,
        ticket_id=f"INC{t['ticket_id']}",
        first_response_at=None,
        category=category,
        priority=SN_PRIORITY[t["priority"]].split(" - ")[1],
        agent_replies=None,
        csat=None,
        complaint=t["complaint"],
        handle_minutes=None if seconds is None else seconds / 60,
    )
    return vendor, expected


def _minute(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(second=0)


def jira(t: Row) -> tuple[Row, Row]:
    vendor = {
        "Issue key": f"SD-{int(t['ticket_id'])}",
        "Issue Type": "Service Request",
        "Status": "Resolved" if t["resolved_at"] else "Open",
        "Priority": t["priority"].capitalize(),
        "Resolution": "Done" if t["resolved_at"] else "",
        "Assignee": t["agent"] or "",
        "Created": _ts(t["created_at"], "%d/%b/%y %-I:%M %p"),
        "Resolved": _ts(t["resolved_at"], "%d/%b/%y %-I:%M %p"),
        "Custom field (Request Type)": t["category"],
        "Custom field (Time to first response)": "",
        "Custom field (Time to resolution)": "",
        "Satisfaction rating": t["csat"] or "",
        "Labels": "vip",
        "Labels#2": "complaint" if t["complaint"] else "",
    }
    created, resolved = _minute(t["created_at"]), _minute(t["resolved_at"])
    expected = _canonical(
        t,
        ticket_id=f"SD-{int(t['ticket_id'])}",
        created_at=created,
        resolved_at=resolved,
        first_response_at=None,
        channel="portal",
        team="service desk",
        reopens=0,
        agent_replies=None,
        reassignments=None,
        sla_breached=None,
        handle_minutes=None,
    )
    return vendor, expected


def freshdesk(t: Row) -> tuple[Row, Row]:
    frt = t["first_response_at"]
    seconds = None if frt is None else int((frt - t["created_at"]).total_seconds())
    breached = t["sla_breached"]
    kind = "Complaint" if t["complaint"] else t["category"]
    vendor = {
        "Ticket ID": str(int(t["ticket_id"])),
        "Subject": "问题",
        "Status": "Resolved",
        "Priority": t["priority"].capitalize(),
        "Source": t["channel"].capitalize(),
        "Type": kind,
        "Agent": t["agent"] or "",
        "Group": t["team"],
        "Created time": _ts(t["created_at"]),
        "Resolved time": _ts(t["resolved_at"]),
        "Closed time": "",
        "First response time (in hrs)": ""
        if seconds is None
        else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
        "Resolution time (in hrs)": "",
        "Agent interactions": t["agent_replies"],
        "Customer interactions": 1,
        "First response status": "Within SLA",
        "Resolution status": ""
        if breached is None
        else ("SLA Violated" if breached else "Within SLA"),
        "Survey results": FD_SURVEY.get(t["csat"], ""),
    }
    expected = _canonical(
        t,
        ticket_id=str(int(t["ticket_id"])),
        category=kind,
        reopens=0,
        reassignments=None,
        handle_minutes=None,
    )
    return vendor, expected


VENDORS: dict[str, Callable[[Row], tuple[Row, Row]]] = {
    "zendesk": zendesk,
    "servicenow": servicenow,
    "jira": jira,
    "freshdesk": freshdesk,
}


@pytest.fixture(scope="module")
def tickets(sample_files: SampleFiles) -> list[Row]:
    rows = pq.read_table(sample_files.tickets).to_pylist()
    return rows[::300]  # about 530 tickets over all 18 months


def _write(path: Path, rows: list[Row], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    header = [h.split("#")[0] for h in rows[0]]  # "Labels#2" is a repeated "Labels" header
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([list(r.values()) for r in rows])
    return path


def _kpis(path: Path, *extra: str) -> list[Row]:
    result = CliRunner().invoke(app, ["kpis", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    rows: list[Row] = json.loads(result.stdout)
    return rows


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_preset_gives_kpi_md_numbers(vendor: str, tickets: list[Row], tmp_path: Path) -> None:
    pairs = [VENDORS[vendor](t) for t in tickets]
    path = _write(tmp_path / f"{vendor}.csv", [p[0] for p in pairs])
    expected = reference_kpis([p[1] for p in pairs], "month", [])
    _assert_same(_kpis(path, "--preset", vendor), expected)
    _assert_same(_kpis(path), expected)  # detected from the header row


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("gbk", ","), ("utf-8-sig", ","), ("utf-8", ";"), ("utf-16", "\t"), ("gb18030", "\t")],
)
def test_encodings_and_delimiters_give_the_same_numbers(
    encoding: str, delimiter: str, tickets: list[Row], tmp_path: Path
) -> None:
    rows = [zendesk(t)[0] for t in tickets]
    original = _kpis(_write(tmp_path / "utf8.csv", rows))
    variant = _write(tmp_path / "variant.csv", rows, encoding=encoding, delimiter=delimiter)
    assert _kpis(variant) == original


def test_detection_needs_the_vendor_headers() -> None:
    assert detect_preset(list(PRESETS["zendesk"].signature)) is PRESETS["zendesk"]
    assert detect_preset(["ticket_id", "created_at", "channel", "category", "team"]) is None


def test_a_bad_vendor_value_is_located(tickets: list[Row], tmp_path: Path) -> None:
    rows = [zendesk(t)[0] for t in tickets[:5]]
    rows[2]["First reply time in minutes"] = "soon"
    rows[3]["Satisfaction Score"] = "Great"
    path = _write(tmp_path / "bad.csv", rows)
    result = CliRunner().invoke(app, ["kpis", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}:4, column 'first_response_at', value 'soon': cannot be read as minutes"
        in result.output
    )
    assert f"{path}:5, column 'csat', value 'Great'" in result.output


def test_unknown_preset_is_refused(tickets: list[Row], tmp_path: Path) -> None:
    path = _write(tmp_path / "z.csv", [zendesk(t)[0] for t in tickets[:3]])
    result = CliRunner().invoke(app, ["kpis", str(path), "--preset", "remedy"])
    assert result.exit_code == 1 and "unknown preset 'remedy'" in result.output
