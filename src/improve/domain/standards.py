"""Service standards and operating guides (服务标准与操作指南): the templates they are built
from, the document with its modules, and its versions V1.0, V1.1 ... with their change log
and three-level review (初审 author -> 二审 cross-department heads -> 终审 final sign-off).

Measures that worked in a cycle become a standard; stakeholders edit its workbook and every
edit becomes the next version, reviewed before it is published. Every version is kept: the
one published before a newer one stays readable as superseded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, Field, field_validator, model_validator

from improve.domain.base import ArtifactRef, Model, Text
from improve.domain.gate import ReviewLevel
from improve.domain.kpi import KPI_NAMES, KPIS

TemplateKey = Literal["general", "industry", "simplified"]
TEMPLATE_KEYS: tuple[TemplateKey, ...] = ("general", "industry", "simplified")
ModuleKey = Literal["basic", "standards", "guide", "quality", "emergency", "compliance"]
MODULES: tuple[ModuleKey, ...] = (
    "basic", "standards", "guide", "quality", "emergency", "compliance",
)  # fmt: skip
MODULE_TITLES: dict[str, Text] = {
    "basic": Text(zh="基本信息", en="Basic information"),
    "standards": Text(zh="服务标准规范", en="Service standards"),
    "guide": Text(zh="操作指南", en="Operating guide"),
    "quality": Text(zh="质量管控与考核", en="Quality control and scoring"),
    "emergency": Text(zh="应急处理机制", en="Emergency handling"),
    "compliance": Text(zh="行业规范与风险控制", en="Industry rules and risk control"),
}
TEMPLATE_TITLES: dict[str, Text] = {
    "general": Text(zh="通用型模板", en="general template"),
    "industry": Text(zh="行业定制型模板", en="industry-specific template"),
    "simplified": Text(zh="简化型模板", en="simplified template"),
}

VersionStatus = Literal["draft", "in_review", "published", "rejected", "superseded"]
STATUS_TITLES: dict[str, Text] = {
    "draft": Text(zh="草稿", en="draft"),
    "in_review": Text(zh="审核中", en="in review"),
    "published": Text(zh="已发布", en="published"),
    "rejected": Text(zh="已驳回", en="rejected"),
    "superseded": Text(zh="已被替代", en="superseded"),
}
Decision = Literal["approved", "rejected"]
DECISION_TITLES: dict[str, Text] = {
    "approved": Text(zh="通过", en="approved"),
    "rejected": Text(zh="驳回", en="rejected"),
}
Origin = Literal["draft", "import"]
REVIEW_MONTHS = 3  # reviewed every quarter (每季度回顾)

TimeUnit = Literal["min", "h", "working_h", "working_day", "day"]
TIME_UNITS: dict[str, Text] = {
    "min": Text(zh="分钟", en="min"),
    "h": Text(zh="小时", en="h"),
    "working_h": Text(zh="个工作小时", en="working hours"),
    "working_day": Text(zh="个工作日", en="working days"),
    "day": Text(zh="天", en="days"),
}
Bound = Literal["at_least", "at_most"]
BOUND_SIGNS: dict[str, str] = {"at_least": "≥", "at_most": "≤"}
TierKind = Literal["reward", "penalty"]
TierBound = Literal["at_least", "below"]
TIER_KINDS: dict[str, Text] = {
    "reward": Text(zh="奖励", en="reward"),
    "penalty": Text(zh="改进要求", en="penalty"),
}
# Units of KPI values as a threshold shows them (KPI.md's units; rates in percent).
VALUE_UNITS: dict[str, Text] = {
    "min": Text(zh="分钟", en="min"),
    "h": Text(zh="小时", en="h"),
    "%": Text(zh="%", en="%"),
    "pts": Text(zh="分", en="pts"),
    "tickets": Text(zh="张", en="tickets"),
}

MAX_TEXT = 2000
MAX_ITEMS = 200

# What each field is called where people read it: change log entries, workbook rows.
FIELD_LABELS: dict[str, Text] = {
    "name": Text(zh="名称", en="name"),
    "positioning": Text(zh="定位与目标用户", en="positioning and users"),
    "scope": Text(zh="核心服务内容", en="core services"),
    "applies_to": Text(zh="适用部门", en="applies to"),
    "owner": Text(zh="负责人", en="owner"),
    "process": Text(zh="服务流程", en="service process"),
    "output": Text(zh="输出", en="output"),
    "response_times": Text(zh="响应时效标准", en="response-time standard"),
    "scenario": Text(zh="场景", en="scenario"),
    "respond": Text(zh="响应时限", en="respond within"),
    "resolve": Text(zh="解决时限", en="resolve within"),
    "kpi": Text(zh="对应指标", en="KPI"),
    "basis": Text(zh="依据", en="basis"),
    "acceptance": Text(zh="质量验收标准", en="acceptance criterion"),
    "criterion": Text(zh="验收项", en="criterion"),
    "threshold": Text(zh="标准值", en="threshold"),
    "bound": Text(zh="方向", en="bound"),
    "value": Text(zh="数值", en="value"),
    "unit": Text(zh="单位", en="unit"),
    "qualifications": Text(zh="人员资质要求", en="staff qualification"),
    "measures": Text(zh="固化措施", en="standardised measure"),
    "text": Text(zh="内容", en="text"),
    "scenarios": Text(zh="操作场景", en="scenario"),
    "steps": Text(zh="步骤", en="step"),
    "notes": Text(zh="注意事项", en="note"),
    "indicators": Text(zh="过程监控指标", en="process indicator"),
    "evaluation": Text(zh="结果评估方式", en="how results are assessed"),
    "weights": Text(zh="考核权重", en="scoring weights"),
    "weight": Text(zh="权重（%）", en="weight (%)"),
    "teams": Text(zh="适用团队", en="teams"),
    "tiers": Text(zh="奖惩梯度", en="reward and penalty tier"),
    "kind": Text(zh="类别", en="kind"),
    "months": Text(zh="连续月数", en="consecutive months"),
    "score": Text(zh="评分", en="score"),
    "action": Text(zh="措施", en="action"),
    "plans": Text(zh="应急预案", en="emergency plan"),
    "trigger": Text(zh="触发条件", en="trigger"),
    "contact": Text(zh="内部联络渠道", en="internal contact channel"),
    "within": Text(zh="时限", en="within"),
    "regulations": Text(zh="行业规范对接", en="industry rule"),
    "risks": Text(zh="风险控制", en="risk control"),
}


def field_label(name: str) -> Text:
    """The label of a document field; an unknown name stands for itself."""
    return FIELD_LABELS.get(name, Text(zh=name, en=name))


def number(value: float) -> str:
    """A number as people write it: 15, 4.5, 63.1 (no trailing zeros)."""
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _known_kpi(name: str) -> str:
    if name not in KPI_NAMES:
        raise ValueError(f"unknown KPI {name!r}; use one of {', '.join(KPI_NAMES)}")
    return name


KpiName = Annotated[str, AfterValidator(_known_kpi)]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


class Keyed(Protocol):
    """An item of a list whose entries are matched by key across versions."""

    @property
    def key(self) -> str: ...


def _unique(items: Sequence[Keyed], what: str) -> None:
    keys = [i.key for i in items]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"{what}: keys {twice} repeat; give every item its own key")


def _short(text: Text, limit: int = 24) -> Text:
    def cut(s: str) -> str:
        return s if len(s) <= limit else s[: limit - 1] + "…"

    return Text(zh=cut(text.zh), en=cut(text.en))


class Limit(Model):
    """A time limit: 15 minutes, 2 hours, 4 working hours."""

    value: float = Field(gt=0, le=100_000)
    unit: TimeUnit

    def text(self) -> Text:
        """The limit in words."""
        unit = TIME_UNITS[self.unit]
        return Text(zh=f"{number(self.value)} {unit.zh}", en=f"{number(self.value)} {unit.en}")


class Threshold(Model):
    """A measurable bound: CSAT ≥ 4.5 pts, first-contact resolution ≥ 63.1%."""

    bound: Bound
    value: float
    unit: str = Field(default="", max_length=16, description="%, pts, min, h, tickets, ...")

    def text(self) -> Text:
        """The bound in words, like ≥ 63.1%."""
        unit = VALUE_UNITS.get(self.unit, Text(zh=self.unit, en=self.unit))
        sign = BOUND_SIGNS[self.bound]
        zh = f"{sign} {number(self.value)}{'' if unit.zh == '%' else ' '}{unit.zh}".rstrip()
        en = f"{sign} {number(self.value)}{'' if unit.en == '%' else ' '}{unit.en}".rstrip()
        return Text(zh=zh, en=en)


class Clause(Model):
    """One rule of the standard, with where it comes from."""

    key: Key
    text: Text
    basis: Text | None = None

    def title(self) -> Text:
        """How the change log names it."""
        return _short(self.text)


class ProcessStep(Model):
    """One node of the service process (咨询接入 → 问题识别 → ...), with what it hands on."""

    key: Key
    name: Text
    output: Text

    def title(self) -> Text:
        """How the change log names it."""
        return self.name


class ResponseTime(Model):
    """A response-time standard of one scenario: respond within, resolve within, and why
    those values (a template default, or what the cycle measured)."""

    key: Key
    scenario: Text
    respond: Limit | None = None
    resolve: Limit | None = None
    kpi: KpiName | None = Field(default=None, description="The KPI that measures it, if any.")
    basis: Text

    @model_validator(mode="after")
    def _a_limit(self) -> ResponseTime:
        if self.respond is None and self.resolve is None:
            raise ValueError(f"response time {self.key}: give a respond or a resolve limit")
        return self

    def title(self) -> Text:
        """How the change log names it."""
        return self.scenario


class Criterion(Model):
    """A quality acceptance criterion (质量验收标准): measurable where a threshold is given."""

    key: Key
    criterion: Text
    threshold: Threshold | None = None
    kpi: KpiName | None = None
    basis: Text

    def title(self) -> Text:
        """How the change log names it."""
        return _short(self.criterion)


class Scenario(Model):
    """An operating-guide scenario (场景 → 步骤 → 注意事项)."""

    key: Key
    name: Text
    steps: tuple[Text, ...] = Field(min_length=1, max_length=MAX_ITEMS)
    notes: tuple[Text, ...] = Field(default=(), max_length=MAX_ITEMS)

    def title(self) -> Text:
        """How the change log names it."""
        return self.name


class KpiWeight(Model):
    """One KPI's weight in a role's monthly score, in percent."""

    key: KpiName
    weight: float = Field(ge=0, le=100)

    def title(self) -> Text:
        """The KPI's name."""
        return KPIS[self.key].label


