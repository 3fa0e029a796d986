"""The programme definition: what a programme owner writes in config/ as YAML."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, field_validator, model_validator

from improve.domain.base import Locale, Model, RootCause, Text
from improve.domain.kpi import KPI_NAMES
from improve.domain.paths import RelativePath, escape_reason

CANONICAL_COLUMNS: tuple[str, ...] = (
    "ticket_id", "created_at", "first_response_at", "resolved_at", "channel", "category",
    "team", "agent", "priority", "region", "product", "reopens", "agent_replies",
    "reassignments", "csat", "complaint", "sla_breached", "handle_minutes",
)  # fmt: skip
REQUIRED_COLUMNS: tuple[str, ...] = ("ticket_id", "created_at", "channel", "category", "team")
SURVEY_COLUMNS: tuple[str, ...] = (
    "survey_id", "answered_at", "ticket_id", "csat", "nps", "comment", "region", "channel",
)  # fmt: skip
PROGRESS_COLUMNS: tuple[str, ...] = (
    "task_id", "as_of", "percent_complete", "status", "note", "blocker",
)  # fmt: skip

FileFormat = Literal["csv", "xlsx", "parquet"]


def _known_kpi(name: str) -> str:
    if name not in KPI_NAMES:
        raise ValueError(f"unknown KPI {name!r}; use one of {', '.join(KPI_NAMES)}")
    return name


KpiName = Annotated[str, AfterValidator(_known_kpi)]


class DataSource(Model):
    """One input file and how its columns map onto the canonical table."""

    path: str = Field(min_length=1, description="File path, relative to the programme file.")
    format: FileFormat | None = Field(default=None, description="Defaults to the file suffix.")
    sheet: str | None = Field(default=None, description="XLSX sheet name; the first by default.")
    mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical column -> column name in the file; unmapped columns keep names.",
    )
    preset: str | None = Field(
        default=None,
        description="Vendor export preset (zendesk, servicenow, jira, freshdesk); detected "
        "from the header row when left out.",
    )
    complaint_tag: str = Field(
        default="complaint", min_length=1, description="Tag or type word marking complaints."
    )


class DataSources(Model):
    """The programme's inputs: tickets (required), surveys and progress updates (optional)."""

    tickets: DataSource
    surveys: DataSource | None = None
    progress: DataSource | None = None

    @field_validator("tickets", "surveys", "progress")
    @classmethod
    def _inside_the_data_folder(cls, source: DataSource | None) -> DataSource | None:
        reason = None if source is None else escape_reason(source.path)
        if source is not None and reason is not None:
            raise ValueError(
                f"path {source.path!r} {reason}; give it relative to the data folder (the "
                "programme file's folder, or --data-root) and inside it, like data/tickets.csv"
            )
        return source

    @field_validator("tickets")
    @classmethod
    def _ticket_mapping_targets(cls, source: DataSource) -> DataSource:
        unknown = sorted(set(source.mapping) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"mapping names unknown canonical columns {unknown}; "
                f"use any of {', '.join(CANONICAL_COLUMNS)}"
            )
        return source


class Benchmark(Model):
    """A reference value for a KPI and where it comes from."""

    kpi: KpiName = Field(description="KPI name from KPI.md.")
    value: float = Field(description="Reference value, in the KPI's unit (rates as 0..1).")
    source: str = Field(min_length=1, description="Who published it, shown in the report.")


class BenchmarkDefaults(Model):
    """Published benchmarks used where a programme sets none (config/benchmarks.yaml)."""

    schema_version: Literal[1] = 1
    benchmarks: tuple[Benchmark, ...]


class Person(Model):
    """Someone who can own plan tasks: the roles they fill and the time they can give."""

    name: str = Field(min_length=1)
    roles: tuple[str, ...] = Field(default=(), description="Playbook roles they fill.")
    capacity: float = Field(
        default=1.0, gt=0, le=1, description="Share of full time they can give the plan's tasks."
    )


