"""Stakeholders' review of a diagnosed problem: the 5-Why chain, the fishbone causes, the
root-cause category they confirm or correct, and their feasibility rating.

The engine writes one worksheet per problem; what comes back is a `ProblemReview`, merged into
the next version of the diagnosis report (a confirmed category replaces the suggested one, a
rating replaces the playbook's feasibility)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from improve.domain.base import Model, RootCause

MAX_WHYS = 5
MAX_TEXT = 1000  # a why or the root cause
MAX_CAUSE = 500
MAX_COMMENT = 2000
MAX_NAME = 100


class FishboneCause(Model):
    """One cause on one bone of the fishbone."""

    category: RootCause
    text: str = Field(min_length=1, max_length=MAX_CAUSE, description="The cause, as written.")


class ProblemReview(Model):
    """One problem's review as its stakeholders filled it in."""

    problem_key: str = Field(
        min_length=1, description="The problem's stable key (category/dimension/segment)."
    )
    confirmed_category: RootCause | None = Field(
        default=None, description="The category they confirm or correct; None: not decided."
    )
    whys: tuple[str, ...] = Field(
        default=(), max_length=MAX_WHYS, description="Why 1 .. Why n, each answering the last."
    )
    root_cause: str | None = Field(
        default=None, max_length=MAX_TEXT, description="The root cause the chain arrives at."
    )
    causes: tuple[FishboneCause, ...] = Field(
        default=(), description="Contributing causes by fishbone category."
    )
    feasibility: int | None = Field(
        default=None, ge=1, le=5, description="Stakeholders' rating, 1 hard .. 5 easy."
    )
    reviewer: str = Field(min_length=1, max_length=MAX_NAME)
    reviewed_on: date
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)

    @field_validator("whys")
    @classmethod
    def _whys_answered(cls, whys: tuple[str, ...]) -> tuple[str, ...]:
        if any(not w.strip() for w in whys):
            raise ValueError("a why in the chain is empty")
        return whys

    @property
    def feasibility_score(self) -> float | None:
        """The rating on the engine's 0..1 feasibility scale (1 -> 0.2, 5 -> 1.0)."""
        return None if self.feasibility is None else self.feasibility / 5

    def causes_of(self, category: RootCause) -> tuple[str, ...]:
        """The causes written on one bone."""
        return tuple(c.text for c in self.causes if c.category == category)


class RootCauseReview(Model):
    """A filled-in worksheet: which diagnosis version it answers and the problems reviewed."""

    diagnosis_id: str = Field(description="The diagnosis artifact id (programme/cycle/diagnose).")
    diagnosis_version: int = Field(ge=1)
    reviews: tuple[ProblemReview, ...]
