"""A service standard version as stakeholders get it: a workbook (an overview, a form sheet
per module whose yellow cells they edit in both languages, the change log and the review
record, and a hidden `_meta` naming the version it was written from), a self-contained HTML
page, the standards' index page, and the Markdown of the quarterly review reminder; and the
edited workbook read back into a document, every problem located by sheet, row and column.

Every cell is written with `write_cell`, so a text such as `=HYPERLINK(...)` stays text."""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel, ValidationError

from improve.data.located import Located, refuse
from improve.data.readers import open_xlsx
from improve.domain.base import Locale, Text
from improve.domain.gate import LEVEL_TITLES
from improve.domain.hashing import content_hash
from improve.domain.kpi import KPIS
from improve.domain.programme import Programme
from improve.domain.standards import (
    BOUND_SIGNS,
    DECISION_TITLES,
    MODULE_TITLES,
    STATUS_TITLES,
    TEMPLATE_TITLES,
    TIER_KINDS,
    TIME_UNITS,
    VALUE_UNITS,
    ChangeEntry,
    DocumentChange,
    StandardDocument,
    StandardVersion,
    field_label,
    number,
)
from improve.errors import InputDataError
from improve.reports import cells
from improve.reports.cells import HEADER_ROW, display_width, write_cell
from improve.reports.page import NavLink, environment, section_table
from improve.reports.sections import Section, Words, display, md_text
from improve.reports.site import save_workbook, write_text_atomic

FORMAT = "improve.standard-workbook"
FORMAT_VERSION = 1
META_SHEET = "_meta"
FIRST_ROW = HEADER_ROW + 1
COL_PATH, COL_LABEL, COL_ZH, COL_EN, COL_VALUE, COL_HINT, COL_KIND = range(1, 8)
MAX_ROWS = 5_000
MAX_BYTES = 20 << 20
GROUP_FILL = PatternFill("solid", fgColor="DDEBF7")
PATH_FONT = Font(color="808080")
Kind = Literal["text", "number", "int", "choice", "name"]
KINDS: tuple[str, ...] = ("text", "number", "int", "choice", "name")


def file_stem(version: StandardVersion) -> str:
    """The file name of a version's workbook and page, without suffix: service-standard-V1.0."""
    return f"{version.key}-{version.version}"


def _when(at: datetime | None, timezone: str) -> str:
    return "—" if at is None else at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _text(value: Text | None, w: Words) -> str:
    return "—" if value is None else w.text(value)


# ---- what the page and the overview show -----------------------------------------------------


@dataclass(frozen=True)
class StandardFacts:
    """What the store knows about a version beyond its content: its next quarterly review
    and the review level it waits for."""

    next_review: date | None = None
    awaiting: str | None = None


def standard_sections(
    version: StandardVersion, w: Words, *, timezone: str, facts: StandardFacts | None = None
) -> list[Section]:
    """The version as titled tables: overview, each module, the change log, the reviews."""
    facts = facts or StandardFacts()
    d = version.document
    overview = Section(
        "overview", w("概览", "Overview"), [w("项目", "Item"), w("内容", "Value")], ["text", "text"]
    )
    overview.add(w("名称", "Name"), w.text(d.basic.name))
    overview.add(w("标准编号", "Standard"), version.key)
    overview.add(w("版本", "Version"), version.version)
    overview.add(w("状态", "Status"), w.text(STATUS_TITLES[version.status]))
    overview.add(w("模板", "Template"), w.text(TEMPLATE_TITLES[d.template]))
    overview.add(w("负责人", "Owner"), d.basic.owner)
    overview.add(w("修订自", "Revises"), version.revises or "—")
    overview.add(w("来源周期", "Cycle"), version.cycle or "—")
    overview.add(w("编写人", "Written by"), version.created_by)
    overview.add(w("编写时间", "Written at"), _when(version.created_at, timezone))
    overview.add(w("发布时间", "Published at"), _when(version.published_at, timezone))
    overview.add(w("下次季度回顾", "Next quarterly review"), facts.next_review or "—")
    if facts.awaiting:
        overview.add(w("待审核", "Awaiting"), facts.awaiting)
    if version.summary:
        overview.add(w("修订说明", "Summary"), version.summary)
    out = [overview, *_module_sections(d, w)]
    changes = Section(
        "changes",
        w("修订记录", "Change log"),
        [
            "#",
            w("修改内容", "What"),
            w("修改前", "Before"),
            w("修改后", "After"),
            w("修改人", "Who"),
            w("修改时间", "When"),
        ],
        ["int", "text", "text", "text", "text", "text"],
    )
    for i, c in enumerate(version.changes, start=1):
        changes.add(
            i,
            w.text(c.what),
            _text(c.before, w),
            _text(c.after, w),
            c.who,
            _when(c.when, timezone),
        )
    reviews = Section(
        "reviews",
        w("审核记录", "Review record"),
        [
            w("级别", "Level"),
            w("审核人", "Reviewer"),
            w("结论", "Decision"),
            w("意见", "Comment"),
            w("时间", "When"),
        ],
        ["text"] * 5,
    )
    for r in version.reviews:
        reviews.add(
            w.text(LEVEL_TITLES[r.level]),
            r.reviewer,
            w.text(DECISION_TITLES[r.decision]),
            r.comment or "",
            _when(r.at, timezone),
        )
    for p in version.periodic:
        reviews.add(
            w("季度回顾", "quarterly review"),
            p.reviewer,
            w("仍适用", "still fits"),
            p.comment or "",
            _when(p.at, timezone),
        )
    if not version.reviews and not version.periodic:
        reviews.note = w("尚无审核意见。", "No decision yet.")
    return [*out, changes, reviews]


