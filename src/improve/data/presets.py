"""Mapping presets for real help-desk exports (KPI.md): which vendor column, transformed how,
becomes which canonical column. Transforms map the vendor's vocabulary (Good / Bad ratings,
"3 - Moderate" priorities, durations in minutes or hours) and pass anything unknown through
unchanged, so that a value they do not understand is still reported with its row."""

from __future__ import annotations

from dataclasses import dataclass, field

from improve.errors import InputDataError


@dataclass(frozen=True)
class ColumnSpec:
    """Where a canonical column comes from.

    `source` is the vendor header; `transform` an SQL template in which `{}` is that column
    and `{col:Header}` another one; `formats` extra strptime formats for timestamps;
    `constant` a fixed text when the export has no such column.
    """

    source: str | None = None
    transform: str = "{}"
    formats: tuple[str, ...] = ()
    constant: str | None = None
    expects: str | None = None


@dataclass(frozen=True)
class Preset:
    """A vendor export and how it maps onto the canonical ticket table."""

    name: str
    title: str
    signature: tuple[str, ...]
    columns: dict[str, ColumnSpec] = field(default_factory=dict)


def _plus_minutes(base: str, factor: float = 1.0) -> str:
    """Created-at plus a duration column given in minutes (times `factor`), or pass through."""
    return (
        f"CASE WHEN TRY_CAST({{}} AS DOUBLE) IS NULL THEN {{}} ELSE strftime("
        f"TRY_CAST({{col:{base}}} AS TIMESTAMP) + to_microseconds(CAST(round("
        f"TRY_CAST({{}} AS DOUBLE) * {60e6 * factor!r}) AS BIGINT)), '%Y-%m-%d %H:%M:%S') END"
    )


_HOURS_OR_HMS = (
    "CASE WHEN regexp_matches(trim({}), '^\\d+:\\d{{2}}(:\\d{{2}})?$') THEN strftime("
    "TRY_CAST({col:Created time} AS TIMESTAMP) + to_microseconds(CAST(("
    "TRY_CAST(split_part(trim({}), ':', 1) AS BIGINT) * 3600 + "
    "TRY_CAST(split_part(trim({}), ':', 2) AS BIGINT) * 60 + "
    "coalesce(TRY_CAST(nullif(split_part(trim({}), ':', 3), '') AS BIGINT), 0)) * 1000000 "
    "AS BIGINT)), '%Y-%m-%d %H:%M:%S') "
    "WHEN TRY_CAST({} AS DOUBLE) IS NULL THEN {} ELSE strftime("
    "TRY_CAST({col:Created time} AS TIMESTAMP) + to_microseconds(CAST(round("
    "TRY_CAST({} AS DOUBLE) * 3600e6) AS BIGINT)), '%Y-%m-%d %H:%M:%S') END"
)

ZENDESK = Preset(
    name="zendesk",
    title="Zendesk ticket CSV export",
    signature=(
        "Id",
        "Created at",
        "Solved at",
        "Via",
        "Group",
        "Reopens",
        "Replies",
        "Satisfaction Score",
        "First reply time in minutes",
        "Group stations",
    ),
    columns={
        "ticket_id": ColumnSpec("Id"),
        "created_at": ColumnSpec("Created at"),
        "first_response_at": ColumnSpec(
            "First reply time in minutes",
            _plus_minutes("Created at"),
            expects="minutes to the first reply, as a number",
        ),
        "resolved_at": ColumnSpec("Solved at"),
        "channel": ColumnSpec("Via"),
        "category": ColumnSpec("Ticket type"),
        "team": ColumnSpec("Group"),
        "agent": ColumnSpec("Assignee"),
        "priority": ColumnSpec("Priority", "lower({})"),
        "reopens": ColumnSpec("Reopens"),
        "agent_replies": ColumnSpec("Replies"),
        "reassignments": ColumnSpec(
            "Group stations",
            "CASE WHEN TRY_CAST({} AS BIGINT) >= 1 THEN CAST(TRY_CAST({} AS BIGINT) - 1 AS "
            "VARCHAR) ELSE {} END",
        ),
        "csat": ColumnSpec(
            "Satisfaction Score",
            "CASE lower(trim({})) WHEN 'good' THEN '5' WHEN 'bad' THEN '1' WHEN 'offered' "
            "THEN NULL WHEN 'not offered' THEN NULL WHEN 'unoffered' THEN NULL ELSE {} END",
        ),
        "complaint": ColumnSpec(
            "Tags",
            "CASE WHEN list_contains(string_split(lower(coalesce({}, '')), ' '), "
            "'{complaint_tag}') THEN 'true' ELSE 'false' END",
        ),
    },
)

