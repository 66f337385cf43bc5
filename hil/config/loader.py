"""Load TOML configs into frozen, validated models, with errors a bench engineer can act on.

Every problem becomes one line ``FILE: KEY.PATH: what is wrong (what is allowed)``: missing
files, TOML syntax errors (with line and column), unknown keys (with the keys allowed there), wrong
types, out-of-range values. Never a traceback.

Precedence for rig files: ``--set key.path=value`` on the command line, then environment variables
``HIL_RIG__SECTION__KEY=value``, then the file. Override values are TOML literals (``921600``,
``true``, ``[0, 0, 2.5]``); anything that does not parse as one is taken as a string.
"""

from __future__ import annotations

import os
import stat
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drivers.plc.register_map import RegisterMapFile
from hil.config.plc_emulator import PlcEmulatorConfig
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

CONFIG_KINDS: dict[str, type[BaseModel]] = {
    "rig": RigConfig,
    "scenario": ScenarioConfig,
    "plc_emulator": PlcEmulatorConfig,
    "register_map": RegisterMapFile,
}
"""Top-level table that identifies a config file → its model."""

RIG_ENV_PREFIX = "HIL_RIG__"


MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Largest config file read (4 MiB): hand-written configs are kilobytes, and many targets are
generated with ``[[raids]]``. Guards against reading a device or a huge file whole."""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; any failure is a one-line ``ConfigError`` naming the file. Only
    regular files of at most ``MAX_CONFIG_BYTES`` are read."""
    try:
        _check_readable(path, path.stat())
        with path.open("rb") as handle:
            _check_readable(path, os.fstat(handle.fileno()))
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        _check_size(path, len(raw))
        return tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError as error:
        raise ConfigError([f"{path}: file not found"]) from error
    except PermissionError as error:
        raise ConfigError([f"{path}: permission denied"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: not UTF-8 text ({error.reason})"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: TOML syntax error: {error}"]) from error
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror or error}"]) from error


def _check_readable(path: Path, status: os.stat_result) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise ConfigError([f"{path}: is a directory, expected a .toml file"])
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError(
            [f"{path}: not a regular file (a device, pipe or socket); give a .toml file"]
        )
    _check_size(path, status.st_size)


def _check_size(path: Path, size: int) -> None:
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            [
                f"{path}: larger than a config file can be ({MAX_CONFIG_BYTES // 1024**2} MiB); "
                "generate many targets with [[raids]]"
            ]
        )


def kind_of(path: Path, data: Mapping[str, Any]) -> type[BaseModel]:
    """The model for a parsed file, told by its identifying top-level table."""
    kinds = [name for name in CONFIG_KINDS if name in data]
    if len(kinds) != 1:
        tables = ", ".join(f"[{name}]" for name in CONFIG_KINDS)
        found = "both " + " and ".join(f"[{k}]" for k in kinds) if kinds else "none"
        raise ConfigError(
            [
                f"{path}: cannot tell what kind of config this is: expected exactly one "
                f"of the top-level tables {tables}, found {found}"
            ]
        )
    return CONFIG_KINDS[kinds[0]]


def load_config(
    path: str | Path,
    model: type[ModelT] | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    env_prefix: str | None = None,
) -> BaseModel:
    """Load ``path`` as ``model`` (or the kind its top-level table names), applying overrides."""
    path = Path(path)
    data = read_toml(path)
    chosen: type[BaseModel] = model if model is not None else kind_of(path, data)
    _expect_kind(path, data, chosen)
    return _apply_and_validate(path, data, chosen, overrides, environ, env_prefix)


def _expect_kind(path: Path, data: Mapping[str, Any], model: type[BaseModel]) -> None:
    """One line, not one per key, when a file of another kind is given (a rig as a scenario)."""
    wanted = next((name for name, kind in CONFIG_KINDS.items() if kind is model), None)
    found = [name for name in CONFIG_KINDS if name in data]
    if wanted is not None and wanted not in data and len(found) == 1:
        raise ConfigError(
            [
                f"{path}: this is a {found[0].replace('_', ' ')} file ([{found[0]}]), "
                f"expected a {wanted.replace('_', ' ')} file (one with a [{wanted}] table)"
            ]
        )


