"""The strict base every configuration and artifact model derives from."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Locale = Literal["zh-CN", "en"]


class Model(BaseModel):
    """Frozen, closed model: unknown fields are an error, instances never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(Model):
    """A text shown to people, in both languages the product speaks."""

    zh: str = Field(description="Simplified Chinese (zh-CN) wording.")
    en: str = Field(description="English wording.")

    def get(self, locale: Locale) -> str:
        """The wording for `locale`."""
        return self.zh if locale == "zh-CN" else self.en


class Stage(StrEnum):
    """The six PDCA stages, in the order a cycle runs them."""

    DIAGNOSE = "diagnose"
    TARGET = "target"
    DESIGN = "design"
    EXECUTE = "execute"
    EVALUATE = "evaluate"
    OPTIMISE = "optimise"

    @property
    def order(self) -> int:
        """Position of the stage in the cycle, from 0."""
        return list(Stage).index(self)


class RootCause(StrEnum):
    """The four root-cause categories of the fishbone (人员 / 流程 / 工具 / 资源)."""

    PEOPLE = "people"
    PROCESS = "process"
    TOOLS = "tools"
    RESOURCES = "resources"


ROOT_CAUSE_LABELS: dict[RootCause, Text] = {
    RootCause.PEOPLE: Text(zh="人员", en="People"),
    RootCause.PROCESS: Text(zh="流程", en="Process"),
    RootCause.TOOLS: Text(zh="工具", en="Tools"),
    RootCause.RESOURCES: Text(zh="资源", en="Resources"),
}
# The ticket dimensions a gap is split across, as reports name them.
DIMENSION_LABELS: dict[str, Text] = {
    "channel": Text(zh="渠道", en="channel"),
    "category": Text(zh="问题类别", en="category"),
    "team": Text(zh="团队", en="team"),
    "agent": Text(zh="客服", en="agent"),
    "priority": Text(zh="优先级", en="priority"),
    "region": Text(zh="区域", en="region"),
    "product": Text(zh="产品", en="product"),
}


class Dimension(StrEnum):
    """The four target dimensions: 效率 / 质量 / 体验 / 成本."""

    EFFICIENCY = "efficiency"
    QUALITY = "quality"
    EXPERIENCE = "experience"
    COST = "cost"


class Direction(StrEnum):
    """Whether a KPI improves by going down or up."""

    LOWER = "lower"
    HIGHER = "higher"


class ArtifactRef(Model):
    """Identity of one stored artifact version: what a later artifact was derived from."""

    stage: Stage = Field(description="Stage that produced the artifact.")
    artifact_id: str = Field(min_length=1, description="Stable id of the artifact in its cycle.")
    version: int = Field(ge=1, description="Version number, 1 for the first.")
    content_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the artifact's canonical JSON."
    )


class Artifact(Model):
    """Common header of the six stage artifacts."""

    schema_version: Literal[1] = Field(default=1, description="Version of the stored JSON layout.")
    programme: str = Field(min_length=1, description="Key of the programme the cycle belongs to.")
    cycle: str = Field(min_length=1, description="Key of the cycle within the programme.")
    derived_from: tuple[ArtifactRef, ...] = Field(
        default=(), description="The stored artifact versions this one was computed from."
    )
