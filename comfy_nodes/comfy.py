"""Lazy glue to ComfyUI: where its folders are, and its ``PromptServer``.

Every function imports ComfyUI modules at call time (they exist only inside
ComfyUI), so the pack and its tests import without ComfyUI. Outside ComfyUI
the functions answer ``None`` and callers fall back to their standalone
defaults. This module imports nothing else of the pack; mounting the routes
is :mod:`comfy_nodes.register`.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

__all__ = ["folder_paths", "input_directory", "user_directory", "prompt_server_routes"]


def folder_paths() -> ModuleType | None:
    """ComfyUI's ``folder_paths`` module when running inside ComfyUI, else ``None``."""
    try:
        return importlib.import_module("folder_paths")
    except ImportError:
        return None


def _directory(getter: str) -> str | None:
    module = folder_paths()
    fn = getattr(module, getter, None) if module is not None else None
    return os.fspath(fn()) if callable(fn) else None


def input_directory() -> str | None:
    """ComfyUI's ``input`` folder, or ``None`` outside ComfyUI."""
    return _directory("get_input_directory")


def user_directory() -> str | None:
    """ComfyUI's ``user`` folder, or ``None`` outside ComfyUI."""
    return _directory("get_user_directory")


def prompt_server_routes() -> Any | None:
    """``PromptServer.instance.routes`` (a ``RouteTableDef``), or ``None``
    when the ``server`` module or its instance is absent."""
    try:
        server = importlib.import_module("server")
    except ImportError:
        return None
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    return getattr(instance, "routes", None)