def _module_sections(d: StandardDocument, w: Words) -> list[Section]:
    m = {k: w.text(v) for k, v in MODULE_TITLES.items()}
    basic = Section(
        "basic", m["basic"], [w("项目", "Item"), w("内容", "Content")], ["text", "text"]
    )
    basic.add(w("定位与目标用户", "Positioning and users"), w.text(d.basic.positioning))
    for item in d.basic.scope:
        basic.add(w("核心服务内容", "Core service"), w.text(item))
    departments = w("、", ", ").join(w.text(a) for a in d.basic.applies_to)
    basic.add(w("适用部门", "Applies to"), departments)
    out = [basic]
    s = d.standards
    if s is not None:
        process = Section(
            "process",
            f"{m['standards']} · {w('服务流程', 'Service process')}",
            ["#", w("环节", "Step"), w("输出", "Output")],
            ["int", "text", "text"],
        )
        for i, p in enumerate(s.process, start=1):
            process.add(i, w.text(p.name), w.text(p.output))
        times = Section(
            "response-times",
            f"{m['standards']} · {w('响应时效标准', 'Response times')}",
            [
                w("场景", "Scenario"),
                w("响应时限", "Respond within"),
                w("解决时限", "Resolve within"),
                w("依据", "Basis"),
            ],
            ["text"] * 4,
        )
        for r in s.response_times:
            times.add(
                w.text(r.scenario),
                _text(r.respond.text() if r.respond else None, w),
                _text(r.resolve.text() if r.resolve else None, w),
                w.text(r.basis),
            )
        acceptance = Section(
            "acceptance",
            f"{m['standards']} · {w('质量验收标准', 'Acceptance criteria')}",
            [w("验收项", "Criterion"), w("标准值", "Threshold"), w("依据", "Basis")],
            ["text"] * 3,
        )
        for crit in s.acceptance:
            acceptance.add(
                w.text(crit.criterion),
                _text(crit.threshold.text() if crit.threshold else None, w),
                w.text(crit.basis),
            )
        out += [process, times, acceptance]
        for key, items, title in (
            ("qualifications", s.qualifications, w("人员资质要求", "Staff qualifications")),
            ("measures", s.measures, w("固化的有效措施", "Measures made standard")),
        ):
            section = Section(
                key,
                f"{m['standards']} · {title}",
                [w("内容", "Text"), w("依据", "Basis")],
                ["text", "text"],
            )
            for c in items:
                section.add(w.text(c.text), _text(c.basis, w))
            out.append(section)
    if d.guide is not None:
        guide = Section(
            "guide",
            m["guide"],
            [w("场景", "Scenario"), w("类别", "Kind"), "#", w("内容", "Text")],
            ["text", "text", "int", "text"],
        )
        for sc in d.guide.scenarios:
            for i, text in enumerate(sc.steps, start=1):
                guide.add(w.text(sc.name), w("步骤", "step"), i, w.text(text))
            for i, note in enumerate(sc.notes, start=1):
                guide.add(w.text(sc.name), w("注意事项", "note"), i, w.text(note))
        out.append(guide)
    q = d.quality
    if q is not None:
        indicators = Section(
            "indicators",
            f"{m['quality']} · {w('过程监控指标', 'Process indicators')}",
            [w("指标", "Indicator")],
            ["text"],
            note=w.text(q.evaluation),
        )
        for c in q.indicators:
            indicators.add(w.text(c.text))
        weights = Section(
            "weights",
            f"{m['quality']} · {w('月度考核权重', 'Monthly scoring weights')}",
            [w("角色", "Role"), w("适用团队", "Teams"), w("指标", "KPI"), w("权重", "Weight")],
            ["text", "text", "text", "pct"],
        )
        for role in q.weights:
            for kw in role.weights:
                weights.add(
                    w.text(role.name),
                    "、".join(role.teams) or "—",
                    w.text(KPIS[kw.key].label),
                    kw.weight / 100,
                )
        tiers = Section(
            "tiers",
            f"{m['quality']} · {w('奖惩梯度', 'Rewards and penalties')}",
            [w("类别", "Kind"), w("条件", "Condition"), w("措施", "Action")],
            ["text"] * 3,
        )
        for t in q.tiers:
            tiers.add(w.text(TIER_KINDS[t.kind]), w.text(t.condition()), w.text(t.action))
        out += [indicators, weights, tiers]
    if d.emergency is not None:
        emergency = Section(
            "emergency",
            m["emergency"],
            [
                w("场景", "Scenario"),
                w("触发条件", "Trigger"),
                w("联络渠道", "Channel"),
                "#",
                w("处理动作", "Action"),
                w("时限", "Within"),
                w("责任人", "Owner"),
            ],
            ["text", "text", "text", "int", "text", "text", "text"],
        )
        for plan in d.emergency.plans:
            for i, step in enumerate(plan.steps, start=1):
                emergency.add(
                    w.text(plan.scenario),
                    w.text(plan.trigger) if i == 1 else "",
                    w.text(plan.contact) if i == 1 else "",
                    i,
                    w.text(step.action),
                    _text(step.within.text() if step.within else None, w),
                    w.text(step.owner),
                )
        out.append(emergency)
    if d.compliance is not None:
        compliance = Section(
            "compliance",
            m["compliance"],
            [w("类别", "Kind"), w("内容", "Text"), w("依据", "Basis")],
            ["text"] * 3,
        )
        for c in d.compliance.regulations:
            compliance.add(w("行业规范", "industry rule"), w.text(c.text), _text(c.basis, w))
        for c in d.compliance.risks:
            compliance.add(w("风险控制", "risk control"), w.text(c.text), _text(c.basis, w))
        out.append(compliance)
    return out


