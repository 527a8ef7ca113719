"""Mounting the HTTP API on ComfyUI's ``PromptServer`` (what the pack's entry
point does when ComfyUI imports it)."""

from __future__ import annotations

import os

from . import comfy
from .config import configured_stores
from .routes import build_routes

__all__ = ["register_routes", "STAGE_SUBFOLDER"]

STAGE_SUBFOLDER = "grid_pool_stage"
"""The folder of ComfyUI's ``input`` folder that images for its MaskEditor are staged in."""


def register_routes() -> bool:
    """Add the API routes to ComfyUI's ``PromptServer`` (which also serves
    them under ``/api``). The stores are opened on the first request.

    Returns ``False`` (and does nothing) outside ComfyUI. No I/O.
    """
    routes = comfy.prompt_server_routes()
    if routes is None:
        return False
    inside = comfy.input_directory()
    stage = os.path.join(inside, STAGE_SUBFOLDER) if inside else None
    for route in build_routes(configured_stores, stage_dir=stage):
        routes.route(route.method, route.path, **route.kwargs)(route.handler)
    return True