class Department(Model):
    """A department, the teams it runs, the roles it staffs and the people who own tasks."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="Short id used in RACI.")
    name: Text
    head: str = Field(min_length=1, description="Department head (signs cross-department).")
    teams: tuple[str, ...] = Field(default=(), description="Ticket `team` values it owns.")
    roles: tuple[str, ...] = Field(default=(), description="Playbook roles it staffs.")
    kpis: tuple[str, ...] = Field(default=(), description="KPIs it is accountable for.")
    members: tuple[Person, ...] = Field(
        default=(), description="Task owners; the head owns a role no member fills."
    )

    @property
    def people(self) -> tuple[Person, ...]:
        """Everyone who may own a task here: the members, then the head (every role)."""
        if any(m.name == self.head for m in self.members):
            return self.members
        return (*self.members, Person(name=self.head, roles=self.roles))

    def owners_for(self, role: str) -> tuple[Person, ...]:
        """The members filling `role`, else the head."""
        filled = tuple(m for m in self.members if role in m.roles)
        return filled or tuple(p for p in self.people if p.name == self.head)


class Approvers(Model):
    """Who signs a stage artifact at each review level."""

    author: tuple[str, ...] = Field(min_length=1)
    cross: tuple[str, ...] = Field(default=())
    final: tuple[str, ...] = Field(default=())

    @property
    def everyone(self) -> tuple[str, ...]:
        """Every approver, each once, in level order."""
        return tuple(dict.fromkeys((*self.author, *self.cross, *self.final)))


_CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")


class ReviewSchedule(Model):
    """When the weekly review and the monthly retrospective run (cron, programme time zone)."""

    weekly: str = Field(default="0 9 * * 1", description="Weekly review (周例会) cron.")
    monthly: str = Field(default="0 9 1-7 * 1-5", description="Monthly retrospective cron.")

    @field_validator("weekly", "monthly")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _CRON.match(value):
            raise ValueError(f"{value!r} is not a five-field cron expression like '0 9 * * 1'")
        return value


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class BusinessHours(Model):
    """The working calendar of the business-hours KPI variants: hours, weekdays, holidays."""

    start: str = Field(default="09:00", pattern=_HHMM, description="Opening time, quoted HH:MM.")
    end: str = Field(default="18:00", pattern=_HHMM, description="Closing time, quoted HH:MM.")
    weekdays: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4), description="0 = Monday.")
    holidays: Literal["CN", "none"] = Field(
        default="CN", description="Public holidays and make-up working days: mainland China."
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, int):
            raise ValueError(f'{value} is not a time; quote it in YAML, e.g. "09:00"')
        if isinstance(value, str) and not re.match(_HHMM, value.strip()):
            raise ValueError(
                f"{value!r} is not a time of day; write it as HH:MM from 00:00 to 23:59, "
                'e.g. "09:00"'
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"business hours must open before they close: {self.start}-{self.end}")
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            raise ValueError(f"weekdays must be numbers 0 (Monday) to 6, got {self.weekdays}")
        return self

    @property
    def minutes(self) -> tuple[int, int]:
        """Opening and closing as minutes after midnight."""
        h1, m1 = map(int, self.start.split(":"))
        h2, m2 = map(int, self.end.split(":"))
        return h1 * 60 + m1, h2 * 60 + m2


class TargetSetting(Model):
    """A target value the programme owner states, replacing the proposed one (config as code).

    A value beyond the programme's own best decile needs a `justification`."""

    kpi: KpiName
    target: float = Field(description="In the KPI's unit (rates as 0..1).")
    deadline: date | None = Field(default=None, description="Defaults to the cycle deadline.")
    justification: str | None = Field(
        default=None, min_length=1, description="Why the value is reachable, shown beside it."
    )


