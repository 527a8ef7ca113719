"""ComfyUI entry point of the poolstore node pack.

ComfyUI imports this folder as a package (under a name of its choosing) into
one interpreter shared by every custom node pack, where a top-level module
name belongs to whichever pack imported it first. This pack's packages have
generic names (``backends``, ``comfy_nodes``), so inside ComfyUI they are
never imported as top-level modules: they are subpackages of this package
(``<this package>.backends``, ``.poolstore``, ``.comfy_nodes``), loaded from
this folder, and no global module name ever refers to them.

* This module imports them with relative imports, and within a package
  their modules import each other relatively.
* Across packages, a module imports what it uses from its package's
  ``_layers`` module, which takes the lower layers from beside its package:
  the sibling subpackage here, the top-level package when they are imported
  as top-level packages (the ``poolstore`` command, ``poolstore serve``, the
  tests, a pip install). tests/test_layers.py checks that no module imports a
  layer by its top-level name anywhere else, lazily or not.

So a pack loaded before this one may own ``sys.modules["backends"]``, one
loaded after gets its own ``backends``, and a copy of poolstore pip-installed
into ComfyUI's Python is not used by the pack; nothing here depends on the
name ComfyUI gives this package, on ``sys.path`` or on import order. (Putting
this folder on ``sys.path``, or pointing ``sys.modules`` entries at the pack's
modules while it loads, would leave every import made later, inside a
function, to whatever those global names mean by then.)

Importing does no file or network I/O: stores are opened on the first
request or node run.
"""

if __package__:  # imported as a package, as ComfyUI does
    from .comfy_nodes.register import register_routes
    from .comfy_nodes.nodes import GridImagePool, PoolProfile

    NODE_CLASS_MAPPINGS = {"GridImagePool": GridImagePool, "PoolProfile": PoolProfile}
    NODE_DISPLAY_NAME_MAPPINGS = {"GridImagePool": "Image Pool (Grid)", "PoolProfile": "Pool Profile"}
    WEB_DIRECTORY = "./web"

    register_routes()

    __all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
# else: pytest, collecting the repository as a package, runs this file as a
# plain module named "__init__"; there is no pack to register then.
