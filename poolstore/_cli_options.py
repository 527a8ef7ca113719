"""``--storage-option KEY=VALUE`` arguments turned into fsspec storage options:
the one parser of every command (``serve`` and ``--to-storage-option`` included)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["parse_storage_options", "storage_option_arg"]


def parse_storage_options(items: Sequence[str] | None) -> dict[str, Any]:
    """Turn ``["key=value", "client_kwargs.region_name=eu-west-1"]`` into options.

    Values become ``True``/``False``/``None`` (``true``, ``false``, ``null``),
    ints, floats, or JSON for values starting with ``{``, ``[`` or ``"``;
    anything else stays text. A dotted key sets a nested option.
    """
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"a storage option is KEY=VALUE, not {item!r}")
        *parents, leaf = key.split(".")
        target = options
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"storage option {key!r} conflicts with another")
        target[leaf] = _option_value(text)
    return options


def _option_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if lowered in ("null", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text[:1] in ("{", "[", '"'):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"storage option value {text[:40]!r} is not valid JSON") from exc
    return text


def storage_option_arg(item: str) -> str:
    """argparse ``type`` of a ``KEY=VALUE`` option: checks it alone, so a
    malformed one is a usage error of the command that got it."""
    try:
        parse_storage_options([item])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return item
