"""Service standards as pure functions: the templates, what a draft holds (measured response
times and acceptance criteria with their basis, the measures, the programme's weights), the
version arithmetic, the change log of a revision, and the three-level review: its order, who
may decide at each level, rejection, publication superseding the version published before,
and the quarterly review dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.samples import make_optimisation, make_plan

from improve.config import default_config_dir, load_standard_template
from improve.domain.artifacts import TargetResult
from improve.domain.calendar import months_later
from improve.domain.programme import Programme
from improve.domain.standards import (
    Limit,
    StandardDocument,
    StandardTemplate,
    StandardVersion,
    next_version,
    parse_version,
)
from improve.errors import ApprovalError, ConfigError, StageError
from improve.stages.standards import (
    awaiting,
    confirm_standard,
    document_diff,
    draft_document,
    draft_standard,
    due_for_review,
    next_review,
    review_standard,
    revise_standard,
    superseded_draft,
)

AT = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
EVALUATED = (date(2026, 4, 1), date(2026, 6, 30))
HEADS = ("李娜", "张伟", "陈静", "刘洋")


def _result(kpi: str, baseline: float, target: float, actual: float, met: bool) -> TargetResult:
    achievement = (baseline - actual) / (baseline - target)
    return TargetResult(
        target_id=f"T-{kpi}",
        kpi=kpi,
        baseline=baseline,
        target=target,
        actual=actual,
        achievement=round(achievement, 4),
        achievement_display=min(1.5, achievement),
        met=met,
    )


RESULTS = (
    _result("frt_median_min", 142.0, 115.6, 110.3, True),
    _result("fcr_rate", 0.62, 0.668, 0.64, False),
    _result("resolution_p90_h", 40.0, 30.0, 26.0, True),
)


@pytest.fixture(scope="module")
def general() -> StandardTemplate:
    return load_standard_template("general")


def _draft(template: StandardTemplate, programme: Programme) -> StandardVersion:
    return draft_standard(
        template,
        make_optimisation(),
        RESULTS,
        make_plan(),
        programme=programme,
        key="service-standard",
        author="王敏",
        at=AT,
        evaluated=EVALUATED,
    )


@pytest.mark.parametrize(
    ("label", "major", "expected"),
    [
        ("V1.0", False, "V1.1"),
        ("V1.1", False, "V1.2"),
        ("V1.9", False, "V1.10"),
        ("V1.10", False, "V1.11"),
        ("V1.4", True, "V2.0"),
        ("V2.3", True, "V3.0"),
    ],
)
def test_each_revision_adds_a_tenth_and_a_major_one_starts_the_next_number(
    label: str, major: bool, expected: str
) -> None:
    assert next_version(label, major=major) == expected
    assert parse_version(expected) > parse_version(label)


@pytest.mark.parametrize("bad", ["1.0", "V1", "v1.0", "V1.0.1", "V1.x", ""])
def test_a_label_that_is_not_a_version_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"write it like V1\.0"):
        parse_version(bad)


@pytest.mark.parametrize(
    ("key", "modules"),
    [
        ("general", ("basic", "standards", "guide", "quality", "emergency")),
        ("industry", ("basic", "standards", "guide", "quality", "emergency", "compliance")),
        ("simplified", ("basic", "standards", "guide")),
    ],
)
def test_the_three_templates_and_their_modules(
    key: str, modules: tuple[str, ...], programme: Programme
) -> None:
    template = load_standard_template(key)
    assert template.key == key and template.modules == modules
    document = _draft(template, programme).document
    assert document.modules == modules
    assert document.template == key
    for module in ("quality", "emergency", "compliance"):
        assert (getattr(document, module) is None) == (module not in modules)


def test_an_unknown_template_or_a_module_without_content_is_a_config_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="use one of general, industry, simplified"):
        load_standard_template("fancy")
    source = (default_config_dir() / "standards" / "simplified.yaml").read_text(encoding="utf-8")
    (tmp_path / "simplified.yaml").write_text(
        source.replace("[basic, standards, guide]", "[basic, standards, guide, quality]"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="module quality is listed but has no content"):
        load_standard_template("simplified", tmp_path)


def test_the_draft_states_measured_response_times_with_their_basis(
    general: StandardTemplate, programme: Programme
) -> None:
    version = _draft(general, programme)
    assert version.version == "V1.0" and version.status == "draft"
    assert version.origin == "draft" and version.cycle == "2026-H1"
    [entry] = version.changes
    assert (entry.who, entry.when) == ("王敏", AT)
    assert "general template" in entry.what.en and "通用型模板" in entry.what.zh
    standards = version.document.standards
    assert standards is not None
    times = {t.key: t for t in standards.response_times}
    # the template's defaults (the source's examples) ...
    assert times["urgent-fault"].respond == Limit(value=15, unit="min")
    assert times["urgent-fault"].resolve == Limit(value=2, unit="h")
    assert times["routine"].respond == Limit(value=4, unit="working_h")
    # ... and the targets met, at the target value, with what was measured
    frt = times["frt-median-min"]
    assert frt.respond == Limit(value=115.6, unit="min") and frt.resolve is None
    assert frt.kpi == "frt_median_min"
    for part in ("baseline 142 min", "target 115.6 min", "actual 110.3 min", "2026-04-01",
                 "achievement 120%"):  # fmt: skip
        assert part in frt.basis.en
    assert "基线 142 分钟" in frt.basis.zh and "达成率 120%" in frt.basis.zh
    p90 = times["resolution-p90-h"]
    assert p90.resolve == Limit(value=30, unit="h") and p90.respond is None
    assert "90%" in p90.scenario.en
    # an unmet target states no standard
    assert "fcr-rate" not in times
    assert all(c.kpi != "fcr_rate" for c in standards.acceptance)


def test_the_draft_holds_the_measures_their_acceptance_criteria_and_the_weights(
    general: StandardTemplate, programme: Programme
) -> None:
    document = _draft(general, programme).document
    standards, quality = document.standards, document.quality
    assert standards is not None and quality is not None
    [measure] = standards.measures
    assert measure.key == "smart-service"
    assert measure.text.zh == "常规问题 4 个工作小时内答复"
    assert measure.basis is not None and "-46" in measure.basis.zh
    criteria = {c.key: c for c in standards.acceptance}
    # every task of the measure that worked brings its acceptance criterion
    for task in ("research", "vendor", "test", "launch"):
        c = criteria[f"smart-service-{task}"]
        assert c.criterion.en == "Requirements signed off" and c.threshold is None
        assert "Introduce an assistant" in c.basis.en
    assert not any(k.startswith("skills-training") for k in criteria)  # not standardised
    assert criteria["csat-score"].threshold is not None
    assert criteria["csat-score"].threshold.text().en == "≥ 4.5 pts"
    weights = {r.key: {w.key: w.weight for w in r.weights} for r in quality.weights}
    assert weights["default"] == {"frt_median_min": 20, "resolution_median_h": 50, "csat_rate": 30}
    assert weights["customer-service"] == {
        "frt_median_min": 30, "resolution_median_h": 20, "csat_rate": 50,
    }  # fmt: skip
    roles = {r.key: r for r in quality.weights}
    assert roles["technical-support"].teams == ("二线技术组",)
    assert roles["default"].teams == ("账务组",)
    assert [a.zh for a in document.basic.applies_to] == ["客服部", "技术部", "运营部", "产品部"]
    assert document.basic.owner == "王敏"
    outage = next(p for p in document.emergency.plans if p.key == "outage")
    assert [s.within.text().en for s in outage.steps if s.within] == [
        "15 min", "30 min", "2 h", "24 h", "48 h",
    ]  # fmt: skip
    guide = document.guide
    assert guide is not None and "TS" in guide.scenarios[0].steps[0].zh


def test_a_measured_criterion_replaces_the_template_default_on_its_kpi(
    general: StandardTemplate, programme: Programme
) -> None:
    results = (
        *RESULTS,
        _result("csat_mean", 4.1, 4.4, 4.6, True),
        _result("fcr_rate", 0.6, 0.7, 0.75, True),
    )
    document = draft_document(
        general, make_optimisation(), results, make_plan(), programme=programme,
        key="service-standard", evaluated=EVALUATED,
    )  # fmt: skip
    assert document.standards is not None
    criteria = {c.key: c for c in document.standards.acceptance}
    assert "csat-score" not in criteria  # the default 4.5 gave way to the measured target
    assert criteria["csat-mean"].threshold is not None
    assert criteria["csat-mean"].threshold.text().en == "≥ 4.4 pts"
    fcr = criteria["fcr-rate"].threshold
    assert fcr is not None and (fcr.bound, fcr.value, fcr.unit) == ("at_least", 70, "%")
    assert fcr.text().zh == "≥ 70%"


def _edited(document: StandardDocument) -> StandardDocument:
    """Urgent faults answered in 10 minutes, a qualification dropped, a note added."""
    standards, guide = document.standards, document.guide
    assert standards is not None and guide is not None
    times = tuple(
        t.model_copy(update={"respond": Limit(value=10, unit="min")}) if t.key == "urgent-fault"
        else t
        for t in standards.response_times
    )  # fmt: skip
    first = guide.scenarios[0]
    note = first.notes[0].model_copy(update={"zh": "投诉工单 1 小时内首次联系客户"})
    scenarios = (first.model_copy(update={"notes": (note, *first.notes[1:])}), *guide.scenarios[1:])
    return document.model_copy(
        update={
            "standards": standards.model_copy(
                update={"response_times": times, "qualifications": standards.qualifications[:1]}
            ),
            "guide": guide.model_copy(update={"scenarios": scenarios}),
            "emergency": None,
        }
    )


def test_a_revision_logs_each_changed_field_in_words_with_who_and_when(
    general: StandardTemplate, programme: Programme
) -> None:
    v1 = _draft(general, programme)
    later = AT + timedelta(days=2)
    v2 = revise_standard(v1, _edited(v1.document), who="李娜", when=later, summary="更快响应")
    assert (v2.version, v2.revises, v2.status, v2.origin) == ("V1.1", "V1.0", "draft", "import")
    assert v2.summary == "更快响应" and v2.created_by == "李娜"
    by_field = {c.field: c for c in v2.changes}
    assert set(by_field) == {
        "standards.response_times[urgent-fault].respond",
        "standards.qualifications[engineer-experience]",
        "guide.scenarios[complaint].notes#1",
        "emergency",
    }
    respond = by_field["standards.response_times[urgent-fault].respond"]
    assert respond.what.zh == "服务标准规范 · 响应时效标准“紧急故障” · 响应时限"
    assert (
        respond.what.en
        == "Service standards · response-time standard 'Urgent fault' · respond within"
    )
    assert respond.before is not None and respond.after is not None
    assert (respond.before.zh, respond.after.zh) == ("15 分钟", "10 分钟")
    assert (respond.before.en, respond.after.en) == ("15 min", "10 min")
    assert all((c.who, c.when) == ("李娜", later) for c in v2.changes)
    removed = by_field["standards.qualifications[engineer-experience]"]
    assert removed.what.en.startswith("Service standards · removed staff qualification")
    assert by_field["emergency"].what.zh == "删除模块“应急处理机制”"
    note = by_field["guide.scenarios[complaint].notes#1"]
    assert note.after is not None and note.after.zh == "投诉工单 1 小时内首次联系客户"
    # the diff in the other direction names the same fields
    back = document_diff(v2.document, v1.document)
    assert {c.field for c in back} == set(by_field)
    assert {c.what.zh for c in back if c.field == "emergency"} == {"新增模块“应急处理机制”"}
    # the original version is untouched
    assert v1.document.standards is not None
    assert v1.document.standards.response_times[0].respond == Limit(value=15, unit="min")


def test_reordered_items_are_a_change_and_nothing_new_is_no_revision(
    general: StandardTemplate, programme: Programme
) -> None:
    v1 = _draft(general, programme)
    standards = v1.document.standards
    assert standards is not None
    flipped = v1.document.model_copy(
        update={"standards": standards.model_copy(update={"process": standards.process[::-1]})}
    )
    [change] = document_diff(v1.document, flipped)
    assert change.field == "standards.process" and "order" in change.what.en
    with pytest.raises(StageError, match=r"the same as service-standard V1\.0; nothing to revise"):
        revise_standard(v1, v1.document, who="李娜", when=AT)
    v2 = revise_standard(v1, flipped, who="李娜", when=AT, major=True)
    assert v2.version == "V2.0"
    # the draft nobody reviewed yet gives way to its revision
    withdrawn = superseded_draft(v1)
    assert withdrawn is not None and withdrawn.status == "superseded"


def _through(
    history: list[StandardVersion], label: str, programme: Programme, steps: list[tuple[str, str]]
) -> list[StandardVersion]:
    for i, (level, who) in enumerate(steps):
        changed = review_standard(
            history, label, level=level, reviewer=who,
            approvers=programme.approvers, at=AT + timedelta(hours=i + 1),
        )  # fmt: skip
        by_label = {v.version: v for v in changed}
        history = [by_label.get(v.version, v) for v in history]
    return history


ALL_LEVELS = [("author", "王敏"), *(("cross", h) for h in HEADS), ("final", "赵总")]


def test_the_three_levels_go_in_order_and_publish(
    general: StandardTemplate, programme: Programme
) -> None:
    v1 = _draft(general, programme)
    assert awaiting(v1, programme.approvers) == ("author", ("王敏",))
    with pytest.raises(
        ApprovalError, match=r"not ready for the final sign-off.*awaits the author review by 王敏"
    ):
        review_standard([v1], "V1.0", level="final", reviewer="赵总",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    [after_author] = _through([v1], "V1.0", programme, ALL_LEVELS[:1])
    assert after_author.status == "in_review"
    assert awaiting(after_author, programme.approvers) == ("cross", HEADS)
    with pytest.raises(
        ApprovalError, match="the author review is done already; it awaits the cross"
    ):
        review_standard([after_author], "V1.0", level="author", reviewer="王敏",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    [three_heads] = _through([after_author], "V1.0", programme, ALL_LEVELS[1:4])
    assert awaiting(three_heads, programme.approvers) == ("cross", ("刘洋",))
    # the final sign-off waits for every cross-department head
    with pytest.raises(ApprovalError, match="awaits the cross-department review by 刘洋 first"):
        review_standard([three_heads], "V1.0", level="final", reviewer="赵总",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    with pytest.raises(ApprovalError, match="李娜 has approved the cross-department review"):
        review_standard([three_heads], "V1.0", level="cross", reviewer="李娜",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    [published] = _through([three_heads], "V1.0", programme, ALL_LEVELS[4:])
    assert published.status == "published" and published.published_at == AT + timedelta(hours=2)
    assert [(r.level, r.reviewer, r.decision) for r in published.reviews] == [
        (level, who, "approved") for level, who in ALL_LEVELS
    ]
    assert awaiting(published, programme.approvers) is None
    with pytest.raises(ApprovalError, match="is published already"):
        review_standard([published], "V1.0", level="final", reviewer="赵总",
                        approvers=programme.approvers, at=AT)  # fmt: skip


@pytest.mark.parametrize(
    ("level", "who", "allowed"),
    [
        ("author", "李娜", "王敏"),
        ("author", "路人", "王敏"),
    ],
)
def test_only_the_people_listed_for_a_level_decide_at_it(
    level: str, who: str, allowed: str, general: StandardTemplate, programme: Programme
) -> None:
    with pytest.raises(ApprovalError) as refused:
        review_standard([_draft(general, programme)], "V1.0", level=level, reviewer=who,
                        approvers=programme.approvers, at=AT)  # fmt: skip
    message = str(refused.value)
    assert f"{who!r} may not decide the author review of service-standard V1.0" in message
    assert f"only {allowed} may" in message and "approvers.author" in message


def test_a_cross_review_by_someone_not_a_head_names_the_heads(
    general: StandardTemplate, programme: Programme
) -> None:
    history = _through([_draft(general, programme)], "V1.0", programme, ALL_LEVELS[:1])
    with pytest.raises(ApprovalError, match="only 李娜, 张伟, 陈静, 刘洋 may"):
        review_standard(history, "V1.0", level="cross", reviewer="赵总",
                        approvers=programme.approvers, at=AT)  # fmt: skip


def test_a_rejection_needs_a_comment_and_sends_the_version_back(
    general: StandardTemplate, programme: Programme
) -> None:
    history = _through([_draft(general, programme)], "V1.0", programme, ALL_LEVELS[:2])
    with pytest.raises(ApprovalError, match="needs a comment"):
        review_standard(history, "V1.0", level="cross", reviewer="张伟", reject=True,
                        approvers=programme.approvers, at=AT)  # fmt: skip
    [rejected] = review_standard(
        history, "V1.0", level="cross", reviewer="张伟", reject=True,
        comment="二线技术组无法 2 小时内解决紧急故障", approvers=programme.approvers, at=AT,
    )  # fmt: skip
    assert rejected.status == "rejected"
    assert rejected.reviews[-1].comment == "二线技术组无法 2 小时内解决紧急故障"
    with pytest.raises(ApprovalError, match="was rejected; import a revised workbook"):
        review_standard([rejected], "V1.0", level="cross", reviewer="陈静",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    # a revision of the rejected version starts the review again
    v2 = revise_standard(rejected, _edited(rejected.document), who="王敏", when=AT)
    assert v2.version == "V1.1" and awaiting(v2, programme.approvers) == ("author", ("王敏",))


def test_publishing_a_revision_supersedes_the_version_published_before(
    general: StandardTemplate, programme: Programme
) -> None:
    [v1] = _through([_draft(general, programme)], "V1.0", programme, ALL_LEVELS)
    v2 = revise_standard(v1, _edited(v1.document), who="李娜", when=AT + timedelta(days=1))
    with pytest.raises(ApprovalError, match="is published already"):
        review_standard([v1, v2], "V1.0", level="author", reviewer="王敏",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    history = _through([v1, v2], "V1.1", programme, ALL_LEVELS)
    old, new = history
    assert (old.version, old.status) == ("V1.0", "superseded")
    assert old.published_at == v1.published_at and old.document == v1.document  # still readable
    assert (new.version, new.status) == ("V1.1", "published")
    with pytest.raises(ApprovalError, match=r"is superseded; review the latest version, V1\.1"):
        review_standard(history, "V1.0", level="author", reviewer="王敏",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    with pytest.raises(ApprovalError, match=r"has no version V1\.7; its versions: V1\.0, V1\.1"):
        review_standard(history, "V1.7", level="author", reviewer="王敏",
                        approvers=programme.approvers, at=AT)  # fmt: skip
    with pytest.raises(StageError, match="is in review"):
        in_review = _through([v1, v2], "V1.1", programme, ALL_LEVELS[:1])[1]
        revise_standard(in_review, v1.document, who="李娜", when=AT)


def test_the_quarterly_review_falls_three_months_after_publication_or_the_last_review(
    general: StandardTemplate, programme: Programme
) -> None:
    [published] = _through([_draft(general, programme)], "V1.0", programme, ALL_LEVELS)
    # published 2026-07-06 08:00 UTC, 16:00 in Shanghai
    assert next_review(published, timezone=programme.timezone) == date(2026, 10, 6)
    assert next_review(_draft(general, programme), timezone=programme.timezone) is None
    assert due_for_review([published], today=date(2026, 10, 5), timezone="Asia/Shanghai") == []
    assert due_for_review([published], today=date(2026, 10, 6), timezone="Asia/Shanghai") == [
        (published, date(2026, 10, 6))
    ]
    confirmed = confirm_standard(
        published, reviewer="赵总", approvers=programme.approvers, comment="仍适用",
        at=datetime(2026, 10, 8, 1, 0, tzinfo=UTC),
    )  # fmt: skip
    assert next_review(confirmed, timezone=programme.timezone) == date(2027, 1, 8)
    with pytest.raises(ApprovalError, match="only 赵总, 王敏 may"):
        confirm_standard(published, reviewer="李娜", approvers=programme.approvers, at=AT)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 4, 15), 3, date(2026, 7, 15)),
    ],
)
def test_months_are_added_within_the_month(day: date, months: int, expected: date) -> None:
    assert months_later(day, months) == expected
