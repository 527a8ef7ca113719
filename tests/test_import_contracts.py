"""The layer rules as import-linter contracts ([tool.importlinter] in
pyproject.toml), checked by ``lint-imports``: each contract is kept, the
contracts catch a violation, and the import graph they are checked on is the
real one, although the packages import each other through ``_layers`` modules
that have a relative branch (inside ComfyUI) and an absolute one."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
PACKAGES = tuple(CONFIG["root_packages"])
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]

def _lint(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    args = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run([*LINT_IMPORTS, "--no-cache", "--no-logo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("contract", [c["id"] for c in CONFIG["contracts"]])
def test_contract_is_kept(contract):
    done = _lint(ROOT, contract)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_the_contracts_catch_imports_against_the_layers(tmp_path):
    tree = _copy(tmp_path)
    kept = _lint(tree, "layers", "one-route-table", "no-web-no-torch")
    assert kept.returncode == 0, kept.stdout
    _append(tree / "poolstore" / "ids.py", "def _late():\n    from comfy_nodes import serve  # noqa\n")
    _append(tree / "backends" / "_keys.py", "def _late():\n    import aiohttp  # noqa\n")
    _append(tree / "comfy_nodes" / "nodes.py", "from .routes_pool import stage  # noqa")
    broken = _lint(tree, "layers", "one-route-table", "no-web-no-torch")
    assert broken.returncode == 1
    assert "0 kept, 3 broken" in broken.stdout, broken.stdout
    for line in ("poolstore.ids -> comfy_nodes.serve", "backends._keys -> aiohttp", "comfy_nodes.nodes -> comfy_nodes.routes_pool"):
        assert line in broken.stdout


def _absolute_branch(path: Path) -> tuple[set[str], set[int]]:
    """The modules the top-level branch of a ``_layers`` module imports (``from
    x import *`` names x), and the lines of the relative branch."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    switch = next(node for node in tree.body if isinstance(node, ast.If))
    modules = set()
    for node in switch.orelse:
        modules |= {a.name for a in node.names} if isinstance(node, ast.Import) else {node.module}
    relative = {line for node in switch.body for line in range(node.lineno, node.end_lineno + 1)}
    return modules, relative


@pytest.mark.parametrize("facade", ["poolstore._layers", "comfy_nodes._layers"])
def test_the_graph_goes_through_the_absolute_branch_of_a_layers_module(facade):
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    expected, relative_lines = _absolute_branch(ROOT / Path(*facade.split(".")).with_suffix(".py"))
    seen = graph.find_modules_directly_imported_by(facade)
    assert seen == expected
    lines = {d["line_number"] for m in seen for d in graph.get_import_details(importer=facade, imported=m)}
    assert lines and not lines & relative_lines
    # and the layers reach each other through it: a handler's chain to the store API
    assert graph.find_shortest_chain(importer="comfy_nodes.routes_pool", imported="backends") is not None
