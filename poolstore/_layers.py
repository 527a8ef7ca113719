"""The layer below this package, :mod:`backends`, imported in one place.

The pack's packages (``backends``, ``poolstore``, ``comfy_nodes``) are
top-level packages for the command line, the tests and a pip install, and
subpackages of the node pack when ComfyUI loads it (see the pack's
``__init__``). Inside ComfyUI a top-level ``backends`` may be another pack's,
so the modules of this package never import it by that name: they import
what they use from here, and this module takes ``backends`` from beside this
package, ``<pack>.backends`` or the top-level one. Both branches import the
same names (tests/test_layers.py checks it). The switch is the name
``_IN_PACK`` so that the type checker, which checks the top-level packages,
can be told to take the top-level branch (``always_false`` in pyproject.toml).
"""

from __future__ import annotations

_IN_PACK = "." in __package__
if _IN_PACK:  # a subpackage of the node pack
    from .. import backends
    from ..backends import *  # noqa: F403
else:
    import backends
    from backends import *  # noqa: F403

__all__ = ["backends", *backends.__all__]