def load_as_run(
    path: str | Path, overrides: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> tuple[BaseModel, list[str]]:
    """Load a config of any kind exactly as the commands that use it will: a rig file with its
    ``HIL_RIG__…`` environment variables and ``overrides`` applied (``hil run``'s precedence),
    other kinds as they are. Returns the config and the overrides applied to it."""
    path = Path(path)
    data = read_toml(path)
    chosen = kind_of(path, data)
    if chosen is not RigConfig:
        return validate(path, chosen, data), []
    env = environ if environ is not None else os.environ
    applied = [
        f"environment {name}" for name in sorted(env) if _is_override(name, RIG_ENV_PREFIX)
    ] + [f"--set {override}" for override in overrides]
    config = _apply_and_validate(path, data, chosen, overrides, env, RIG_ENV_PREFIX)
    return config, applied


def apply_overrides(
    path: Path, data: dict[str, Any], model: type[ModelT], overrides: Sequence[str]
) -> ModelT:
    """``data`` (as read from ``path``, or a recording's copy of it) with ``--set`` overrides
    applied, validated as ``model``; problems name ``path`` and the override."""
    config = _apply_and_validate(path, data, model, overrides, None, None)
    assert isinstance(config, model)
    return config


def _is_override(name: str, prefix: str) -> bool:
    """``name`` is meant as an override: it starts with ``prefix`` (``HIL_RIG__`` alone, with
    no key after it, is one too, and refused as such rather than silently ignored)."""
    return name.startswith(prefix)


def _apply_and_validate(
    path: Path,
    data: dict[str, Any],
    chosen: type[BaseModel],
    overrides: Sequence[str],
    environ: Mapping[str, str] | None,
    env_prefix: str | None,
) -> BaseModel:
    sources: dict[tuple[str, ...], str] = {}
    for keys, value, source in _override_items(path, overrides, environ, env_prefix):
        _assign(path, data, keys, value, source)
        sources[keys] = source
    return validate(path, chosen, data, sources)


def _override_items(
    path: Path,
    overrides: Sequence[str],
    environ: Mapping[str, str] | None,
    env_prefix: str | None,
) -> list[tuple[tuple[str, ...], Any, str]]:
    """Each override in the order it applies — the environment's (with ``env_prefix``), then
    ``overrides`` — as (key path, parsed value, what set it); a malformed one is refused."""
    items: list[tuple[tuple[str, ...], Any, str]] = []
    if env_prefix is not None:
        env = environ if environ is not None else os.environ
        for name, value in sorted(env.items()):
            if _is_override(name, env_prefix):
                keys = tuple(part.lower() for part in name[len(env_prefix) :].split("__"))
                if not all(keys):
                    raise ConfigError(
                        [
                            f"{path}: bad environment variable {name}: expected "
                            f"{env_prefix}SECTION__KEY=value (double underscores between keys)"
                        ]
                    )
                items.append((keys, _parse_value(value), f"environment {name}"))
    for override in overrides:
        key, sep, value = override.partition("=")
        keys = tuple(part.strip() for part in key.split("."))
        if not sep or not all(keys):
            raise ConfigError([f"{path}: bad override {override!r}: expected key.path=value"])
        items.append((keys, _parse_value(value.strip()), f"--set {override}"))
    return items


def rig_setting_source(
    path: Path, keys: tuple[str, ...], overrides: Sequence[str] = ()
) -> str | None:
    """What set the rig file's ``keys`` last — ``--set …`` or ``environment HIL_RIG__…``, as
    config errors name it — or None when the file did."""
    items = _override_items(path, overrides, None, RIG_ENV_PREFIX)
    return next((source for k, _, source in reversed(items) if k == keys), None)


def validate(
    path: Path,
    model: type[ModelT],
    data: Mapping[str, Any],
    sources: Mapping[tuple[str, ...], str] | None = None,
) -> ModelT:
    """Validate parsed ``data`` from ``path`` as ``model``; every problem is one line naming the
    file and key (and, from ``sources``, the override that set it)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(
            [_describe(path, model, e, sources or {}) for e in error.errors()]
        ) from error


def load_scenario(path: str | Path) -> ScenarioConfig:
    """Load a scenario file."""
    config = load_config(path, ScenarioConfig)
    assert isinstance(config, ScenarioConfig)
    return config


def load_plc_emulator(path: str | Path) -> PlcEmulatorConfig:
    """Load an emulated-PLC settings file."""
    config = load_config(path, PlcEmulatorConfig)
    assert isinstance(config, PlcEmulatorConfig)
    return config


def load_rig(
    path: str | Path, overrides: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> RigConfig:
    """Load a rig file with CLI ``overrides`` and ``HIL_RIG__…`` environment variables applied."""
    config = load_config(path, RigConfig, overrides, environ, RIG_ENV_PREFIX)
    assert isinstance(config, RigConfig)
    return config


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _assign(
    path: Path, data: dict[str, Any], keys: tuple[str, ...], value: Any, source: str
) -> None:
    table = data
    for depth, key in enumerate(keys[:-1]):
        nested = table.setdefault(key, {})
        if not isinstance(nested, dict):
            where = ".".join(keys[: depth + 1])
            raise ConfigError(
                [
                    f"{path}: {where}: cannot set {'.'.join(keys)} from {source}: "
                    f"{where} is not a table"
                ]
            )
        table = nested
    table[keys[-1]] = value


def _strip_optional(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _union_by_tag(annotation: Any, tag: str) -> type[BaseModel] | None:
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for member in typing.get_args(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for field in member.model_fields.values():
                if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(
                    field.annotation
                ):
                    return member
    return None


def _walk(model: type[BaseModel], loc: Iterable[int | str]) -> tuple[str, Any]:
    """Display path of a pydantic ``loc`` (union tags dropped) and the annotation it ends at."""
    path = ""
    current: Any = model
    for part in loc:
        current = _strip_optional(current)
        if isinstance(part, int):
            path += f"[{part}]"
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        member = _union_by_tag(current, part)
        if member is not None:
            current = member
            continue
        path += f".{part}" if path else part
        if (
            isinstance(current, type)
            and issubclass(current, BaseModel)
            and part in current.model_fields
        ):
            current = current.model_fields[part].annotation
        else:
            current = None
    return path, _strip_optional(current)


def _parent_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    _, parent = _walk(model, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return sorted(parent.model_fields)
    return []


def _describe(
    path: Path, model: type[BaseModel], error: Any, sources: Mapping[tuple[str, ...], str]
) -> str:
    loc = tuple(error["loc"])
    key, _ = _walk(model, loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _parent_keys(model, loc)
        problem = f"unknown key; allowed here: {', '.join(allowed)}" if allowed else "unknown key"
    elif kind == "missing":
        problem = "required key is missing"
    elif kind == "union_tag_invalid":
        ctx = error["ctx"]
        tag_key = str(ctx["discriminator"]).strip("'")
        problem = f"unknown {tag_key} {ctx['tag']!r}; allowed: {ctx['expected_tags']}"
        key = f"{key}.{tag_key}" if key else tag_key
    elif kind == "union_tag_not_found":
        tag_key = str(error["ctx"]["discriminator"]).strip("'")
        problem = "required key is missing"
        key = f"{key}.{tag_key}" if key else tag_key
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        problem = f"{message}{shown}"
    origin = next(
        (
            f" [set by {source}]"
            for keys, source in sources.items()
            if tuple(str(p) for p in loc[: len(keys)]) == keys
        ),
        "",
    )
    return f"{path}: {key or '(top level)'}: {problem}{origin}"