class RatingWeights(Model):
    """Weights of the overall rating's three parts (综合效果评定); they sum to 1."""

    targets: float = Field(default=0.5, ge=0, le=1, description="Target achievement.")
    customer: float = Field(default=0.3, ge=0, le=1, description="Customer verification.")
    discipline: float = Field(default=0.2, ge=0, le=1, description="Execution discipline.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> RatingWeights:
        total = self.targets + self.customer + self.discipline
        if abs(total - 1) > 1e-6:
            raise ValueError(
                f"rating weights targets {self.targets}, customer {self.customer} and "
                f"discipline {self.discipline} sum to {total:g}, not 1; adjust them"
            )
        return self


class EvaluationSettings(Model):
    """How the evaluation stage rates a cycle."""

    weights: RatingWeights = Field(default_factory=RatingWeights)


class Withdrawal(Model):
    """The owner withdrew the cycle: its evaluation closes it as withdrawn."""

    on: date = Field(description="When it was withdrawn.")
    reason: Text | str = Field(description="Why, for the closure record.")


class CycleSettings(Model):
    """Dates and rules of the current cycle."""

    key: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="Cycle id; names the cycle's reports folder.",
    )
    diagnosis_date: date = Field(description="Baseline window ends the day before this.")
    baseline_months: int = Field(default=12, ge=6, le=12, description="Baseline window length.")
    plan_start: date = Field(description="First day the plan may schedule work.")
    deadline: date = Field(description="Targets are due on this date.")
    evaluation_months: int = Field(default=3, ge=1, le=12, description="Window evaluated.")
    gap_closure: float = Field(
        default=0.6, gt=0, le=1, description="Share of the gap to benchmark a target closes."
    )
    max_problems: int = Field(default=6, ge=1, le=30, description="Problems taken to targets.")
    targets: tuple[TargetSetting, ...] = Field(
        default=(), description="Target values the owner sets, replacing the proposed ones."
    )
    withdrawn: Withdrawal | None = Field(
        default=None, description="Set when the owner withdraws the cycle (closure: withdrawn)."
    )
    carried_from: str | None = Field(
        default=None,
        description="The previous cycle whose unmet targets, unresolved problems, unfinished "
        "tasks and lessons this one's diagnosis shows (set by `improve cycle next`).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CycleSettings:
        if not self.diagnosis_date <= self.plan_start < self.deadline:
            raise ValueError(
                "cycle dates must satisfy diagnosis_date <= plan_start < deadline; "
                f"got {self.diagnosis_date}, {self.plan_start}, {self.deadline}"
            )
        return self


PILOT_COLUMNS = ("region", "product", "channel", "team", "category")


def _pilot_columns(columns: dict[str, object], what: str) -> None:
    bad = sorted(set(columns) - set(PILOT_COLUMNS))
    if bad:
        raise ValueError(f"pilot {what} columns {bad} unknown; use {', '.join(PILOT_COLUMNS)}")


class Pilot(Model):
    """A measure first run in a small scope, compared with a control group (试点)."""

    key: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64, description="Name in `--pilot NAME`."
    )
    name: Text
    strategy: str = Field(description="Playbook strategy key the pilot tries out.")
    kpis: tuple[KpiName, ...] = Field(
        min_length=1, description="KPIs the pilot is judged on (the first one leads)."
    )
    scope: dict[str, str] = Field(min_length=1, description="Ticket column -> value in scope.")
    control: dict[str, tuple[str, ...]] | None = Field(
        default=None,
        description="Ticket column -> the values of the control group (matched segments); "
        "default: every ticket outside all pilots' scopes.",
    )
    start: date
    end: date

    @field_validator("scope")
    @classmethod
    def _scope_columns(cls, scope: dict[str, str]) -> dict[str, str]:
        _pilot_columns(dict(scope), "scope")
        return scope

    @field_validator("control")
    @classmethod
    def _control_columns(
        cls, control: dict[str, tuple[str, ...]] | None
    ) -> dict[str, tuple[str, ...]] | None:
        if control is not None:
            _pilot_columns(dict(control), "control")
            if not control or any(not v for v in control.values()):
                raise ValueError("pilot control needs at least one value per column")
        return control

    @model_validator(mode="after")
    def _period(self) -> Pilot:
        if self.end <= self.start:
            raise ValueError(f"pilot {self.key}: end {self.end} must come after start {self.start}")
        return self


class RiskSetting(Model):
    """A risk of the programme's register (风险登记), assessed by its owner."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: Text
    probability: int = Field(ge=1, le=5, description="1 rare .. 5 almost certain.")
    impact: int = Field(ge=1, le=5, description="1 negligible .. 5 severe.")
    owner: str = Field(min_length=1)
    response: Text
    status: Literal["open", "mitigating", "closed"] = "open"


DEFAULT_WEIGHTS: dict[str, float] = {
    "frt_median_min": 0.2,
    "resolution_median_h": 0.5,
    "csat_rate": 0.3,
}  # the source's example: response time 20%, resolution 50%, satisfaction 30%


class Scorecards(Model):
    """Weights of the team and agent scorecards per role; a team without a role, and any
    agent of it, is scored with DEFAULT_WEIGHTS."""

    roles: dict[str, dict[KpiName, float]] = Field(default_factory=dict)
    team_roles: dict[str, str] = Field(default_factory=dict, description="Ticket team -> role.")

    @model_validator(mode="after")
    def _weights(self) -> Scorecards:
        for role, weights in self.roles.items():
            if abs(sum(weights.values()) - 1) > 1e-6 or any(w < 0 for w in weights.values()):
                raise ValueError(f"scorecard role {role}: weights must be >= 0 and add up to 1")
        unknown = sorted(set(self.team_roles.values()) - set(self.roles))
        if unknown:
            raise ValueError(f"team_roles name roles without weights: {unknown}")
        return self

    def weights_of(self, team: str | None) -> dict[str, float]:
        """The KPI weights a team's scorecards use."""
        role = self.team_roles.get(team or "")
        return dict(self.roles[role]) if role else dict(DEFAULT_WEIGHTS)


