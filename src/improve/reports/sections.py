"""What a stage report shows, as titled tables: one model feeds both the workbook and the page,
so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from improve.domain.base import Locale, Text

Fmt = Literal["text", "int", "num1", "num2", "num3", "pct", "pval", "date"]


@dataclass(frozen=True)
class Val:
    """A value with its own format, where a column mixes units (KPIs of different kinds)."""

    value: Any
    fmt: Fmt


@dataclass
class Section:
    """A titled table: the workbook writes it as a sheet, the page as an HTML table."""

    key: str
    title: str
    headers: list[str]
    formats: list[Fmt]
    rows: list[list[Any]] = field(default_factory=list)
    note: str | None = None

    def add(self, *values: Any) -> None:
        """Append a row (one value per header)."""
        if len(values) != len(self.headers):
            raise ValueError(f"section {self.key}: {len(values)} values for {self.headers}")
        self.rows.append(list(values))


class Words:
    """Pick the wording for the report's locale."""

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.locale == "zh-CN" else en

    def text(self, value: Text) -> str:
        """A bilingual text in the locale."""
        return value.get(self.locale)


def display(value: Any, fmt: Fmt) -> str:
    """A value as the HTML page shows it (the workbook keeps the number and a format)."""
    if isinstance(value, Val):
        value, fmt = value.value, value.fmt
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int | float):
        if fmt == "pct":
            return f"{value:.1%}"
        if fmt == "pval":
            return "< 0.001" if value < 0.001 else f"{value:.3f}"
        if fmt in ("num1", "num2", "num3"):
            return f"{value:,.{fmt[-1]}f}"
        if fmt == "int":
            return f"{value:,.0f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_numeric(value: Any, fmt: Fmt) -> bool:
    """Whether the page right-aligns the cell (numbers, not text or dates)."""
    if isinstance(value, Val):
        value, fmt = value.value, value.fmt
    return fmt not in ("text", "date") and not isinstance(value, str)


def md_text(text: str) -> str:
    """Data text inert in Markdown: no HTML, no table cell breaks, no emphasis."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")
