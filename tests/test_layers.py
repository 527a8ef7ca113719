"""The import rules that let the pack's packages be top-level packages (CLI,
tests, pip install) and subpackages of the node pack inside ComfyUI (see the
repo-root ``__init__``): no module imports a layer by its top-level name,
except the two ``_layers`` modules, whose two branches import the same
things; ``backends`` imports no other layer."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("backends", "poolstore", "comfy_nodes")
FACADES = ("poolstore/_layers.py", "comfy_nodes/_layers.py")


def _modules() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def _layer_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import, at any depth, that names a layer absolutely."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in LAYERS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] in LAYERS:
            found.append((node.lineno, node.module))
    return found


def _string_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """``import_module("backends...")``-style imports of a layer by name."""
    return [
        (node.lineno, node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] in LAYERS
    ]


def test_no_module_imports_a_layer_by_its_top_level_name():
    offenders = []
    for path in _modules():
        if str(path.relative_to(ROOT)).replace("\\", "/") in FACADES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in _layer_imports(tree) + _string_imports(tree)]
    assert offenders == []


def test_backends_imports_no_other_layer():
    offenders = []
    for path in (ROOT / "backends").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _branch_imports(branch: list[ast.stmt]) -> set[tuple[str, tuple[str, ...]]]:
    """(module, names) of each import in a branch, relative ones made absolute."""
    out = set()
    for node in branch:
        if isinstance(node, ast.Import):
            out |= {(a.name, ()) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is None:  # from .. import a, b
            out |= {(a.name, ()) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add((node.module, tuple(sorted(a.name for a in node.names))))
    return out


@pytest.mark.parametrize("facade", FACADES)
def test_both_branches_of_a_layers_module_import_the_same(facade):
    tree = ast.parse((ROOT / facade).read_text(encoding="utf-8"))
    switch = next(node for node in tree.body if isinstance(node, ast.If))
    assert ast.unparse(switch.test) == "_IN_PACK"
    assert "_IN_PACK = '.' in __package__" in {ast.unparse(node) for node in tree.body if isinstance(node, ast.Assign)}
    relative, absolute = switch.body, switch.orelse
    assert all(isinstance(n, ast.ImportFrom) and n.level == 2 for n in relative)
    assert all(isinstance(n, ast.Import) or (isinstance(n, ast.ImportFrom) and n.level == 0) for n in absolute)
    assert _branch_imports(relative) == _branch_imports(absolute)


@pytest.mark.parametrize("facade", ["poolstore._layers", "comfy_nodes._layers"])
def test_names_gathered_by_a_layers_module_do_not_clash(facade):
    """A name exported by two of the modules it gathers is the same object in both."""
    tree = ast.parse((ROOT / facade.replace(".", "/")).with_suffix(".py").read_text(encoding="utf-8"))
    switch = next(node for node in tree.body if isinstance(node, ast.If))
    sources = [importlib.import_module(n.module) for n in switch.orelse if isinstance(n, ast.ImportFrom)]
    seen: dict[str, object] = {}
    for module in sources:
        for name in module.__all__:
            assert seen.setdefault(name, getattr(module, name)) is getattr(module, name), (facade, name)
    gathered = importlib.import_module(facade)
    assert all(getattr(gathered, name) is value for name, value in seen.items())
