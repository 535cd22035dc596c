"""Typed configs: one dataclass per stage (``hwnas.config_sections``), loaded from YAML,
overridable from the CLI with ``section.key=value``, unknown keys rejected, the resolved
config saved with every run (YAML aliases refused: ``load_yaml``). This module is the
entry point for loading and checking configs (and ``ExperimentConfig``, the type they
load to); the section dataclasses are imported from ``hwnas.config_sections``.

Values are checked in one place, once, before anything runs (``hwnas.config_rules``):
``load_config``, ``config_from_dict`` (a recorded config) and overrides all go through it,
and ``check_config`` re-checks a config object that code has changed. Overrides are YAML
values.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml

from hwnas.config_rules import _from_dict, check_config
from hwnas.config_sections import ExperimentConfig
from hwnas.domains import short_repr as _short
from hwnas.errors import UserError
from hwnas.io import atomic_write_text
from hwnas.keys import deprecated

__all__ = [
    "ExperimentConfig",
    "check_config",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_yaml",
    "apply_overrides",
    "override_value",
    "rename_old_keys",
    "save_config",
]


def _sourced(source: str, build):
    """``build()`` with ``source`` (a file, "resumed config") prefixed to its one-line error."""
    try:
        return build()
    except UserError as err:
        raise UserError(f"{source}: {err}") from None


# Keys renamed after configs and recorded runs (sweep.json, checkpoints) were written with
# the old name: old -> new (``section.key``). The old name still loads, with one
# deprecation line on stderr; both names at once is an error. ``mode`` meant two things
# (how the supernet runs; which cost term leads the knobs) and is Ray's word too.
RENAMED_CONFIG_KEYS = {"search.mode": "search.execution", "sweep.mode": "sweep.dominant"}


def _deprecated(where: str, old: str) -> None:
    """One deprecation line per file (or override) and old key, however often a command reads
    it (``sweep.final`` reads an old experiment's sweep.json twice)."""
    new = RENAMED_CONFIG_KEYS[old]
    deprecated(f"{where}: {old} is deprecated, read as {new}; use {new}", (where, old))


def rename_old_keys(data, source: str | None = None):
    """``data`` (a config mapping, or a recorded part of one such as a checkpoint's resume
    key) with each old key of ``RENAMED_CONFIG_KEYS`` under its new name: a copy, ``data`` may be a
    recorded config the caller keeps. ``source`` names it in the deprecation line (None:
    silent, for comparing records). Both names at once is a one-line error."""
    if not isinstance(data, dict):
        return data
    for old, new in RENAMED_CONFIG_KEYS.items():
        (section, old_key), new_key = old.split("."), new.split(".")[1]
        node = data.get(section)
        if not isinstance(node, dict) or old_key not in node:
            continue
        if new_key in node:
            raise UserError(
                f"{source or 'config'}: both {old} and {new} given; {old} is the old name of {new}, keep {new}"
            )
        if source is not None:
            _deprecated(source, old)
        node = dict(node)
        node[new_key] = node.pop(old_key)
        data = {**data, section: node}
    return data


def config_from_dict(data: dict, cls=ExperimentConfig, source: str = "config"):
    data = rename_old_keys(data, source)
    return _sourced(source, lambda: _from_dict(cls, data, ""))


def config_to_dict(cfg) -> dict:
    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def load_yaml(text: str, source: str):
    """``yaml.safe_load(text)``, refusing aliases (``*name``) before anything is built: a few
    hundred bytes of nested aliases expand to billions of values (a "billion laughs"), and a
    config needs none. The one-line error names ``source`` and the alias; ``yaml.YAMLError``
    and ``RecursionError`` are the caller's to word."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise UserError(
                f"{source}: YAML alias *{str(event.anchor)[:40]} at line {event.start_mark.line + 1}: aliases "
                "are not allowed in a config (write the value out)"
            )
    return yaml.safe_load(text)


def override_value(dotted: str, raw: str):
    """The YAML value of an override's right side (empty: null); one line if it is not YAML."""
    if raw == "":
        return None
    try:
        return load_yaml(raw, f"override {dotted}")
    except (yaml.YAMLError, RecursionError) as err:
        first = (str(err).strip().splitlines() or ["nested too deeply"])[0]
        raise UserError(f"override {dotted}: value {_short(raw)} is not valid YAML ({first})") from None


def _set_override(data: dict, item: str, cls) -> None:
    if "=" not in item:
        raise UserError(f"override {_short(item)}: expected section.key=value")
    dotted, raw = item.split("=", 1)
    value = override_value(dotted, raw)
    if dotted in RENAMED_CONFIG_KEYS:
        _deprecated(f"override {dotted}", dotted)
        dotted = RENAMED_CONFIG_KEYS[dotted]
    keys = dotted.split(".")
    node, tp = data, cls
    for i, key in enumerate(keys):
        names = {f.name for f in dataclasses.fields(tp)} if dataclasses.is_dataclass(tp) else set()
        if key not in names:
            raise UserError(
                f"override {dotted}: unknown key {key!r}"
                + (f"; expected one of {', '.join(sorted(names))}" if names else "")
            )
        if i == len(keys) - 1:
            node[key] = value
            old = next((o for o, n in RENAMED_CONFIG_KEYS.items() if n == dotted), None)
            if old is not None:  # the override replaces a value recorded under the old name too
                node.pop(old.split(".")[-1], None)
        else:
            tp = typing.get_type_hints(tp)[key]
            if node.get(key) is None:  # absent, or written "budget:" (null: the defaults)
                node[key] = {}
            node = node[key]
            if not isinstance(node, dict):
                raise UserError(f"override {dotted}: {key} is not a section")


def load_config(path: str | Path | None, overrides=(), cls=ExperimentConfig):
    """Load a YAML config (``None``: defaults), apply ``key=value`` overrides, validate."""
    data: dict = {}
    source = "config"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise UserError(f"config file {path} not found")
        try:
            data = load_yaml(path.read_text(), str(path)) or {}
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: cannot read ({getattr(err, 'strerror', None) or type(err).__name__})") from None
        except (yaml.YAMLError, RecursionError) as err:
            first = (str(err).strip().splitlines() or ["nested too deeply"])[0]
            raise UserError(f"{path}: not valid YAML ({first})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a mapping at the top level")
    data = rename_old_keys(data, source)
    apply_overrides(data, overrides, cls)
    return _sourced(source, lambda: _from_dict(cls, data, ""))


def apply_overrides(data: dict, overrides, cls=ExperimentConfig) -> dict:
    """Set each ``section.key=value`` of ``overrides`` in the config mapping ``data`` (in
    place; unknown keys and non-YAML values are one-line errors); the config is checked
    when it is built from ``data``."""
    for item in overrides:
        _set_override(data, item, cls)
    return data


def save_config(cfg, path: str | Path) -> None:
    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