def change_rows(changes: Sequence[DocumentChange], w: Words) -> list[dict[str, str]]:
    """Changes as rows of words (the CLI's diff)."""
    return [
        {
            "field": c.field,
            "what": w.text(c.what),
            "before": _text(c.before, w),
            "after": _text(c.after, w),
            **({"who": c.who, "when": c.when.isoformat()} if isinstance(c, ChangeEntry) else {}),
        }
        for c in changes
    ]


# ---- the page --------------------------------------------------------------------------------

_PAGE = """{% extends "base.html" %}
{% block main %}
<p class="meta">{{ meta }}</p>
{% for s in sections %}
<section id="{{ s.key }}">
  <h2>{{ s.title }}</h2>
  {% if s.rows %}
  <table>
    <thead><tr>{% for h in s.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in s.rows %}<tr>
      {% for cell in row %}<td{% if cell.num %} class="num"{% endif %}>{{ cell.text }}</td>
      {% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
</section>
{% endfor %}
{% endblock %}
"""

_INDEX = """{% extends "base.html" %}
{% block main %}
<section>
  <h2>{{ heading }}</h2>
  <table>
    <thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for r in rows %}<tr><td>{{ r.key }}</td>
      <td><a href="{{ r.page }}">{{ r.version }}</a></td><td>{{ r.name }}</td>
      <td>{{ r.status }}</td><td>{{ r.published }}</td><td>{{ r.next_review }}</td>
      <td><a href="{{ r.book }}">{{ r.book }}</a></td></tr>
    {% endfor %}
    </tbody>
  </table>
</section>
{% endblock %}
"""


def _lang(locale: Locale) -> str:
    return "zh-CN" if locale == "zh-CN" else "en"


def render_standard_page(
    version: StandardVersion,
    *,
    locale: Locale,
    programme: Programme,
    history: Sequence[StandardVersion] = (),
    facts: StandardFacts | None = None,
) -> str:
    """The version's page: overview, modules, change log and review record, linking the
    other versions of the standard and the standards' index (no scripts, nothing remote)."""
    w = Words(locale)
    sections = standard_sections(version, w, timezone=programme.timezone, facts=facts)
    nav = [
        NavLink(v.version, f"{file_stem(v)}.html", v.version)
        for v in sorted(history or [version], key=lambda v: v.order)
    ]
    return (
        environment()
        .from_string(_PAGE)
        .render(
            lang=_lang(locale),
            title=f"{w.text(version.document.basic.name)} {version.version}",
            subtitle=f"{w('服务标准与操作指南', 'Service standard and operating guide')} · "
            f"{w.text(programme.name)}",
            meta=f"{version.programme} / {version.key} {version.version} · "
            f"{w.text(STATUS_TITLES[version.status])} · "
            f"{content_hash(version.document)[:12]}",
            nav=nav,
            current=version.version,
            index_label=w("全部标准", "All standards"),
            sections=[section_table(s) for s in sections],
        )
    )


