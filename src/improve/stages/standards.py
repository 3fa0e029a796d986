"""Service standards (服务标准与操作指南): a template + the measures that worked + what the
cycle measured -> StandardDocument V1.0; an edited document -> the next version with its
change log; the three-level review (author -> cross-department heads -> final sign-off) that
publishes a version and supersedes the one published before; the quarterly review dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from improve.domain.artifacts import ImplementationPlan, OptimisationReport, TargetResult
from improve.domain.base import ArtifactRef, Direction, Text
from improve.domain.calendar import months_later
from improve.domain.gate import LEVEL_TITLES, LEVELS, ReviewLevel, awaited
from improve.domain.kpi import KPIS
from improve.domain.programme import DEFAULT_WEIGHTS, Approvers, Programme
from improve.domain.standards import (
    BOUND_SIGNS,
    FIRST_VERSION,
    MODULE_TITLES,
    MODULES,
    REVIEW_MONTHS,
    TEMPLATE_TITLES,
    TIER_KINDS,
    TIME_UNITS,
    VALUE_UNITS,
    BasicInfo,
    ChangeEntry,
    Clause,
    Criterion,
    DocumentChange,
    KpiWeight,
    Limit,
    Origin,
    PeriodicReview,
    QualityControl,
    ResponseTime,
    ReviewDecision,
    RoleWeights,
    ServiceStandards,
    StandardDocument,
    StandardTemplate,
    StandardVersion,
    Threshold,
    VersionStatus,
    field_label,
    next_version,
    number,
)
from improve.errors import ApprovalError, StageError

ROLE_NAMES: dict[str, Text] = {
    "default": Text(zh="默认（未指定角色的团队）", en="Default (teams of no role)"),
    "customer_service": Text(zh="客服", en="Customer service"),
    "technical_support": Text(zh="技术支持", en="Technical support"),
}
_STATISTIC = {
    "median": Text(zh="半数工单（中位数）", en="Half of all tickets (median)"),
    "p90": Text(zh="90% 的工单（P90）", en="90% of tickets (P90)"),
    "mean": Text(zh="平均（均值）", en="On average (mean)"),
}


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in text.lower())
    return "-".join(p for p in out.split("-") if p)[:64] or "item"


def _kpi_value(kpi_name: str, value: float | None) -> Text:
    """A KPI value with its unit in both languages, rates in percent."""
    if value is None:
        return Text(zh="—", en="—")
    spec = KPIS[kpi_name]
    if spec.is_rate:
        shown = f"{number(round(value * 100, 1))}%"
        return Text(zh=shown, en=shown)
    unit = VALUE_UNITS.get(spec.unit, Text(zh=spec.unit, en=spec.unit))
    shown = number(round(value, 1))
    return Text(zh=f"{shown} {unit.zh}", en=f"{shown} {unit.en}")


def _basis(result: TargetResult, cycle: str, evaluated: tuple[date, date] | None) -> Text:
    """Why a measured standard has its value: the met target, with what was achieved."""
    label = KPIS[result.kpi].label
    b, t, a = (_kpi_value(result.kpi, v) for v in (result.baseline, result.target, result.actual))
    rate = "—" if result.achievement is None else f"{result.achievement:.0%}"
    when_zh = f"评估期 {evaluated[0]}–{evaluated[1]} " if evaluated else ""
    when_en = f" over {evaluated[0]}–{evaluated[1]}" if evaluated else ""
    return Text(
        zh=f"{cycle} 周期实测：{label.zh}基线 {b.zh}，目标 {t.zh}，{when_zh}实际 {a.zh}"
        f"（达成率 {rate}）；"
        "标准取已达成的目标值，留有余量",
        en=f"Measured in cycle {cycle}: {label.en} baseline {b.en}, target {t.en}, actual {a.en}"
        f"{when_en} (achievement {rate}); the standard is the target met, which leaves a margin",
    )


def _statistic(kpi_name: str) -> str:
    return next((s for s in ("median", "p90", "mean") if f"_{s}_" in kpi_name), "median")


def _measured(
    results: Sequence[TargetResult], cycle: str, evaluated: tuple[date, date] | None
) -> tuple[list[ResponseTime], list[Criterion]]:
    """Response-time standards (first response, resolution) and acceptance criteria (every
    other KPI) at the values of the targets the cycle met."""
    times: list[ResponseTime] = []
    criteria: list[Criterion] = []
    for r in results:
        if not r.met or r.kpi not in KPIS:
            continue
        spec = KPIS[r.kpi]
        basis = _basis(r, cycle, evaluated)
        key = _slug(r.kpi)
        if r.kpi.startswith(("frt_", "resolution_")) and spec.unit in ("min", "h") and r.target > 0:
            limit = Limit(value=round(r.target, 1), unit="min" if spec.unit == "min" else "h")
            stat = _STATISTIC[_statistic(r.kpi)]
            first = r.kpi.startswith("frt_")
            what = (
                Text(zh="首次响应", en="first response")
                if first
                else Text(zh="解决", en="resolution")
            )
            times.append(
                ResponseTime(
                    key=key,
                    scenario=Text(zh=f"{stat.zh}：{what.zh}", en=f"{stat.en}: {what.en}"),
                    respond=limit if first else None,
                    resolve=None if first else limit,
                    kpi=r.kpi,
                    basis=basis,
                )
            )
            continue
        lower = spec.direction == Direction.LOWER
        value = round(r.target * 100, 1) if spec.is_rate else round(r.target, 1)
        criteria.append(
            Criterion(
                key=key,
                criterion=spec.label,
                threshold=Threshold(
                    bound="at_most" if lower else "at_least",
                    value=value,
                    unit="%" if spec.is_rate else spec.unit,
                ),
                kpi=r.kpi,
                basis=basis,
            )
        )
    return times, criteria


def _weights(programme: Programme) -> tuple[RoleWeights, ...]:
    """The programme's scorecard weights per role, in percent; `default` for teams of no
    role (the source's 20 / 50 / 30)."""
    cards = programme.scorecards
    teams = [t for d in programme.departments for t in d.teams]
    rows = [
        ("default", dict(DEFAULT_WEIGHTS), tuple(t for t in teams if t not in cards.team_roles))
    ]
    rows += [
        (role, dict(w), tuple(t for t, r in cards.team_roles.items() if r == role))
        for role, w in cards.roles.items()
    ]
    out = []
    for role, weights, role_teams in rows:
        name = ROLE_NAMES.get(role, Text(zh=role, en=role.replace("_", " ")))
        out.append(
            RoleWeights(
                key=_slug(role),
                name=name,
                teams=role_teams,
                weights=tuple(
                    KpiWeight(key=k, weight=round(v * 100, 2)) for k, v in weights.items()
                ),
            )
        )
    return tuple(out)


def draft_document(
    template: StandardTemplate,
    optimisation: OptimisationReport,
    results: Sequence[TargetResult],
    plan: ImplementationPlan | None,
    *,
    programme: Programme,
    key: str,
    evaluated: tuple[date, date] | None = None,
    name: Text | None = None,
) -> StandardDocument:
    """The StandardDocument a cycle's measures make: the template's modules and defaults,
    the measures' standard texts and their tasks' acceptance criteria, response times and
    acceptance criteria at the values of the targets met (stated with their basis; they
    replace a template default on the same KPI), and the programme's scorecard weights."""
    cycle = optimisation.cycle
    basic = BasicInfo(
        name=name
        or Text(
            zh=f"{programme.name.zh}服务标准与操作指南",
            en=f"{programme.name.en}: service standard and operating guide",
        ),
        positioning=template.basic.positioning,
        scope=template.basic.scope,
        applies_to=tuple(d.name for d in programme.departments),
        owner=programme.owner,
    )
    standards = None
    if template.standards is not None:
        times, criteria = _measured(results, cycle, evaluated)
        measured = {t.kpi for t in times} | {c.kpi for c in criteria}
        tasks = []
        for m in optimisation.standardise:
            for t in plan.tasks if plan else ():
                if t.strategy == m.strategy:
                    tasks.append(
                        Criterion(
                            key=_slug(t.id),
                            criterion=t.acceptance,
                            basis=Text(
                                zh=f"措施“{m.name.zh}”任务“{t.name.zh}”的验收标准",
                                en=f"Acceptance criterion of the task '{t.name.en}' of the "
                                f"measure '{m.name.en}'",
                            ),
                        )
                    )
        base = template.standards
        standards = ServiceStandards(
            process=base.process,
            response_times=(
                *(i for i in base.response_times if i.kpi not in measured or i.kpi is None),
                *times,
            ),
            acceptance=(
                *(i for i in base.acceptance if i.kpi is None or i.kpi not in measured),
                *criteria,
                *_distinct(tasks, {i.key for i in (*base.acceptance, *criteria)}),
            ),
            qualifications=base.qualifications,
            measures=tuple(
                Clause(key=_slug(m.strategy), text=m.standard, basis=m.evidence)
                for m in optimisation.standardise
            ),
        )
    quality = None
    if template.quality is not None:
        quality = QualityControl(
            indicators=template.quality.indicators,
            evaluation=template.quality.evaluation,
            weights=_weights(programme),
            tiers=template.quality.tiers,
        )
    return StandardDocument(
        key=key,
        template=template.key,
        basic=basic,
        standards=standards,
        guide=template.guide,
        quality=quality,
        emergency=template.emergency,
        compliance=template.compliance,
    )


def _distinct(items: list[Criterion], taken: set[str]) -> list[Criterion]:
    out = []
    for item in items:
        if item.key not in taken:
            taken.add(item.key)
            out.append(item)
    return out


def draft_standard(
    template: StandardTemplate,
    optimisation: OptimisationReport,
    results: Sequence[TargetResult],
    plan: ImplementationPlan | None,
    *,
    programme: Programme,
    key: str,
    author: str,
    at: datetime,
    evaluated: tuple[date, date] | None = None,
    name: Text | None = None,
    sources: tuple[ArtifactRef, ...] = (),
) -> StandardVersion:
    """V1.0 of a standard, a draft: the document `draft_document` builds, with a change log
    entry saying what it was drafted from, by whom and when."""
    document = draft_document(
        template,
        optimisation,
        results,
        plan,
        programme=programme,
        key=key,
        evaluated=evaluated,
        name=name,
    )
    return first_version(
        document,
        programme=programme.key,
        author=author,
        at=at,
        cycle=optimisation.cycle,
        sources=sources,
    )


def first_version(
    document: StandardDocument,
    *,
    programme: str,
    author: str,
    at: datetime,
    cycle: str | None = None,
    sources: tuple[ArtifactRef, ...] = (),
    origin: Origin = "draft",
) -> StandardVersion:
    """V1.0 holding `document`, a draft whose change log says where it came from."""
    template = TEMPLATE_TITLES[document.template]
    what = (
        Text(
            zh=f"依据{template.zh}与 {cycle} 周期的有效措施起草初版",
            en=f"First draft from the {template.en} and the measures that worked in cycle {cycle}",
        )
        if cycle
        else Text(zh=f"依据{template.zh}起草初版", en=f"First draft from the {template.en}")
    )
    return StandardVersion(
        programme=programme,
        key=document.key,
        version=FIRST_VERSION,
        origin=origin,
        document=document,
        changes=(ChangeEntry(field="", what=what, who=author, when=at),),
        created_by=author,
        created_at=at,
        cycle=cycle,
        derived_from=sources,
    )


# ---- differences between two documents, in words -------------------------------------------

_ATOMIC = (Text, Limit, Threshold)


def _join(parts: Sequence[Text]) -> Text:
    return Text(zh=" · ".join(p.zh for p in parts), en=" · ".join(p.en for p in parts))


def _render(value: object, name: str) -> Text | None:
    """A field's value in words, for the change log."""
    if value is None:
        return None
    if isinstance(value, Text):
        return value
    if isinstance(value, Limit | Threshold):
        return value.text()
    if isinstance(value, bool):
        return Text(zh="是" if value else "否", en="yes" if value else "no")
    if isinstance(value, int | float):
        return Text(zh=number(value), en=number(value))
    if isinstance(value, tuple):
        shown = [_render(v, name) for v in value]
        return (
            _join([s for s in shown if s is not None]) if shown else Text(zh="（无）", en="(none)")
        )
    text = str(value)
    for names in (TIME_UNITS, VALUE_UNITS, TIER_KINDS) if name in ("unit", "kind") else ():
        if text in names:
            return names[text]
    if name == "kpi" and text in KPIS:
        return KPIS[text].label
    if name == "bound" and text in BOUND_SIGNS:
        return Text(zh=BOUND_SIGNS[text], en=BOUND_SIGNS[text])
    return Text(zh=text, en=text)


def _title(item: BaseModel) -> Text:
    title = getattr(item, "title", None)
    if callable(title):
        found = title()
        if isinstance(found, Text):
            return found
    return Text(zh=_key(item), en=_key(item))


def _key(item: BaseModel) -> str:
    return str(getattr(item, "key", ""))


def _named(label: Text, item: BaseModel) -> Text:
    t = _title(item)
    return Text(zh=f"{label.zh}“{t.zh}”", en=f"{label.en} '{t.en}'")


def document_diff(a: StandardDocument, b: StandardDocument) -> tuple[DocumentChange, ...]:
    """What changed from document `a` to `b`: one entry per changed field (an added or
    removed item or module is one entry), in words in both languages."""
    out: list[DocumentChange] = []
    if a.template != b.template:
        out.append(
            DocumentChange(
                field="template",
                what=Text(zh="模板", en="template"),
                before=TEMPLATE_TITLES[a.template],
                after=TEMPLATE_TITLES[b.template],
            )
        )
    for module in MODULES:
        ma, mb = getattr(a, module), getattr(b, module)
        if ma == mb:
            continue
        title = MODULE_TITLES[module]
        if ma is None or mb is None:
            verb = (
                ("新增模块", "added the module")
                if ma is None
                else ("删除模块", "removed the module")
            )
            out.append(
                DocumentChange(
                    field=module,
                    what=Text(zh=f"{verb[0]}“{title.zh}”", en=f"{verb[1]} '{title.en}'"),
                )
            )
            continue
        _diff_model(ma, mb, module, [title], out)
    return tuple(out)


def _diff_model(
    a: BaseModel, b: BaseModel, path: str, where: list[Text], out: list[DocumentChange]
) -> None:
    for name in type(a).model_fields:
        if name == "key":
            continue
        va, vb = getattr(a, name), getattr(b, name)
        if va == vb:
            continue
        here, label = f"{path}.{name}", field_label(name)
        if isinstance(va, tuple) and isinstance(vb, tuple):
            _diff_items(va, vb, here, where, label, name, out)
        elif (
            isinstance(va, BaseModel)
            and isinstance(vb, BaseModel)
            and type(va) is type(vb)
            and not isinstance(va, _ATOMIC)
        ):
            _diff_model(va, vb, here, [*where, label], out)
        else:
            out.append(
                DocumentChange(
                    field=here,
                    what=_join([*where, label]),
                    before=_render(va, name),
                    after=_render(vb, name),
                )
            )


def _diff_items(
    va: tuple[object, ...],
    vb: tuple[object, ...],
    here: str,
    where: list[Text],
    label: Text,
    name: str,
    out: list[DocumentChange],
) -> None:
    keyed = all(isinstance(i, BaseModel) and hasattr(i, "key") for i in (*va, *vb))
    if not keyed:
        for i in range(max(len(va), len(vb))):
            before = _render(va[i], name) if i < len(va) else None
            after = _render(vb[i], name) if i < len(vb) else None
            if before != after:
                n = i + 1
                out.append(
                    DocumentChange(
                        field=f"{here}#{n}",
                        what=_join([*where, Text(zh=f"{label.zh} {n}", en=f"{label.en} {n}")]),
                        before=before,
                        after=after,
                    )
                )
        return
    ka = {_key(i): i for i in va if isinstance(i, BaseModel)}
    kb = {_key(i): i for i in vb if isinstance(i, BaseModel)}
    for key, item in ka.items():
        if key not in kb:
            named = _named(label, item)
            out.append(
                DocumentChange(
                    field=f"{here}[{key}]",
                    what=_join([*where, Text(zh=f"删除{named.zh}", en=f"removed {named.en}")]),
                    before=_title(item),
                )
            )
    for key, item in kb.items():
        if key not in ka:
            named = _named(label, item)
            out.append(
                DocumentChange(
                    field=f"{here}[{key}]",
                    what=_join([*where, Text(zh=f"新增{named.zh}", en=f"added {named.en}")]),
                    after=_title(item),
                )
            )
        elif ka[key] != item:
            _diff_model(ka[key], item, f"{here}[{key}]", [*where, _named(label, item)], out)
    common_a = [k for k in ka if k in kb]
    common_b = [k for k in kb if k in ka]
    if common_a != common_b:
        out.append(
            DocumentChange(
                field=here,
                what=_join([*where, Text(zh=f"{label.zh}的顺序", en=f"order of the {label.en}s")]),
                before=Text(zh="、".join(common_a), en=", ".join(common_a)),
                after=Text(zh="、".join(common_b), en=", ".join(common_b)),
            )
        )


# ---- versions ---------------------------------------------------------------------------------


def _copy(version: StandardVersion, **update: object) -> StandardVersion:
    """`version` with `update` applied, validated again."""
    data = {name: getattr(version, name) for name in type(version).model_fields}
    return StandardVersion.model_validate({**data, **update})


def revise_standard(
    previous: StandardVersion,
    document: StandardDocument,
    *,
    who: str,
    when: datetime,
    summary: str | None = None,
    major: bool = False,
    origin: Origin = "import",
    cycle: str | None = None,
    sources: tuple[ArtifactRef, ...] | None = None,
) -> StandardVersion:
    """The version after `previous` holding `document`, a draft, its change log computed
    from the difference (one entry per changed field, with who and when). StageError when
    nothing changed, or while `previous` is still in review."""
    label = f"{previous.key} {previous.version}"
    if document.key != previous.key:
        raise StageError(
            f"the document is standard {document.key!r}, not {previous.key!r}; import it as "
            "that standard"
        )
    if previous.status == "in_review":
        raise StageError(
            f"{label} is in review; finish its review or reject it (improve standards review "
            "... --reject --comment TEXT) before revising it"
        )
    if document == previous.document:
        raise StageError(f"the document is the same as {label}; nothing to revise")
    changes = document_diff(previous.document, document) or (
        DocumentChange(field="", what=Text(zh="格式调整", en="layout edits")),
    )
    return StandardVersion(
        programme=previous.programme,
        key=previous.key,
        version=next_version(previous.version, major=major),
        origin=origin,
        revises=previous.version,
        summary=summary,
        document=document,
        changes=tuple(ChangeEntry(**c.model_dump(), who=who, when=when) for c in changes),
        created_by=who,
        created_at=when,
        cycle=cycle or previous.cycle,
        derived_from=previous.derived_from if sources is None else sources,
    )


def superseded_draft(previous: StandardVersion) -> StandardVersion | None:
    """A draft nobody reviewed yet is superseded by the revision made of it (None for any
    other status: a rejected or published version keeps its status)."""
    return _copy(previous, status="superseded") if previous.status == "draft" else None


def latest(history: Sequence[StandardVersion]) -> StandardVersion:
    """The highest version."""
    return max(history, key=lambda v: v.order)


def awaiting(
    version: StandardVersion, approvers: Approvers
) -> tuple[ReviewLevel, tuple[str, ...]] | None:
    """The review level a version waits for and who may still decide at it (the stage
    gates' rules, domain/gate.py); None once decided."""
    if version.status not in ("draft", "in_review"):
        return None
    return awaited(
        ((d.level, d.reviewer) for d in version.reviews if d.decision == "approved"), approvers
    )


def _find(history: Sequence[StandardVersion], label: str) -> StandardVersion:
    for v in history:
        if v.version == label:
            return v
    key = history[0].key if history else "the standard"
    known = ", ".join(v.version for v in sorted(history, key=lambda v: v.order)) or "none"
    raise ApprovalError(f"{key} has no version {label}; its versions: {known}")


def review_standard(
    history: Sequence[StandardVersion],
    label: str,
    *,
    level: ReviewLevel,
    reviewer: str,
    approvers: Approvers,
    reject: bool = False,
    comment: str | None = None,
    at: datetime,
) -> tuple[StandardVersion, ...]:
    """Record one decision of the three-level review on version `label`: the reviewed
    version first, then any version it supersedes. Levels go in order (author, cross, final);
    only the people the programme lists for a level decide at it, every cross-department head
    once; a rejection (with its comment) ends the version's review, so a new revision is
    needed; the final approval publishes it and supersedes the version published before.
    ApprovalError says what is refused and who may decide."""
    version = _find(history, label)
    name = f"{version.key} {version.version}"
    newest = latest(history)
    refused: dict[VersionStatus, str] = {
        "published": "is published already; there is nothing left to review",
        "superseded": f"is superseded; review the latest version, {newest.version}",
        "rejected": "was rejected; import a revised workbook to make a new version to review",
    }
    if version.status in refused:
        raise ApprovalError(f"{name} {refused[version.status]}")
    if version is not newest:
        raise ApprovalError(f"{name} is not the latest version; review {newest.version}")
    step = awaiting(version, approvers)
    assert step is not None  # draft and in_review versions always await a level
    expected, pending = step
    title, wanted = LEVEL_TITLES[level].en, LEVEL_TITLES[expected].en
    if level != expected:
        who = ", ".join(pending) or "nobody (the programme names no one)"
        order = LEVELS.index(level) < LEVELS.index(expected)
        raise ApprovalError(
            f"{name}: the {title} is done already; it awaits the {wanted} by {who}"
            if order
            else f"{name} is not ready for the {title}: the levels go author, cross, final, "
            f"and it awaits the {wanted} by {who} first"
        )
    allowed: tuple[str, ...] = getattr(approvers, level)
    if not allowed:
        raise ApprovalError(
            f"the programme names no one for the {title} of {name}; add names under "
            f"approvers.{level} in the programme file"
        )
    if reviewer not in allowed:
        raise ApprovalError(
            f"{reviewer!r} may not decide the {title} of {name}: only {', '.join(allowed)} "
            f"may; ask one of them, or add the name under approvers.{level} in the programme file"
        )
    if reviewer not in pending:
        raise ApprovalError(
            f"{reviewer} has approved the {title} of {name} already; it waits for "
            f"{', '.join(pending)}"
        )
    if reject and not (comment and comment.strip()):
        raise ApprovalError(f"rejecting {name} needs a comment saying what to change")
    decision = ReviewDecision(
        level=level,
        reviewer=reviewer,
        decision="rejected" if reject else "approved",
        comment=comment,
        at=at,
    )
    reviews = (*version.reviews, decision)
    if reject:
        return (_copy(version, status="rejected", reviews=reviews),)
    if level != "final":
        return (_copy(version, status="in_review", reviews=reviews),)
    published = _copy(version, status="published", reviews=reviews, published_at=at)
    older = tuple(
        _copy(v, status="superseded")
        for v in sorted(history, key=lambda v: v.order)
        if v.status == "published" and v.version != version.version
    )
    return (published, *older)


def confirm_standard(
    version: StandardVersion,
    *,
    reviewer: str,
    approvers: Approvers,
    comment: str | None = None,
    at: datetime,
) -> StandardVersion:
    """Record the quarterly review of a published version (it still fits), by one of the
    final approvers or authors; its next review is due a quarter later."""
    name = f"{version.key} {version.version}"
    if version.status != "published":
        raise ApprovalError(
            f"{name} is {version.status}; only the published version has its quarterly review"
        )
    allowed = tuple(dict.fromkeys((*approvers.final, *approvers.author)))
    if reviewer not in allowed:
        raise ApprovalError(
            f"{reviewer!r} may not confirm the quarterly review of {name}: only "
            f"{', '.join(allowed)} may"
        )
    return _copy(
        version,
        periodic=(*version.periodic, PeriodicReview(reviewer=reviewer, comment=comment, at=at)),
    )


def next_review(version: StandardVersion, *, timezone: str) -> date | None:
    """When a published version is due for its quarterly review: three months after it was
    published or last confirmed, in the programme's time zone (None unless published)."""
    last = version.last_reviewed
    if version.status != "published" or last is None:
        return None
    return months_later(last.astimezone(ZoneInfo(timezone)).date(), REVIEW_MONTHS)


def due_for_review(
    versions: Sequence[StandardVersion], *, today: date, timezone: str
) -> list[tuple[StandardVersion, date]]:
    """The published versions whose quarterly review is due by `today`, with the due date,
    most overdue first."""
    due = []
    for v in versions:
        when = next_review(v, timezone=timezone)
        if when is not None and when <= today:
            due.append((v, when))
    return sorted(due, key=lambda d: (d[1], d[0].key))
