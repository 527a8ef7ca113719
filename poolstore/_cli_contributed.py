"""Commands that other packages contribute to the ``poolstore`` command line.

A package adds a command through the entry point group :data:`GROUP`
(``poolstore.commands``): the entry point's name is the command, and the
object it names (a module, or any object) has

* ``HELP``: one line for ``poolstore --help``;
* ``add_arguments(parser)``: adds the command's own options;
* ``run(args) -> int``: runs it with the parsed arguments (the common ones
  of :mod:`poolstore.cli` included) and returns the exit status.

The pack declares ``serve`` (the standalone web page, in the ``comfy_nodes``
layer) this way, so the domain layer does not know the layers above it.

Where the entry points come from: an installed distribution's metadata; and,
first, the ``pyproject.toml`` beside this package when it is the poolstore
project's (a plain clone run as ``python -m poolstore`` has no metadata of its
own, or that of another checkout). Its modules are taken from beside this
package, like those of :mod:`poolstore._layers`. Nothing is imported until
:func:`load` is called for a command that is used.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["GROUP", "SOURCE_PYPROJECT", "contributed", "load"]

GROUP = "poolstore.commands"
SOURCE_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
"""Where a plain clone declares its entry points."""


def contributed(source: Path | None = SOURCE_PYPROJECT) -> dict[str, metadata.EntryPoint]:
    """The contributed commands by name: those ``source`` (a pyproject.toml)
    declares, then the installed ones of other names. Loads nothing."""
    found = _declared(source) if source is not None else {}
    for entry in metadata.entry_points(group=GROUP):
        found.setdefault(entry.name, entry)
    return found


def _declared(pyproject: Path) -> dict[str, metadata.EntryPoint]:
    """The entry points of :data:`GROUP` in ``pyproject`` if it is the poolstore
    project's, their modules made relative to this package's parent package."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):  # no such file, or not TOML
        return {}
    if project.get("name") != "poolstore":
        return {}
    parent = __package__.rpartition(".")[0] if __package__ else ""
    table = project.get("entry-points", {}).get(GROUP, {})
    return {
        name: metadata.EntryPoint(name, f"{parent}.{value}" if parent else value, GROUP)
        for name, value in table.items()
        if isinstance(value, str)
    }


def load(entry: metadata.EntryPoint) -> tuple[Any, str | None]:
    """``(the command object, None)``, or ``(None, why it cannot be loaded)``
    when its module, or one it needs, is not installed or does not import."""
    try:
        return entry.load(), None
    except ModuleNotFoundError as exc:
        if exc.name and (entry.module == exc.name or entry.module.startswith(f"{exc.name}.")):
            return None, f"the {entry.name} command ({entry.module}) is not part of this installation"
        return None, f"the {entry.name} command needs the missing module {exc.name!r}"
    except (ImportError, AttributeError) as exc:  # a name its module lacks
        return None, f"the {entry.name} command ({entry.value}) cannot be loaded: {exc}"