def render_standards_index(
    versions: Sequence[tuple[StandardVersion, date | None]],
    *,
    locale: Locale,
    programme: Programme,
) -> str:
    """The standards' index: every version of every standard with its status, publication,
    next quarterly review, page and workbook."""
    w = Words(locale)
    rows = [
        {
            "key": v.key,
            "version": v.version,
            "page": f"{file_stem(v)}.html",
            "book": f"{file_stem(v)}.xlsx",
            "name": w.text(v.document.basic.name),
            "status": w.text(STATUS_TITLES[v.status]),
            "published": _when(v.published_at, programme.timezone),
            "next_review": due.isoformat() if due else "—",
        }
        for v, due in sorted(versions, key=lambda x: (x[0].key, x[0].order))
    ]
    return (
        environment()
        .from_string(_INDEX)
        .render(
            lang=_lang(locale),
            title=w("服务标准与操作指南", "Service standards and operating guides"),
            subtitle=w.text(programme.name),
            nav=[],
            current="index",
            index_label=w("全部标准", "All standards"),
            heading=w("全部版本", "Every version"),
            headers=[
                w("标准", "Standard"),
                w("版本", "Version"),
                w("名称", "Name"),
                w("状态", "Status"),
                w("发布时间", "Published"),
                w("下次回顾", "Next review"),
                w("工作簿", "Workbook"),
            ],
            rows=rows,
        )
    )


# ---- the workbook's form: one row per field ---------------------------------------------------


@dataclass(frozen=True)
class FormRow:
    """One editable field of the document: where it lives, what it is called, its value."""

    path: str
    label: str
    kind: Kind | Literal["heading"]
    zh: str | None = None
    en: str | None = None
    value: object = None
    choices: tuple[str, ...] = ()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside Optional[...] and Annotated[...], and whether None is allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0]
        else:
            return annotation, optional


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _choice_hint(name: str, choices: tuple[str, ...], w: Words) -> str:
    names = {"unit": {**TIME_UNITS, **VALUE_UNITS}, "kind": TIER_KINDS}.get(name, {})
    signs = BOUND_SIGNS if name == "bound" else {}
    shown = [
        f"{c} ({w.text(names[c])})" if c in names else f"{c} ({signs[c]})" if c in signs else c
        for c in choices
    ]
    return ", ".join(shown)


def form_rows(document: StandardDocument, module: str, w: Words) -> list[FormRow]:
    """The rows of one module's form sheet: a group row per list and item, then a row per
    field (a text field has its Chinese and English cells, any other field its value)."""
    rows: list[FormRow] = []
    value = getattr(document, module)
    _walk(type(value), value, module, [], rows, w)
    return rows


def _walk(
    cls: type[BaseModel],
    model: BaseModel | None,
    path: str,
    where: list[str],
    rows: list[FormRow],
    w: Words,
) -> None:
    for name, info in cls.model_fields.items():
        if name in ("key", "schema_version"):
            continue
        value = getattr(model, name) if model is not None else None
        annotation, _ = _unwrap(info.annotation)
        here, label = f"{path}.{name}", [*where, w.text(field_label(name))]
        if annotation is Text:
            t = value if isinstance(value, Text) else None
            rows.append(
                FormRow(here, " · ".join(label), "text", t.zh if t else None, t.en if t else None)
            )
        elif get_origin(annotation) is tuple:
            element, _ = _unwrap(get_args(annotation)[0])
            items = value or ()
            rows.append(FormRow("", " · ".join(label), "heading"))
            for i, item in enumerate(items, start=1):
                if _is_model(element) and element is not Text:
                    assert isinstance(item, BaseModel)
                    title = _item_title(item, w)
                    rows.append(FormRow("", " · ".join([*label, title]), "heading"))
                    _walk(element, item, f"{here}[{item.key}]", [title], rows, w)  # type: ignore[attr-defined]
                elif element is Text:
                    assert isinstance(item, Text)
                    rows.append(
                        FormRow(f"{here}#{i}", f"{' · '.join(label)} {i}", "text", item.zh, item.en)
                    )
                else:
                    rows.append(
                        FormRow(f"{here}#{i}", f"{' · '.join(label)} {i}", "name", value=str(item))
                    )
        elif _is_model(annotation):
            nested = value if isinstance(value, BaseModel) else None
            _walk(annotation, nested, here, label, rows, w)
        else:
            kind: Kind = "name"
            choices: tuple[str, ...] = ()
            if get_origin(annotation) is Literal:
                kind, choices = "choice", tuple(str(a) for a in get_args(annotation))
            elif annotation is float:
                kind = "number"
            elif annotation is int:
                kind = "int"
            elif name == "kpi":
                kind, choices = "choice", tuple(KPIS)
            rows.append(FormRow(here, " · ".join(label), kind, value=value, choices=choices))


