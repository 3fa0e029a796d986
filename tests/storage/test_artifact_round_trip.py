"""Property tests of the store's JSON round trip (SQLite, and PostgreSQL when
IMPROVE_TEST_POSTGRES_URL is set): every stage artifact, both cadence reports and standard
versions, generated from their pydantic schemas (every field, its constraints and the
models' validators), come back equal with an unchanged content hash."""

from __future__ import annotations

import functools
import itertools
import math
import re
import types
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import Engine
from tests.samples import make_artifacts, make_optimisation, make_plan

from improve.config import load_standard_template
from improve.domain.artifacts import (
    ARTIFACT_TYPES,
    EvaluationReport,
    ImplementationPlan,
    RaciEntry,
    Target,
)
from improve.domain.base import Artifact, Direction, Stage
from improve.domain.hashing import canonical_json, content_hash
from improve.domain.kpi import KPI_NAMES
from improve.domain.meetings import MonthlyRetrospective, WeeklyReview
from improve.domain.programme import Programme, RatingWeights
from improve.domain.review import ProblemReview
from improve.domain.standards import KpiWeight, Limit, ResponseTime, RoleWeights, StandardVersion
from improve.errors import StorageError
from improve.stages.standards import draft_standard
from improve.storage import repository as repo
from improve.storage import standards as standards_store
from improve.storage.db import session_factory

# The store is one database per test (the `engine` fixture), shared by its examples on
# purpose: each example stores into a cycle (or standard) of its own.
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAX_ITEMS = 2  # per tuple or dict: enough for every shape, small enough to stay quick
_counter = itertools.count(1)
KEY = "demo"  # the `care` programme of conftest.py

# --- strategies from the pydantic schema ------------------------------------------------------

# Any character that UTF-8 can carry (NUL, controls, CJK, emoji), stripped or not.
TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
FLOATS = {"allow_nan": False, "allow_infinity": False}  # JSON has no NaN (see the last test)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-9.5))])
AWARE = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=ZONES)


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    """ge/gt/le/lt, min/max length, pattern and after-validators of a field, flattened."""
    out: dict[str, Any] = {"validators": []}
    for m in metadata:
        if isinstance(m, FieldInfo):
            out.update({k: v for k, v in _bounds(list(m.metadata)).items() if k != "validators"})
            continue
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            if getattr(m, name, None) is not None:
                out[name] = getattr(m, name)
        if callable(getattr(m, "func", None)):
            out["validators"].append(m.func.__name__)
    return out


