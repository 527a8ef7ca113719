"""The ComfyUI layer of poolstore: nodes, HTTP route handlers, store
configuration and the standalone ``poolstore serve`` app.

Importing this package touches no file, network or ComfyUI module; the
submodules that need ComfyUI import it lazily (see :mod:`comfy_nodes.comfy`).
"""