def _item_title(item: BaseModel, w: Words) -> str:
    title = getattr(item, "title", None)
    found = title() if callable(title) else None
    key = str(getattr(item, "key", ""))
    return f"{w.text(found)} [{key}]" if isinstance(found, Text) else key


def _module_sheet(
    ws: Worksheet, document: StandardDocument, module: str, w: Words, title: str
) -> None:
    cells.title(
        ws,
        title,
        w(
            "黄色单元格可编辑：文字填写中英文两列，其他字段填写“值”列；灰色路径列请勿修改。",
            "Edit the yellow cells: texts in both the Chinese and English columns, other fields in "
            "the Value column; leave the grey path column as it is.",
        ),
    )
    headers = [
        w("字段路径", "Field path"),
        w("项目", "Item"),
        "中文",
        "English",
        w("值", "Value"),
        w("可选值", "Allowed values"),
        "kind",
    ]
    widths = {c: display_width(h) for c, h in enumerate(headers, start=1)}
    for col, h in enumerate(headers, start=1):
        cells.header(ws, col, h)
    validations: dict[tuple[str, ...], DataValidation] = {}
    for r, row in enumerate(form_rows(document, module, w), start=FIRST_ROW):
        if row.kind == "heading":
            for col in range(COL_PATH, COL_HINT + 1):
                ws.cell(r, col).fill = GROUP_FILL
            write_cell(ws, r, COL_LABEL, row.label).font = Font(bold=True)
            continue
        write_cell(ws, r, COL_PATH, row.path).font = PATH_FONT
        write_cell(ws, r, COL_LABEL, row.label)
        write_cell(ws, r, COL_KIND, row.kind)
        if row.kind == "text":
            write_cell(ws, r, COL_ZH, row.zh)
            write_cell(ws, r, COL_EN, row.en)
            cells.editable(ws, r, COL_ZH)
            cells.editable(ws, r, COL_EN)
        else:
            value = row.value
            write_cell(ws, r, COL_VALUE, value, "int")
            if row.kind == "number":
                ws.cell(r, COL_VALUE).number_format = "General"  # 15, 4.5 and 63.1 as typed
            cells.editable(ws, r, COL_VALUE)
            if row.choices:
                name = row.path.rsplit(".", 1)[-1]
                write_cell(ws, r, COL_HINT, _choice_hint(name, row.choices, w))
                formula = '"' + ",".join(row.choices) + '"'
                if len(formula) <= 255:
                    dv = validations.get(row.choices)
                    if dv is None:
                        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
                        ws.add_data_validation(dv)
                        validations[row.choices] = dv
                    dv.add(ws.cell(r, COL_VALUE))
        for col, text in (
            (COL_PATH, row.path),
            (COL_LABEL, row.label),
            (COL_ZH, row.zh or ""),
            (COL_EN, row.en or ""),
        ):
            widths[col] = max(widths[col], display_width(text))
    widths[COL_HINT] = 40
    cells.fit_columns(ws, widths)
    ws.column_dimensions["G"].hidden = True
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=COL_ZH)
    cells.page_setup(ws)


def _section_sheet(ws: Worksheet, sections: list[Section], title: str) -> None:
    """Read-only tables stacked on one sheet (the overview, the change log, the reviews)."""
    write_cell(ws, 1, 1, title).font = cells.TITLE_FONT
    r = 3
    widths: dict[int, int] = {}
    for s in sections:
        write_cell(ws, r, 1, s.title).font = Font(bold=True, size=12)
        r += 1
        for col, h in enumerate(s.headers, start=1):
            c = write_cell(ws, r, col, h)
            c.font, c.fill = cells.HEADER_FONT, cells.HEADER_FILL
            widths[col] = max(widths.get(col, 8), display_width(h))
        for row in s.rows:
            r += 1
            for col, (value, fmt) in enumerate(zip(row, s.formats, strict=True), start=1):
                write_cell(ws, r, col, value, fmt)
                widths[col] = max(widths.get(col, 8), display_width(display(value, fmt)))
        if s.note:
            r += 1
            write_cell(ws, r, 1, s.note)
        r += 2
    cells.fit_columns(ws, widths)
    cells.page_setup(ws)
    cells.protect(ws)


