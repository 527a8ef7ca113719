"""The layers below this package, :mod:`poolstore` and :mod:`backends`,
imported in one place.

The pack's packages (``backends``, ``poolstore``, ``comfy_nodes``) are
top-level packages for the command line, ``poolstore serve``, the tests and
a pip install, and subpackages of the node pack when ComfyUI loads it (see
the pack's ``__init__``). Inside ComfyUI a top-level ``backends`` or
``poolstore`` may be another pack's, so the modules of this package never
import them by those names: they import what they use from here, and this
module takes the layers from beside this package, ``<pack>.poolstore`` or the
top-level one. Both branches import the same modules (tests/test_layers.py
checks it); a name used from another module of a layer is added to both.
The switch is the name ``_IN_PACK`` so that the type checker, which checks the
top-level packages, can be told to take the top-level branch (``always_false``
in pyproject.toml).
"""

from __future__ import annotations

_IN_PACK = "." in __package__
if _IN_PACK:  # a subpackage of the node pack
    from .. import backends, poolstore
    from ..backends import *  # noqa: F403
    from ..poolstore import *  # noqa: F403
    from ..poolstore.archive import *  # noqa: F403
    from ..poolstore.ids import *  # noqa: F403
    from ..poolstore.images import *  # noqa: F403
    from ..poolstore.manifest import *  # noqa: F403
    from ..poolstore.transfer import *  # noqa: F403
else:
    import backends
    import poolstore
    from backends import *  # noqa: F403
    from poolstore import *  # noqa: F403
    from poolstore.archive import *  # noqa: F403
    from poolstore.ids import *  # noqa: F403
    from poolstore.images import *  # noqa: F403
    from poolstore.manifest import *  # noqa: F403
    from poolstore.transfer import *  # noqa: F403
