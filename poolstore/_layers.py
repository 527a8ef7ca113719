"""The layer below this package, :mod:`backends`, imported in one place.

The pack's packages (``backends``, ``poolstore``, ``comfy_nodes``) are
top-level packages for the command line, the tests and a pip install, and
subpackages of the node pack when ComfyUI loads it (see the pack's
``__init__``). Inside ComfyUI a top-level ``backends`` may be another pack's,
so the modules of this package never import it by that name: they import
what they use from here, and this module takes ``backends`` from beside this
package, ``<pack>.backends`` or the top-level one. Both branches import the
same names (tests/test_layers.py checks it).
"""

from __future__ import annotations

import importlib
from types import ModuleType

if "." in __package__:  # a subpackage of the node pack
    from .. import backends
    from ..backends import *  # noqa: F403
else:
    import backends
    from backends import *  # noqa: F403

__all__ = ["backends", "import_layer", *backends.__all__]


def import_layer(name: str) -> ModuleType:
    """Import the module ``name`` of a sibling layer, e.g. ``"comfy_nodes.serve"``,
    from beside this package (for what is imported only when used)."""
    parent = __package__.rpartition(".")[0]
    return importlib.import_module(f"{parent}.{name}" if parent else name)