def build_standard_workbook(
    version: StandardVersion,
    *,
    locale: Locale,
    programme: Programme,
    facts: StandardFacts | None = None,
) -> Workbook:
    """The version's workbook: the overview, a form sheet per module to edit (both
    languages), the change log and the review record, and the hidden `_meta` sheet the import
    reads back (the version it was written from and its document's hash)."""
    w = Words(locale)
    sections = standard_sections(version, w, timezone=programme.timezone, facts=facts)
    by_key = {s.key: s for s in sections}
    title = f"{w.text(version.document.basic.name)} {version.version}"
    book = Workbook()
    default = book.active
    _section_sheet(book.create_sheet(w("概览", "Overview")), [by_key["overview"]], title)
    sheets: dict[str, str] = {}
    for part in version.document.modules:
        name = _clean_sheet_name(w.text(MODULE_TITLES[part]))
        sheets[part] = name
        _module_sheet(book.create_sheet(name), version.document, part, w, title)
    _section_sheet(book.create_sheet(w("修订记录", "Change log")), [by_key["changes"]], title)
    _section_sheet(book.create_sheet(w("审核记录", "Review record")), [by_key["reviews"]], title)
    meta = book.create_sheet(META_SHEET)
    fields: list[tuple[str, object]] = [
        ("format", FORMAT),
        ("format_version", FORMAT_VERSION),
        ("programme", version.programme),
        ("standard_key", version.key),
        ("version", version.version),
        ("template", version.document.template),
        ("content_hash", content_hash(version.document)),
    ]
    for r, (k, v) in enumerate(fields, start=1):
        write_cell(meta, r, 1, k)
        write_cell(meta, r, 2, v)
    r = len(fields) + 2
    write_cell(meta, r, 1, "module")
    for module, sheet in sheets.items():
        r += 1
        write_cell(meta, r, 1, module)
        write_cell(meta, r, 2, sheet)
    meta.sheet_state = "hidden"
    return cells.finish_book(book, default, title)


def _clean_sheet_name(name: str) -> str:
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]


# ---- reading an edited workbook back ----------------------------------------------------------


@dataclass(frozen=True)
class StandardWorkbook:
    """What an edited standard workbook says: the version it was written from and the
    document as edited."""

    programme: str
    key: str
    version: str
    content_hash: str
    document: StandardDocument


_SEGMENT = re.compile(r"^([a-z_]+)(?:\[([a-z0-9][a-z0-9_-]*)\]|#(\d{1,4}))?$")
_AGAIN = "write the workbook again with `improve standards show CONFIG --out FILE`"


class _Keyed(dict[str, Any]):
    """A list whose items are matched by key (kept in sheet order)."""


class _Positional(dict[int, Any]):
    """A list of plain values by position."""


@dataclass(frozen=True)
class _Cell:
    sheet: str
    row: int
    label: str
    kind: str


def read_standard_workbook(path: Path) -> StandardWorkbook:
    """The document an edited standard workbook holds; InputDataError lists every problem
    with its file, sheet, row and column, and what to change."""
    book = open_xlsx(path, limit=MAX_BYTES, streaming=False)
    try:
        meta, modules = _meta(path, book)
        issues: list[Located] = []
        data: dict[str, Any] = {"key": meta["standard_key"], "template": meta["template"]}
        where: dict[str, _Cell] = {}
        for module, sheet in modules.items():
            if sheet not in book.sheetnames:
                raise InputDataError(
                    f"{path}: the sheet {sheet!r} ({module}) was deleted or renamed; {_AGAIN}"
                )
            _read_sheet(book[sheet], module, data, where, issues)
    finally:
        book.close()
    if issues:
        raise refuse(path, issues, fix="Fix the standard workbook and import it again")
    document_data = _lists(data)
    try:
        document = StandardDocument.model_validate(document_data)
    except ValidationError as exc:
        located = [_locate(e, document_data, where) for e in exc.errors()]
        raise refuse(path, located, fix="Fix the standard workbook and import it again") from None
    return StandardWorkbook(
        programme=str(meta["programme"]),
        key=str(meta["standard_key"]),
        version=str(meta["version"]),
        content_hash=str(meta["content_hash"]),
        document=document,
    )