def _text(b: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = b.get("min_length", 0), b.get("max_length", 10**9)
    if "pattern" in b:
        pattern = b["pattern"]
        base = st.from_regex(pattern, fullmatch=True).filter(
            lambda s: s == s.strip() and re.search(pattern, s) is not None
        )
    else:
        base = st.text(st.characters(codec="utf-8"), min_size=low, max_size=max(low, 8))
    return base.filter(lambda s: low <= len(s.strip()) <= high)


def for_type(tp: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
    """Values of annotation `tp` satisfying the constraints in `metadata`."""
    b = _bounds(list(metadata))
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return for_type(args[0], [*metadata, *tp.__metadata__])
    if "_known_kpi" in b["validators"]:
        return st.sampled_from(KPI_NAMES)
    if "_version_label" in b["validators"]:  # V0.x is a valid label the store refuses
        return st.from_regex(r"V[1-9][0-9]{0,3}\.[0-9]{1,4}", fullmatch=True)
    if origin in (Union, types.UnionType):
        return st.one_of(*(for_type(a, metadata) for a in args))
    if tp is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(args)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return instances(tp)
    if tp is bool:
        return st.booleans()
    if tp is int:
        low = b["ge"] if "ge" in b else (b["gt"] + 1 if "gt" in b else None)
        high = b["le"] if "le" in b else (b["lt"] - 1 if "lt" in b else None)
        return st.integers(low, high)
    if tp is float:
        return st.floats(
            b.get("ge", b.get("gt")),
            b.get("le", b.get("lt")),
            exclude_min="gt" in b,
            exclude_max="lt" in b,
            **FLOATS,
        )
    if tp is str:
        return _text(b)
    if tp is datetime:
        return AWARE
    if tp is date:
        return st.dates()
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        low = b.get("min_length", 0)
        return st.lists(for_type(args[0]), min_size=low, max_size=max(low, MAX_ITEMS)).map(tuple)
    if origin is tuple:
        return st.tuples(*(for_type(a) for a in args))
    if origin is dict:
        return st.dictionaries(for_type(args[0]), for_type(args[1]), max_size=MAX_ITEMS)
    raise NotImplementedError(f"no strategy for {tp!r}: teach for_type about it")


Fixup = Callable[[st.DrawFn, dict[str, Any]], dict[str, Any]]


def _target(draw: st.DrawFn, kw: dict[str, Any]) -> dict[str, Any]:
    """A target better than its baseline in its KPI's direction."""
    low, high = sorted((kw["baseline"], kw["target"]))
    if low == high:
        reject()
    lower = kw["direction"] == Direction.LOWER
    return kw | {"baseline": high if lower else low, "target": low if lower else high}


def _plan(draw: st.DrawFn, kw: dict[str, Any]) -> dict[str, Any]:
    """RACI with exactly one A and at least one R per task (tasks by id)."""
    tasks = tuple({t.id: t for t in kw["tasks"]}.values())
    others = tuple(e for e in kw["raci"] if e.letter in ("C", "I"))
    dept = st.sampled_from(("support", "tech", "客服"))
    owners = tuple(
        RaciEntry(task_id=t.id, department=draw(dept), letter=letter)
        for t in tasks
        for letter in ("A", "R")
    )
    return kw | {"tasks": tasks, "raci": draw(st.permutations(owners + others))}


def _review(draw: st.DrawFn, kw: dict[str, Any]) -> dict[str, Any]:
    return kw | {"whys": tuple(w for w in kw["whys"] if w.strip())}


def _response_time(draw: st.DrawFn, kw: dict[str, Any]) -> dict[str, Any]:
    if kw["respond"] is None and kw["resolve"] is None:
        kw = kw | {"respond": draw(instances(Limit))}
    return kw


def _version(draw: st.DrawFn, kw: dict[str, Any]) -> dict[str, Any]:
    """The document is the version's standard; only a published version has published_at."""
    document = kw["document"].model_copy(update={"key": kw["key"]})
    published = kw["published_at"]
    if kw["status"] == "published" and published is None:
        published = draw(AWARE)
    if kw["status"] in ("draft", "in_review", "rejected"):
        published = None
    return kw | {"document": document, "published_at": published}


FIXUPS: dict[type[BaseModel], Fixup] = {
    Target: _target,
    ImplementationPlan: _plan,
    ProblemReview: _review,
    ResponseTime: _response_time,
    StandardVersion: _version,
}


@st.composite
def _weights(draw: st.DrawFn) -> RatingWeights:
    targets = draw(st.floats(0, 1))
    customer = draw(st.floats(0, 1 - targets))
    return RatingWeights(targets=targets, customer=customer, discipline=1 - targets - customer)


@st.composite
def _role_weights(draw: st.DrawFn) -> RoleWeights:
    """Distinct KPIs whose whole-number weights add up to 100%."""
    kpis = draw(st.lists(st.sampled_from(KPI_NAMES), min_size=1, max_size=3, unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(kpis) - 1, max_size=3)))
    cuts = [0, *cuts[: len(kpis) - 1], 100]
    key, name = (RoleWeights.model_fields[f] for f in ("key", "name"))
    return RoleWeights(
        key=draw(for_type(key.annotation, key.metadata)),
        name=draw(for_type(name.annotation, name.metadata)),
        weights=tuple(
            KpiWeight(key=k, weight=hi - lo)
            for k, lo, hi in zip(kpis, cuts, cuts[1:], strict=False)
        ),
    )


OVERRIDES: dict[type[BaseModel], st.SearchStrategy[Any]] = {
    RatingWeights: _weights(),
    RoleWeights: _role_weights(),
}


def _unique_keys(kw: dict[str, Any]) -> dict[str, Any]:
    """Lists of keyed items (standards' clauses, steps, ...) keep the first of each key."""
    out = dict(kw)
    for name, value in kw.items():
        if isinstance(value, tuple) and value and all(hasattr(v, "key") for v in value):
            out[name] = tuple({v.key: v for v in reversed(value)}.values())[::-1]
    return out


@functools.cache
def instances(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid instances of `cls`: every field drawn from its annotation and constraints, then
    what the model's validators ask for beyond them (FIXUPS); a rare leftover is rejected."""
    if cls in OVERRIDES:
        return OVERRIDES[cls]
    fields = st.fixed_dictionaries(
        {name: for_type(f.annotation, f.metadata) for name, f in cls.model_fields.items()}
    )

    @st.composite
    def build(draw: st.DrawFn) -> BaseModel:
        kw = _unique_keys(draw(fields))
        if cls in FIXUPS:
            kw = FIXUPS[cls](draw, kw)
        try:
            return cls(**kw)
        except ValidationError:
            reject()

    return build()


# --- the round trips ----------------------------------------------------------------------


@pytest.fixture
def store(engine: Engine, care: Programme) -> Engine:
    """A migrated store with the programme the artifacts are filed under."""
    assert care.key == KEY
    with session_factory(engine).begin() as session:
        repo.save_programme(session=session, programme=care)
    return engine


def _cycle() -> str:
    return f"c{next(_counter)}"


@pytest.mark.parametrize("stage", list(ARTIFACT_TYPES), ids=lambda s: s.value)
@SETTINGS
@given(data=st.data())
def test_every_artifact_round_trips(store: Engine, stage: Stage, data: st.DataObject) -> None:
    artifact: Artifact = data.draw(instances(ARTIFACT_TYPES[stage]), label="artifact")
    cycle = _cycle()
    with session_factory(store).begin() as session:
        stored, created = repo.save_artifact(
            session=session, programme_key=KEY, cycle_key=cycle, artifact=artifact
        )
    assert created and stored.ref.content_hash == content_hash(artifact)
    # A new session reads the row back from the database, not from the identity map.
    with session_factory(store)() as session:
        loaded = repo.get_artifact(
            session=session, artifact_id=stored.ref.artifact_id, version=stored.ref.version
        )
        again, created = repo.save_artifact(
            session=session, programme_key=KEY, cycle_key=cycle, artifact=loaded.artifact
        )
    assert type(loaded.artifact) is type(artifact)
    assert loaded.artifact == artifact
    assert canonical_json(loaded.artifact) == canonical_json(artifact)
    assert content_hash(loaded.artifact) == loaded.ref.content_hash == stored.ref.content_hash
    assert loaded.ref == stored.ref
    # What was read back is recognised as what is stored: a rerun adds no version.
    assert not created and again.ref == stored.ref


@pytest.mark.parametrize("report_type", [WeeklyReview, MonthlyRetrospective])
@SETTINGS
@given(data=st.data())
def test_cadence_reports_round_trip(
    store: Engine, report_type: type[WeeklyReview | MonthlyRetrospective], data: st.DataObject
) -> None:
    report = data.draw(instances(report_type), label="report")
    cycle = _cycle()
    with session_factory(store).begin() as session:
        stored, created = repo.save_cadence_report(
            session=session,
            programme_key=KEY,
            cycle_key=cycle,
            kind=report.kind,
            period=report.period,
            report=report,
        )
    assert created
    with session_factory(store)() as session:
        [loaded] = repo.cadence_reports(
            session=session, programme_key=KEY, cycle_key=cycle, kind=report.kind
        )
    assert (loaded.period, loaded.version) == (report.period, stored.version)
    back = report_type.model_validate(loaded.payload)
    assert back == report
    assert content_hash(back) == loaded.content_hash == content_hash(report)


def _nul_free(text: str | None) -> str | None:
    return None if text is None else text.replace("\x00", "") or "-"


def _without_nul(version: StandardVersion) -> StandardVersion:
    """The version without NUL in what is stored in text columns rather than in the JSON
    payload (who, the cycle, review decisions): PostgreSQL text cannot hold NUL, so those
    raise psycopg's DataError (reported; JSON payloads escape it and round-trip)."""

    def decided(d: Any) -> Any:
        return d.model_copy(
            update={"reviewer": _nul_free(d.reviewer), "comment": _nul_free(d.comment)}
        )

    return version.model_copy(
        update={
            "created_by": _nul_free(version.created_by),
            "cycle": _nul_free(version.cycle),
            "reviews": tuple(map(decided, version.reviews)),
            "periodic": tuple(map(decided, version.periodic)),
        }
    )


@SETTINGS
@given(data=st.data())
def test_standard_versions_round_trip(store: Engine, data: st.DataObject) -> None:
    """A stored version comes back equal: its document (whose hash is stored), change log,
    timestamps (as the same instants, in UTC) and, once recorded, its review decisions."""
    drawn = _without_nul(data.draw(instances(StandardVersion), label="version"))
    key = f"s{next(_counter)}"
    version = drawn.model_copy(
        update={
            "programme": KEY,
            "key": key,
            "document": drawn.document.model_copy(update={"key": key}),
            "reviews": (),
            "periodic": (),
        }
    )
    with session_factory(store).begin() as session:
        stored, created = standards_store.save_standard_version(
            session=session, version=version, actor="王敏"
        )
    assert created and stored.content_hash == content_hash(version.document)
    with session_factory(store)() as session:
        loaded = standards_store.get_standard(session=session, programme_key=KEY, key=key)
    assert loaded.version == version
    assert content_hash(loaded.version.document) == stored.content_hash
    # Review decisions and quarterly reviews are rows of their own, appended by a review.
    reviewed = version.model_copy(update={"reviews": drawn.reviews, "periodic": drawn.periodic})
    note(f"reviews: {reviewed.reviews}, periodic: {reviewed.periodic}")
    with session_factory(store).begin() as session:
        updated = standards_store.update_standard(
            session=session, stored=loaded, updated=reviewed, actor="李娜"
        )
    with session_factory(store)() as session:
        again = standards_store.get_standard(session=session, programme_key=KEY, key=key)
    assert again.version == updated.version == reviewed
    assert content_hash(again.version.document) == stored.content_hash


def test_a_version_before_v1_is_refused_by_name(store: Engine, care: Programme) -> None:
    """The table's check (major >= 1) is not reported as a concurrent run."""
    draft = draft_standard(
        load_standard_template("general"), make_optimisation(), [], make_plan(),
        programme=care, key="service-standard", author="王敏", at=datetime(2026, 7, 6, tzinfo=UTC),
    )  # fmt: skip
    version = draft.model_copy(update={"version": "V0.9"})
    with session_factory(store)() as session, pytest.raises(StorageError, match=r"start at V1\.0"):
        standards_store.save_standard_version(session=session, version=version, actor="王敏")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_is_refused_on_every_backend(store: Engine, value: float) -> None:
    """JSON has no NaN or infinity: PostgreSQL refused them with a driver error, SQLite
    stored non-standard JSON; now both refuse, naming the value, and store nothing."""
    evaluation = make_artifacts()[Stage.EVALUATE]
    assert isinstance(evaluation, EvaluationReport)
    first = evaluation.results[0].model_copy(update={"baseline": value})
    bad = evaluation.model_copy(update={"results": (first, *evaluation.results[1:])})
    cycle = _cycle()
    with (
        pytest.raises(StorageError, match=r"results\.0\.baseline is not a finite number"),
        session_factory(store).begin() as session,
    ):
        repo.save_artifact(session=session, programme_key=KEY, cycle_key=cycle, artifact=bad)
    with session_factory(store)() as session:
        found = repo.latest_artifact(
            session=session, programme_key=KEY, cycle_key=cycle, stage=Stage.EVALUATE
        )
    assert found is None