SERVICENOW = Preset(
    name="servicenow",
    title="ServiceNow incident export",
    signature=(
        "number",
        "opened_at",
        "resolved_at",
        "assignment_group",
        "reassignment_count",
        "reopen_count",
        "contact_type",
        "made_sla",
    ),
    columns={
        "ticket_id": ColumnSpec("number"),
        "created_at": ColumnSpec("opened_at"),
        "resolved_at": ColumnSpec(
            "resolved_at", "coalesce(nullif(trim({}), ''), nullif(trim({col:closed_at}), ''))"
        ),
        "channel": ColumnSpec("contact_type", "lower({})"),
        "category": ColumnSpec("category"),
        "team": ColumnSpec("assignment_group"),
        "agent": ColumnSpec("assigned_to"),
        "priority": ColumnSpec("priority", "regexp_replace({}, '^\\s*\\d+\\s*-\\s*', '')"),
        "reopens": ColumnSpec("reopen_count"),
        "reassignments": ColumnSpec("reassignment_count"),
        "sla_breached": ColumnSpec(
            "made_sla",
            "CASE lower(trim({})) WHEN 'true' THEN 'false' WHEN 'false' THEN 'true' ELSE {} END",
        ),
        "complaint": ColumnSpec(
            "category",
            "CASE WHEN contains(lower(coalesce({}, '')), "
            "'{complaint_tag}') THEN 'true' ELSE 'false' END",
        ),
        "handle_minutes": ColumnSpec(
            "time_worked",
            "CASE WHEN regexp_matches(trim({}), '^\\d+:\\d{{2}}:\\d{{2}}$') THEN CAST("
            "TRY_CAST(split_part(trim({}), ':', 1) AS DOUBLE) * 60 + "
            "TRY_CAST(split_part(trim({}), ':', 2) AS DOUBLE) + "
            "TRY_CAST(split_part(trim({}), ':', 3) AS DOUBLE) / 60 AS VARCHAR) "
            "WHEN TRY_CAST({} AS DOUBLE) IS NOT NULL THEN CAST(TRY_CAST({} AS DOUBLE) / 60 AS "
            "VARCHAR) ELSE {} END",
            expects="a duration as HH:MM:SS or seconds",
        ),
    },
)

JIRA = Preset(
    name="jira",
    title="Jira Service Management CSV export",
    signature=(
        "Issue key",
        "Issue Type",
        "Created",
        "Resolved",
        "Custom field (Request Type)",
        "Satisfaction rating",
    ),
    columns={
        "ticket_id": ColumnSpec("Issue key"),
        "created_at": ColumnSpec("Created", formats=("%d/%b/%y %I:%M %p", "%d/%b/%y %H:%M")),
        "resolved_at": ColumnSpec("Resolved", formats=("%d/%b/%y %I:%M %p", "%d/%b/%y %H:%M")),
        "channel": ColumnSpec(constant="portal"),
        "category": ColumnSpec("Custom field (Request Type)"),
        "team": ColumnSpec(constant="service desk"),
        "agent": ColumnSpec("Assignee"),
        "priority": ColumnSpec("Priority", "lower({})"),
        "csat": ColumnSpec("Satisfaction rating"),
        "complaint": ColumnSpec(
            "Issue Type",
            "CASE WHEN contains(lower(coalesce({}, '')), "
            "'{complaint_tag}') OR {labels} THEN 'true' "
            "ELSE 'false' END",
        ),
    },
)

FRESHDESK = Preset(
    name="freshdesk",
    title="Freshdesk ticket CSV export",
    signature=(
        "Ticket ID",
        "Created time",
        "Resolved time",
        "Source",
        "Agent interactions",
        "Customer interactions",
        "First response time (in hrs)",
        "Survey results",
    ),
    columns={
        "ticket_id": ColumnSpec("Ticket ID"),
        "created_at": ColumnSpec("Created time"),
        "first_response_at": ColumnSpec(
            "First response time (in hrs)",
            _HOURS_OR_HMS,
            expects="hours to the first response (2.5 or 02:30)",
        ),
        "resolved_at": ColumnSpec(
            "Resolved time", "coalesce(nullif(trim({}), ''), nullif(trim({col:Closed time}), ''))"
        ),
        "channel": ColumnSpec("Source", "lower({})"),
        "category": ColumnSpec("Type"),
        "team": ColumnSpec("Group"),
        "agent": ColumnSpec("Agent"),
        "priority": ColumnSpec("Priority", "lower({})"),
        "agent_replies": ColumnSpec("Agent interactions"),
        "sla_breached": ColumnSpec(
            "Resolution status",
            "CASE WHEN lower(coalesce({}, '')) LIKE '%violated%' OR lower(coalesce("
            "{col:First response status}, '')) LIKE '%violated%' THEN 'true' WHEN "
            "coalesce({}, '') = '' THEN NULL ELSE 'false' END",
        ),
        "csat": ColumnSpec(
            "Survey results",
            "CASE lower(trim({})) WHEN 'awesome' THEN '5' WHEN 'extremely happy' THEN '5' "
            "WHEN 'happy' THEN '4' WHEN 'neutral' THEN '3' WHEN 'unhappy' THEN '2' "
            "WHEN 'not good' THEN '1' WHEN 'extremely unhappy' THEN '1' ELSE {} END",
        ),
        "complaint": ColumnSpec(
            "Type",
            "CASE WHEN contains(lower(coalesce({}, '')), "
            "'{complaint_tag}') THEN 'true' ELSE 'false' END",
        ),
    },
)

PRESETS: dict[str, Preset] = {p.name: p for p in (ZENDESK, SERVICENOW, JIRA, FRESHDESK)}
GENERIC = "generic"  # the canonical column names of KPI.md, no detection


def get_preset(name: str) -> Preset:
    """Preset `name`; the error lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputDataError(
            f"unknown preset {name!r}; choose one of "
            f"{', '.join(PRESETS)}, or {GENERIC} for KPI.md's column names"
        ) from None


def detect_preset(columns: list[str]) -> Preset | None:
    """The preset whose signature headers the file has (at least 80% of them), if any."""
    have = {c.strip().lower() for c in columns}
    best: tuple[float, Preset | None] = (0.0, None)
    for preset in PRESETS.values():
        share = sum(h.lower() in have for h in preset.signature) / len(preset.signature)
        if share > best[0]:
            best = (share, preset)
    return best[1] if best[0] >= 0.8 else None