def _meta(path: Path, book: Workbook) -> tuple[dict[str, object], dict[str, str]]:
    if META_SHEET not in book.sheetnames:
        raise InputDataError(
            f"{path}: not a standard workbook written by improve (no {META_SHEET} sheet); {_AGAIN}"
        )
    fields: dict[str, object] = {}
    modules: dict[str, str] = {}
    in_modules = False
    for first, second in book[META_SHEET].iter_rows(max_col=2, max_row=200, values_only=True):
        if first == "module":
            in_modules = True
        elif first is None:
            continue
        elif in_modules:
            modules[str(first)] = str(second)
        else:
            fields[str(first)] = second
    if (
        fields.get("format") != FORMAT
        or str(fields.get("format_version")) != str(FORMAT_VERSION)
        or not all(fields.get(k) for k in ("programme", "standard_key", "version", "template"))
        or "basic" not in modules
    ):
        raise InputDataError(f"{path}: sheet {META_SHEET} does not describe a standard; {_AGAIN}")
    return fields, modules


def _read_sheet(
    ws: Worksheet,
    module: str,
    data: dict[str, Any],
    where: dict[str, _Cell],
    issues: list[Located],
) -> None:
    data.setdefault(module, {})
    letters = {COL_ZH: "C", COL_EN: "D", COL_VALUE: "E"}
    for r in range(FIRST_ROW, min(ws.max_row, FIRST_ROW + MAX_ROWS) + 1):
        raw = ws.cell(r, COL_PATH).value
        if raw is None or not str(raw).strip():
            continue
        path = str(raw).strip()
        label = str(ws.cell(r, COL_LABEL).value or path)
        kind = str(ws.cell(r, COL_KIND).value or "").strip()
        segments = path.split(".")
        parsed = [_SEGMENT.match(s) for s in segments]
        if segments[0] != module or len(segments) < 2 or not all(parsed) or kind not in KINDS:
            issues.append(
                Located(
                    ws.title,
                    f"A{r}",
                    "field path",
                    f"{path[:60]!r} is not a field of this sheet; restore the row as it was "
                    "written, or delete it",
                )
            )
            continue
        if path in where:
            issues.append(
                Located(
                    ws.title,
                    f"A{r}",
                    "field path",
                    f"{path} is also on row {where[path].row}; keep one of the two rows",
                )
            )
            continue
        where[path] = _Cell(ws.title, r, label, kind)
        if kind == "text":
            zh, en = (_str(ws.cell(r, c).value) for c in (COL_ZH, COL_EN))
            if bool(zh) != bool(en):
                col = COL_EN if zh else COL_ZH
                issues.append(
                    Located(
                        ws.title,
                        f"{letters[col]}{r}",
                        label,
                        f"the {'English' if zh else 'Chinese'} text is empty; write both "
                        "languages (or empty both to leave the field out)",
                    )
                )
                continue
            value: object = {"zh": zh, "en": en} if zh else None
        else:
            value = _value(ws, r, kind, label, issues)
        _put(data, [p for p in parsed if p is not None], value)


def _str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _value(ws: Worksheet, row: int, kind: str, label: str, issues: list[Located]) -> object:
    cell = ws.cell(row, COL_VALUE)
    raw = cell.value
    where = f"E{row}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind in ("number", "int"):
        number_value: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number_value = float(raw)
        elif isinstance(raw, str):
            try:
                number_value = float(raw.strip().replace(",", "").rstrip("%"))
            except ValueError:
                number_value = None
        if number_value is None:
            issues.append(
                Located(
                    ws.title, where, label, f"{str(raw)[:40]!r} is not a number; write a number"
                )
            )
            return None
        if kind == "int":
            if not number_value.is_integer():
                issues.append(
                    Located(ws.title, where, label, f"{number(number_value)} is not a whole number")
                )
                return None
            return int(number_value)
        return number_value
    text = _str(raw)
    if kind == "choice":
        hint = _str(ws.cell(row, COL_HINT).value)
        allowed = [c.split(" ", 1)[0] for c in hint.split(", ")] if hint else []
        if allowed and text not in allowed:
            issues.append(
                Located(
                    ws.title,
                    where,
                    label,
                    f"{text[:40]!r} is not one of {', '.join(allowed)}; pick one",
                )
            )
            return None
    return text


def _put(data: dict[str, Any], segments: list[re.Match[str]], value: object) -> None:
    node: dict[Any, Any] = data
    for i, m in enumerate(segments):
        name, key, position = m[1], m[2], m[3]
        last = i == len(segments) - 1
        if key is not None:
            items = node.get(name)
            if not isinstance(items, _Keyed):
                items = node[name] = _Keyed()
            node = items.setdefault(key, {"key": key})
        elif position is not None:
            values = node.get(name)
            if not isinstance(values, _Positional):
                values = node[name] = _Positional()
            values[int(position)] = value
            return
        elif last:
            node[name] = value
        else:
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
            node = child