class Notifications(Model):
    """Where the team hears from improve: a Prefect notification block (Slack, Microsoft
    Teams, e-mail, a custom webhook ...) configured on the Prefect server, by its slug."""

    block: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="The block as type-slug/name, like slack-webhook/service-desk.",
    )
    digest: bool = Field(default=True, description="Send the weekly digest.")
    failures: bool = Field(
        default=True, description="Announce failed review, digest and reminder runs."
    )


class Programme(Model):
    """A service-improvement programme: scope, data, people and the current cycle."""

    schema_version: Literal[1] = 1
    key: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        max_length=64,
        description="Programme id; names its store and reports folders.",
    )
    name: Text
    owner: str = Field(min_length=1, description="Programme owner (改进项目负责人).")
    timezone: str = Field(default="Asia/Shanghai")
    locale: Locale = "zh-CN"
    data: DataSources
    benchmarks: tuple[Benchmark, ...] = ()
    departments: tuple[Department, ...] = Field(min_length=1)
    approvers: Approvers
    review: ReviewSchedule = ReviewSchedule()
    notifications: Notifications = Field(
        default_factory=Notifications, description="The Prefect notification block, if any."
    )
    cycle: CycleSettings
    pilots: tuple[Pilot, ...] = Field(default=(), description="Pilots (试点) of the cycle.")
    risks: tuple[RiskSetting, ...] = Field(default=(), description="The risk register.")
    scorecards: Scorecards = Field(default_factory=Scorecards)
    evaluation: EvaluationSettings = Field(
        default_factory=EvaluationSettings, description="Overall rating weights (50/30/20)."
    )
    days_off: tuple[date, ...] = Field(default=(), description="Programme-specific days off.")
    business_hours: BusinessHours | None = Field(
        default=None,
        description="When set, first response and resolution are measured in business hours.",
    )
    playbook: RelativePath | None = Field(
        default=None, description="Playbook file, inside the programme file's folder."
    )
    root_cause_rules: RelativePath | None = Field(
        default=None, description="Rules file, inside the programme file's folder."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        if zone not in available_timezones():
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name like Asia/Shanghai")
        return zone

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        keys = [d.key for d in self.departments]
        if len(keys) != len(set(keys)):
            raise ValueError(f"department keys repeat: {keys}")
        teams = [t for d in self.departments for t in d.teams]
        if len(teams) != len(set(teams)):
            raise ValueError("a team is listed under two departments; give each team one owner")
        names = [p.name for d in self.departments for p in d.people]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"people listed in two departments: {twice}; list each person once")
        pilots = [p.key for p in self.pilots]
        if len(pilots) != len(set(pilots)):
            raise ValueError(f"pilot keys repeat: {pilots}; give each pilot its own key")
        kpis = [t.kpi for t in self.cycle.targets]
        if len(kpis) != len(set(kpis)):
            raise ValueError(f"cycle.targets sets a KPI twice: {kpis}; keep one per KPI")
        return self

    @property
    def team_map(self) -> dict[str, tuple[str, ...]]:
        """Department key -> the ticket teams it owns (departments owning teams only)."""
        return {d.key: d.teams for d in self.departments if d.teams}

    @property
    def people(self) -> dict[str, tuple[Person, Department]]:
        """Every task owner by name, with their department."""
        return {p.name: (p, d) for d in self.departments for p in d.people}

    def pilot(self, key: str) -> Pilot:
        """Pilot `key`; KeyError names the programme's pilots."""
        for p in self.pilots:
            if p.key == key:
                return p
        known = ", ".join(p.key for p in self.pilots) or "none"
        raise KeyError(f"programme {self.key} has no pilot {key!r} (its pilots: {known})")

    def benchmark(self, kpi_name: str) -> Benchmark | None:
        """The configured benchmark of `kpi_name`, if any."""
        return next((b for b in self.benchmarks if b.kpi == kpi_name), None)

    def department_of_team(self, team: str) -> Department | None:
        """The department that owns ticket team `team`."""
        return next((d for d in self.departments if team in d.teams), None)

    def department_of_role(self, role: str) -> Department:
        """The department that staffs playbook role `role` (the first department otherwise)."""
        return next((d for d in self.departments if role in d.roles), self.departments[0])

    def department_of_kpi(self, kpi_name: str) -> Department:
        """The department accountable for `kpi_name` (the first department otherwise)."""
        return next((d for d in self.departments if kpi_name in d.kpis), self.departments[0])


