"""ComfyUI entry point of the poolstore node pack.

ComfyUI imports this folder as a package under its folder name, so the
pack's own top-level packages (``backends``, ``poolstore``, ``comfy_nodes``)
are not importable by their names unless the pack is pip-installed. The
pack folder is therefore put first on ``sys.path`` when they are missing
(when the pack is also pip-installed, the installed copy is used).

Importing does no file or network I/O: stores are opened on the first
request or node run.
"""

import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))


def _ensure_importable() -> None:
    try:
        import comfy_nodes  # noqa: F401
    except ImportError:
        sys.path.insert(0, _PACK_DIR)
        import comfy_nodes  # noqa: F401


_ensure_importable()

from comfy_nodes.comfy import register_routes  # noqa: E402
from comfy_nodes.nodes import GridImagePool, PoolProfile  # noqa: E402

NODE_CLASS_MAPPINGS = {"GridImagePool": GridImagePool, "PoolProfile": PoolProfile}
NODE_DISPLAY_NAME_MAPPINGS = {"GridImagePool": "Image Pool (Grid)", "PoolProfile": "Pool Profile"}
WEB_DIRECTORY = "./web"

register_routes()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
