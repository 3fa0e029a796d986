"""Load the programme definition, playbook and root-cause rules from YAML (safe, strict)."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1}; keep one"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def default_config_dir() -> Path:
    """The embedded config/ folder: packaged with the wheel, or the repository's own."""
    packaged = resources.files("improve").joinpath("_config")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "config"


def read_yaml(path: Path) -> Any:
    """Parse `path` with the strict safe loader; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; check the path") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def validate_file(model: type[M], data: Any, path: Path) -> M:
    """Validate parsed data as `model`; the error lists each field path and what to fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise ConfigError(
            f"{path}: invalid {model.__name__} definition; fix these fields:\n" + "\n".join(lines)
        ) from None


def load_programme(path: Path) -> Programme:
    """The programme definition in `path`, its benchmarks completed with the published
    defaults (config/benchmarks.yaml) for the KPIs it does not benchmark itself."""
    programme = validate_file(Programme, read_yaml(path), path)
    defaults_path = default_config_dir() / "benchmarks.yaml"
    defaults = validate_file(BenchmarkDefaults, read_yaml(defaults_path), defaults_path)
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
    default = validate_file(Playbook, read_yaml(default_path), default_path)
    if programme is None or programme.playbook is None:
        return default
    path = _resolve(programme.playbook, base_dir, "playbook.yaml")
    extension = validate_file(PlaybookExtension, read_yaml(path), path)
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
    return validate_file(RootCauseRules, read_yaml(path), path)


def demo_programme_path() -> Path:
    """The embedded demo programme definition."""
    return default_config_dir() / "demo.yaml"


def _resolve(configured: str | None, base_dir: Path | None, default_name: str) -> Path:
    if configured is None:
        return default_config_dir() / default_name
    path = Path(configured)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def load_standard_template(key: str, directory: Path | None = None) -> StandardTemplate:
    """The service-standard template `key` (general, industry or simplified) from
    config/standards/ (or `directory`); errors name the file and the fields to fix."""
    from improve.domain.standards import TEMPLATE_KEYS, StandardTemplate

    if key not in TEMPLATE_KEYS:
        raise ConfigError(
            f"unknown standard template {key!r}; use one of {', '.join(TEMPLATE_KEYS)}"
        )
    path = (directory or default_config_dir() / "standards") / f"{key}.yaml"
    template = validate_file(StandardTemplate, read_yaml(path), path)
    if template.key != key:
        raise ConfigError(f"{path}: declares template {template.key!r}; set key: {key}")
    return template