class TaskTemplate(Model):
    """One task a strategy instantiates in the plan."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: Text
    duration_days: int = Field(ge=1, le=250, description="Working days.")
    role: str = Field(min_length=1, description="Role responsible; maps to a department.")
    resources: Text
    acceptance: Text
    depends_on: tuple[str, ...] = Field(default=(), description="Task keys in this strategy.")
    lag_days: int = Field(default=0, ge=0, le=60, description="Working days after predecessors.")
    consulted: tuple[str, ...] = Field(default=(), description="Roles consulted (RACI C).")
    load: float = Field(
        default=0.5, gt=0, le=1, description="Share of its owner's full time the task takes."
    )


class Strategy(Model):
    """An improvement strategy for one root-cause category, with its task templates."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    category: RootCause
    name: Text
    description: Text
    kpis: tuple[str, ...] = Field(default=(), description="KPIs it is known to move.")
    effort: int = Field(ge=1, le=5, description="1 = cheap and easy, 5 = costly and hard.")
    standard: Text = Field(description="What becomes the service standard if it works.")
    tasks: tuple[TaskTemplate, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _dependencies_known(self) -> Strategy:
        keys = [t.key for t in self.tasks]
        if len(keys) != len(set(keys)):
            raise ValueError(f"strategy {self.key}: task keys repeat")
        for t in self.tasks:
            missing = set(t.depends_on) - set(keys)
            if missing:
                raise ValueError(
                    f"strategy {self.key}, task {t.key}: unknown dependencies {sorted(missing)}"
                )
        return self


class Playbook(Model):
    """Strategies per root-cause category (方案库), kept in config/."""

    schema_version: Literal[1] = 1
    strategies: tuple[Strategy, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _covers_categories(self) -> Playbook:
        missing = set(RootCause) - {s.category for s in self.strategies}
        if missing:
            raise ValueError(f"playbook has no strategy for {sorted(m.value for m in missing)}")
        keys = [s.key for s in self.strategies]
        if len(keys) != len(set(keys)):
            raise ValueError(f"playbook strategy keys repeat: {keys}")
        return self

    def for_problem(self, category: RootCause, kpi_name: str) -> Strategy:
        """The strategy for a problem: same category, preferring one that moves its KPI."""
        same = [s for s in self.strategies if s.category == category]
        return next((s for s in same if kpi_name in s.kpis), same[0])

    def strategy(self, key: str) -> Strategy:
        """Strategy `key`; KeyError names the known keys."""
        for s in self.strategies:
            if s.key == key:
                return s
        raise KeyError(f"no strategy {key!r}; known: {', '.join(s.key for s in self.strategies)}")

    def extended(self, extension: PlaybookExtension) -> Playbook:
        """This playbook with a programme's own: same-key strategies replaced, new ones
        added, `remove` keys dropped; `mode: replace` uses the programme's alone."""
        if extension.mode == "replace":
            return Playbook(strategies=extension.strategies)
        unknown = sorted(set(extension.remove) - {s.key for s in self.strategies})
        if unknown:
            raise ValueError(f"remove names strategies the playbook does not have: {unknown}")
        own = {s.key: s for s in extension.strategies}
        kept = [own.pop(s.key, s) for s in self.strategies if s.key not in extension.remove]
        return Playbook(strategies=(*kept, *own.values()))


class PlaybookExtension(Model):
    """A programme's playbook file: strategies that extend or override the embedded one."""

    schema_version: Literal[1] = 1
    mode: Literal["extend", "replace"] = Field(
        default="extend",
        description="extend: merge by strategy key into the default; replace: use only these.",
    )
    strategies: tuple[Strategy, ...] = ()
    remove: tuple[str, ...] = Field(default=(), description="Default strategy keys to drop.")


class EvidenceRule(Model):
    """Maps a kind of evidence to a root-cause category (kept in config/)."""

    category: RootCause
    dimension: Literal["agent", "category", "channel", "team", "priority", "region", "product"]
    signal: Literal["concentration", "rework", "extra_contacts", "load"]
    threshold: float = Field(gt=0, description="Signal strength from which the rule fires.")
    kpis: tuple[KpiName, ...] = Field(
        default=(), description="The KPIs whose gaps the rule reads; empty: every KPI."
    )
    explanation: Text


class RootCauseRules(Model):
    """The evidence rules the diagnosis applies."""

    schema_version: Literal[1] = 1
    rules: tuple[EvidenceRule, ...] = Field(min_length=1)