class RoleWeights(Model):
    """The monthly scoring weights of one role (customer service weighs satisfaction more,
    technical support resolution); `default` applies to teams of no role."""

    key: Key
    name: Text
    teams: tuple[str, ...] = Field(default=(), description="Ticket teams scored this way.")
    weights: tuple[KpiWeight, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _adds_up(self) -> RoleWeights:
        _unique(self.weights, f"weights of {self.key}")
        total = sum(w.weight for w in self.weights)
        if abs(total - 100) > 0.01:
            raise ValueError(f"weights of {self.key} add up to {number(total)}%, not 100%")
        return self

    def title(self) -> Text:
        """How the change log names it."""
        return self.name


class Tier(Model):
    """A reward or penalty tier: N consecutive months scored at least (or below) S."""

    key: Key
    kind: TierKind
    months: int = Field(ge=1, le=12)
    bound: TierBound
    score: float = Field(ge=0, le=100)
    action: Text

    def condition(self) -> Text:
        """The condition in words."""
        sign = "≥" if self.bound == "at_least" else "<"
        return Text(
            zh=f"连续 {self.months} 个月评分 {sign} {number(self.score)} 分",
            en=f"{self.months} consecutive month(s) scored {sign} {number(self.score)}",
        )

    def title(self) -> Text:
        """How the change log names it."""
        return self.condition()


class EmergencyStep(Model):
    """One step of an emergency plan: what, by whom, within how long."""

    key: Key
    action: Text
    within: Limit | None = None
    owner: Text

    def title(self) -> Text:
        """How the change log names it."""
        return _short(self.action)


class EmergencyPlan(Model):
    """How one kind of incident is handled (系统宕机, 数据泄露, ...)."""

    key: Key
    scenario: Text
    trigger: Text
    contact: Text = Field(description="An internal channel, never a personal phone or e-mail.")
    steps: tuple[EmergencyStep, ...] = Field(min_length=1, max_length=MAX_ITEMS)

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: tuple[EmergencyStep, ...]) -> tuple[EmergencyStep, ...]:
        _unique(steps, "emergency steps")
        return steps

    def title(self) -> Text:
        """How the change log names it."""
        return self.scenario