def _lists(node: Any) -> Any:
    """The nested rows as model data: keyed items as lists in sheet order, positional values
    in order (empty ones dropped), a part whose every field is empty as None."""
    if isinstance(node, _Keyed):
        return [_lists(v) for v in node.values()]
    if isinstance(node, _Positional):
        return [_lists(node[k]) for k in sorted(node) if node[k] is not None]
    if isinstance(node, dict):
        if set(node) == {"zh", "en"}:
            return node
        out = {k: _lists(v) for k, v in node.items()}
        if "key" not in out and out and all(v is None for v in out.values()):
            return None
        return out
    return node


def _locate(error: Any, data: dict[str, Any], where: dict[str, _Cell]) -> Located:
    """The sheet, cell and reason of a validation error of the assembled document."""
    path, column = "", "E"
    node: Any = data
    for part in error["loc"]:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            key = node.get("key") if isinstance(node, dict) else None
            path += f"[{key}]" if key else f"#{part + 1}"
        elif isinstance(part, str) and part in ("zh", "en") and path in where:
            column = "C" if part == "zh" else "D"
            break
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error.get("type") == "missing" or error.get("input", "") is None:
        reason = "empty; fill it in"
    cell = where.get(path)
    if cell is None:
        near = sorted(p for p in where if p.startswith(path))
        cell = where[near[0]] if near else None
    if cell is None:
        return Located("—", "—", path or "document", reason)
    if cell.kind == "text" and column == "E":
        column = "C"
    return Located(cell.sheet, f"{column}{cell.row}", cell.label, reason)


# ---- files ------------------------------------------------------------------------------------


def write_standard_reports(
    out_dir: Path,
    version: StandardVersion,
    *,
    locale: Locale,
    programme: Programme,
    history: Sequence[StandardVersion],
    facts: StandardFacts | None = None,
) -> tuple[Path, Path]:
    """The version's workbook and page in `out_dir` (written atomically); their paths."""
    stem = file_stem(version)
    xlsx, html = out_dir / f"{stem}.xlsx", out_dir / f"{stem}.html"
    save_workbook(
        build_standard_workbook(version, locale=locale, programme=programme, facts=facts), xlsx
    )
    page = render_standard_page(
        version, locale=locale, programme=programme, history=history, facts=facts
    )
    write_text_atomic(html, page)
    return xlsx, html


def write_standards_index(
    out_dir: Path,
    versions: Sequence[tuple[StandardVersion, date | None]],
    *,
    locale: Locale,
    programme: Programme,
) -> Path:
    """The standards' index.html in `out_dir`; its path."""
    path = out_dir / "index.html"
    write_text_atomic(path, render_standards_index(versions, locale=locale, programme=programme))
    return path


def reminder_markdown(
    due: Sequence[tuple[StandardVersion, date]],
    *,
    today: date,
    locale: Locale,
    programme: Programme,
) -> str:
    """The quarterly review reminder as Markdown: every published standard due for review,
    when it was due, and how to record the review or revise it."""
    w = Words(locale)
    lines = [
        f"# {w('服务标准季度回顾提醒', 'Quarterly review of the service standards')} · "
        f"{md_text(programme.key)} · {today}",
        "",
    ]
    if not due:
        lines.append(
            w("没有到期需要回顾的已发布标准。", "No published standard is due for review.")
        )
        return "\n".join(lines) + "\n"
    lines += [
        f"| {w('标准', 'Standard')} | {w('版本', 'Version')} | {w('名称', 'Name')} | "
        f"{w('发布时间', 'Published')} | {w('应回顾日期', 'Due')} |",
        "|---|---|---|---|---|",
    ]
    for v, when in due:
        lines.append(
            f"| {md_text(v.key)} | {v.version} | {md_text(w.text(v.document.basic.name))} | "
            f"{_when(v.published_at, programme.timezone)} | {when} |"
        )
    lines += [
        "",
        w(
            "回顾后仍适用：`improve standards confirm CONFIG --as 姓名`；需要修订：编辑该版本的"
            "工作簿后 `improve standards import CONFIG FILE.xlsx --as 姓名`。",
            "Still fits: `improve standards confirm CONFIG --as NAME`; needs changes: edit the "
            "version's workbook and `improve standards import CONFIG FILE.xlsx --as NAME`.",
        ),
    ]
    return "\n".join(lines) + "\n"
