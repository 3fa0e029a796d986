"""Load the programme definition, playbook and root-cause rules from YAML (safe, strict)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from improve.domain.paths import inside
from improve.domain.programme import (
    BenchmarkDefaults,
    Playbook,
    PlaybookExtension,
    Programme,
    RootCauseRules,
)
from improve.errors import ConfigError

if TYPE_CHECKING:
    from improve.domain.standards import StandardTemplate

M = TypeVar("M", bound=BaseModel)


MAX_CONFIG_BYTES = 1 << 20  # the biggest embedded file is 12 KB; 1 MiB is not a config
MAX_DEPTH = 32  # nesting of mappings and lists; the embedded files use 7


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader reading plain scalars the YAML 1.2 core way, strictly.

    Only `true`/`false`, `null`/`~`/empty, decimal integers without leading zeros and
    decimal floats are typed; everything else stays text, so YAML 1.1's `yes`/`no`/`on`/`off`
    booleans, `8:30` (510 in base 60), `012` (octal 10), `1_000` and dates come to the
    models as written, and the models read them (a date field parses `2026-01-05`; a text
    field keeps `on`). Refused, with the line: duplicate keys, keys that are not plain
    values, anchors and aliases (no billion laughs), explicit tags (`!!python/...`,
    `!!binary`), nesting deeper than MAX_DEPTH."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class table)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            name = getattr(event, "anchor", None)
            raise _refused(
                event.start_mark,
                f"anchor or alias {name!r}: anchors (&name) and aliases (*name) are not "
                "allowed; write the values out",
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _refused(
                event.start_mark,
                f"explicit tag {tag!r} is not allowed; write a plain value "
                "(quote it to keep it as text)",
            )
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_DEPTH:
            raise _refused(
                event.start_mark,
                f"nested more than {MAX_DEPTH} levels deep; flatten the structure",
            )
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1


def _refused(mark: yaml.Mark, reason: str) -> ConfigError:
    return ConfigError(f"line {mark.line + 1}: {reason}")


_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _scalar(kind: Callable[[str], Any]) -> Callable[[_StrictLoader, yaml.ScalarNode], Any]:
    def construct(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
        return kind(loader.construct_scalar(node))

    return construct


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _scalar(int))
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _scalar(float))


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(f"line {line}: a key must be a plain name, not a list or mapping")
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} at line {line} (first at line {seen[key]}); keep one"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data and its node tree (for the line of a field)."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[int | str]) -> int | None:
        """The line (from 1) of the field at `loc` (a pydantic error location), or of the
        deepest part of it that exists in the file."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        node, line = value, key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                line = node.start_mark.line + 1
        return line


def default_config_dir() -> Path:
    """The embedded config/ folder: packaged with the wheel, or the repository's own."""
    packaged = resources.files("improve").joinpath("_config")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "config"


def read_document(path: Path) -> YamlDocument:
    """Parse `path` with the strict safe loader; errors name the file, the line and the fix."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a YAML file; name the file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check the path") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MiB, too big for a configuration "
            "file; check that it is the right file, or split it"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from exc
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)  # checks the characters: NUL and the like are refused
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(path, data, root)


def read_yaml(path: Path) -> Any:
    """The data of the YAML file `path`, parsed with the strict safe loader."""
    return read_document(path).data


_SHOWN_INPUT = (str, int, float, bool, date, type(None))


def _field_error(error: ErrorDetails, document: YamlDocument | None) -> str:
    """One line of a validation error: field path, line in the file, message, value given."""
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    line = document.line_of(error["loc"]) if document is not None else None
    if line is not None:
        where += f" (line {line})"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] not in ("missing", "value_error", "assertion_error") and isinstance(
        value, _SHOWN_INPUT
    ):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        message += f"; got {shown}"
        if error["type"] == "string_type" and not isinstance(value, str):
            message += ", quote it to keep it as text"
    return f"  {where}: {message}"


def validate_file(model: type[M], data: Any, path: Path, document: YamlDocument | None = None) -> M:
    """Validate parsed data as `model`; the error lists each field path (and its line, with
    `document`) and what to fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_field_error(e, document) for e in exc.errors()]
        raise ConfigError(
            f"{path}: invalid {model.__name__} definition; fix these fields:\n" + "\n".join(lines)
        ) from None