class BasicInfo(Model):
    """产品/服务基本信息: name, positioning and users, core services, who it applies to."""

    name: Text
    positioning: Text
    scope: tuple[Text, ...] = Field(default=(), max_length=MAX_ITEMS)
    applies_to: tuple[Text, ...] = Field(default=(), max_length=MAX_ITEMS)
    owner: str = Field(min_length=1, max_length=100)


class ServiceStandards(Model):
    """服务标准规范: process, response times, acceptance criteria, staff qualifications and
    the measures of the cycle made standard."""

    process: tuple[ProcessStep, ...] = Field(default=(), max_length=MAX_ITEMS)
    response_times: tuple[ResponseTime, ...] = Field(default=(), max_length=MAX_ITEMS)
    acceptance: tuple[Criterion, ...] = Field(default=(), max_length=MAX_ITEMS)
    qualifications: tuple[Clause, ...] = Field(default=(), max_length=MAX_ITEMS)
    measures: tuple[Clause, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _keys(self) -> ServiceStandards:
        for name in ("process", "response_times", "acceptance", "qualifications", "measures"):
            _unique(getattr(self, name), name)
        return self


class OperatingGuide(Model):
    """操作指南详解: scenarios, each with its steps and notes."""

    scenarios: tuple[Scenario, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _keys(self) -> OperatingGuide:
        _unique(self.scenarios, "scenarios")
        return self


class QualityControl(Model):
    """质量管控与考核: process indicators, how results are assessed, scoring weights per role,
    reward and penalty tiers."""

    indicators: tuple[Clause, ...] = Field(default=(), max_length=MAX_ITEMS)
    evaluation: Text
    weights: tuple[RoleWeights, ...] = Field(default=(), max_length=MAX_ITEMS)
    tiers: tuple[Tier, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _keys(self) -> QualityControl:
        for name in ("indicators", "weights", "tiers"):
            _unique(getattr(self, name), name)
        return self


class EmergencyHandling(Model):
    """应急处理机制: a plan per kind of incident."""

    plans: tuple[EmergencyPlan, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _keys(self) -> EmergencyHandling:
        _unique(self.plans, "emergency plans")
        return self


class Compliance(Model):
    """行业规范对接与风险控制 (the industry-specific template's own module)."""

    regulations: tuple[Clause, ...] = Field(default=(), max_length=MAX_ITEMS)
    risks: tuple[Clause, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _keys(self) -> Compliance:
        _unique(self.regulations, "regulations")
        _unique(self.risks, "risks")
        return self


class TemplateBasic(Model):
    """A template's default basic information (the name comes from the programme)."""

    positioning: Text
    scope: tuple[Text, ...] = ()


class StandardTemplate(Model):
    """A document template (config/standards/*.yaml): which modules it has and their default
    content, which a draft completes with what the cycle measured."""

    schema_version: Literal[1] = 1
    key: TemplateKey
    name: Text
    description: Text
    modules: tuple[ModuleKey, ...] = Field(min_length=1)
    basic: TemplateBasic
    standards: ServiceStandards | None = None
    guide: OperatingGuide | None = None
    quality: QualityControl | None = None
    emergency: EmergencyHandling | None = None
    compliance: Compliance | None = None

    @model_validator(mode="after")
    def _modules_match_content(self) -> StandardTemplate:
        if "basic" not in self.modules:
            raise ValueError(
                "modules must include basic (every standard has its basic information)"
            )
        for module in MODULES[1:]:
            listed, given = module in self.modules, getattr(self, module) is not None
            if listed and not given:
                raise ValueError(f"module {module} is listed but has no content; add {module}:")
            if given and not listed:
                raise ValueError(f"{module}: has content but is not listed under modules")
        return self


class StandardDocument(Model):
    """服务标准与操作指南: basic information and the template's other modules (a module the
    template leaves out is None)."""

    schema_version: Literal[1] = 1
    key: Key = Field(description="The standard's key in its programme.")
    template: TemplateKey
    basic: BasicInfo
    standards: ServiceStandards | None = None
    guide: OperatingGuide | None = None
    quality: QualityControl | None = None
    emergency: EmergencyHandling | None = None
    compliance: Compliance | None = None

    @property
    def modules(self) -> tuple[ModuleKey, ...]:
        """The modules the document has, in document order."""
        return tuple(m for m in MODULES if m == "basic" or getattr(self, m) is not None)


_VERSION = re.compile(r"^V(\d{1,4})\.(\d{1,4})$")
FIRST_VERSION = "V1.0"


def parse_version(label: str) -> tuple[int, int]:
    """(major, minor) of a label like V1.10; ValueError says the format."""
    found = _VERSION.match(label)
    if found is None:
        raise ValueError(f"{label!r} is not a version; write it like V1.0 or V1.1")
    return int(found[1]), int(found[2])


def next_version(label: str, *, major: bool = False) -> str:
    """The version after `label`: a revision adds 0.1 (V1.9 -> V1.10), a major one starts
    the next whole number (V1.4 -> V2.0)."""
    first, second = parse_version(label)
    return f"V{first + 1}.0" if major else f"V{first}.{second + 1}"


def _version_label(label: str) -> str:
    parse_version(label)
    return label


VersionLabel = Annotated[str, AfterValidator(_version_label)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone; pass a UTC one")
    return value


Timestamp = Annotated[datetime, AfterValidator(_aware)]


class DocumentChange(Model):
    """One changed field between two documents, in words (both languages)."""

    field: str = Field(description="Where: module.list[key].field, empty for the whole draft.")
    what: Text
    before: Text | None = None
    after: Text | None = None


class ChangeEntry(DocumentChange):
    """A change log entry (修订记录): what changed, who changed it, when."""

    who: str = Field(min_length=1, max_length=100)
    when: Timestamp


class ReviewDecision(Model):
    """One reviewer's decision at one level of the three-level review."""

    level: ReviewLevel
    reviewer: str = Field(min_length=1, max_length=100)
    decision: Decision
    comment: str | None = Field(default=None, max_length=MAX_TEXT)
    at: Timestamp


class PeriodicReview(Model):
    """The quarterly review of a published version: it still fits (每季度回顾)."""

    reviewer: str = Field(min_length=1, max_length=100)
    comment: str | None = Field(default=None, max_length=MAX_TEXT)
    at: Timestamp


class StandardVersion(Model):
    """One version of a standard: its document, how it came about (the change log) and where
    its review stands."""

    schema_version: Literal[1] = 1
    programme: str = Field(min_length=1)
    key: Key
    version: VersionLabel
    status: VersionStatus = "draft"
    origin: Origin = Field(description="Drafted from a cycle, or imported from its workbook.")
    revises: VersionLabel | None = Field(default=None, description="The version it revises.")
    summary: str | None = Field(default=None, max_length=MAX_TEXT, description="Why revised.")
    document: StandardDocument
    changes: tuple[ChangeEntry, ...] = Field(min_length=1)
    reviews: tuple[ReviewDecision, ...] = ()
    periodic: tuple[PeriodicReview, ...] = ()
    created_by: str = Field(min_length=1, max_length=100)
    created_at: Timestamp
    published_at: Timestamp | None = None
    cycle: str | None = Field(default=None, description="The cycle whose measures it holds.")
    derived_from: tuple[ArtifactRef, ...] = Field(
        default=(), description="The cycle's artifacts it was drafted from."
    )

    @model_validator(mode="after")
    def _consistent(self) -> StandardVersion:
        if self.document.key != self.key:
            raise ValueError(f"the document is standard {self.document.key}, not {self.key}")
        if self.status == "published" and self.published_at is None:
            raise ValueError(f"{self.version}: a published version needs published_at")
        if self.status in ("draft", "in_review", "rejected") and self.published_at is not None:
            raise ValueError(f"{self.version}: a {self.status} version was never published")
        return self

    @property
    def order(self) -> tuple[int, int]:
        """Sort key: (major, minor)."""
        return parse_version(self.version)

    @property
    def last_reviewed(self) -> datetime | None:
        """When it was published or last confirmed at its quarterly review."""
        times = [t for t in (self.published_at, *(p.at for p in self.periodic)) if t]
        return max(times) if times else None