def load_file(model: type[M], path: Path) -> M:
    """The YAML file `path` read strictly and validated as `model`."""
    document = read_document(path)
    return validate_file(model, document.data, path, document)


def load_programme(path: Path) -> Programme:
    """The programme definition in `path`, its benchmarks completed with the published
    defaults (config/benchmarks.yaml) for the KPIs it does not benchmark itself."""
    programme = load_file(Programme, path)
    defaults_path = default_config_dir() / "benchmarks.yaml"
    defaults = load_file(BenchmarkDefaults, defaults_path)
    own = {b.kpi for b in programme.benchmarks}
    extra = tuple(b for b in defaults.benchmarks if b.kpi not in own)
    return programme.model_copy(update={"benchmarks": programme.benchmarks + extra})


def export_programme(last_day: date) -> Programme:
    """The programme assumed for a bare export (config/export.yaml): its baseline is the
    12 months up to the last whole month before `last_day` (or ending with it, when
    `last_day` is a month's last day)."""
    programme = load_programme(default_config_dir() / "export.yaml")
    end = (last_day + timedelta(days=1)).replace(day=1)
    cycle = programme.cycle.model_copy(
        update={"diagnosis_date": end, "plan_start": end, "deadline": end + timedelta(days=180)}
    )
    return programme.model_copy(update={"cycle": cycle})


def load_playbook(programme: Programme | None = None, base_dir: Path | None = None) -> Playbook:
    """The embedded playbook, extended (or replaced) by the programme's own playbook file."""
    default_path = default_config_dir() / "playbook.yaml"
    default = load_file(Playbook, default_path)
    if programme is None or programme.playbook is None:
        return default
    path = _resolve(programme.playbook, base_dir, "playbook.yaml")
    extension = load_file(PlaybookExtension, path)
    try:
        return default.extended(extension)
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"{path}: {reasons}; fix the programme's playbook") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}; fix the programme's playbook") from None


def load_rules(programme: Programme | None = None, base_dir: Path | None = None) -> RootCauseRules:
    """The programme's root-cause evidence rules, or the embedded default."""
    path = _resolve(
        programme.root_cause_rules if programme else None, base_dir, "root_cause_rules.yaml"
    )
    return load_file(RootCauseRules, path)


def demo_programme_path() -> Path:
    """The embedded demo programme definition."""
    return default_config_dir() / "demo.yaml"


def _resolve(configured: str | None, base_dir: Path | None, default_name: str) -> Path:
    """The programme's own `default_name` file (`configured`, relative to the programme
    file's folder `base_dir` and inside it), else the embedded one."""
    if configured is None:
        return default_config_dir() / default_name
    folder = base_dir if base_dir is not None else Path.cwd()
    try:
        return inside(folder, configured)
    except ValueError as exc:
        field = default_name.removesuffix(".yaml")
        raise ConfigError(f"the programme's {field}: {exc}") from None


def load_standard_template(key: str, directory: Path | None = None) -> StandardTemplate:
    """The service-standard template `key` (general, industry or simplified) from
    config/standards/ (or `directory`); errors name the file and the fields to fix."""
    from improve.domain.standards import TEMPLATE_KEYS, StandardTemplate

    if key not in TEMPLATE_KEYS:
        raise ConfigError(
            f"unknown standard template {key!r}; use one of {', '.join(TEMPLATE_KEYS)}"
        )
    path = (directory or default_config_dir() / "standards") / f"{key}.yaml"
    template = load_file(StandardTemplate, path)
    if template.key != key:
        raise ConfigError(f"{path}: declares template {template.key!r}; set key: {key}")
    return template
