"""Commands contributed to ``poolstore`` through the ``poolstore.commands``
entry point group (poolstore/_cli_contributed.py): the domain's command line
runs a command it does not know, found in a plain clone's pyproject.toml,
imports it only when it is used, and says why one cannot be loaded."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent

HELLO = '''
import sys

print("hello module imported", file=sys.stderr)
HELP = "greet someone"


def add_arguments(parser):
    parser.add_argument("--who", default="world")


def run(args):
    print(f"hello {args.who}, store {args.store_url}, options {args.storage_options}")
    return 0
'''


def _clone(tmp_path: Path, project: str, commands: dict[str, str]) -> Path:
    """The domain and storage layers as a plain clone holds them (no comfy_nodes,
    nothing installed from it), with a pyproject.toml declaring ``commands``."""
    clone = tmp_path / "clone"
    for layer in ("backends", "poolstore"):
        shutil.copytree(ROOT / layer, clone / layer, ignore=shutil.ignore_patterns("__pycache__"))
    table = "\n".join(f'{name} = "{value}"' for name, value in commands.items())
    (clone / "pyproject.toml").write_text(
        f'[project]\nname = "{project}"\nversion = "0.1.0"\n\n[project.entry-points."poolstore.commands"]\n{table}\n',
        encoding="utf-8",
    )
    (clone / "hello_command.py").write_text(HELLO, encoding="utf-8")
    return clone


def _run(clone: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POOLSTORE_URL")}
    return subprocess.run([sys.executable, "-m", "poolstore", *argv], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_plain_clone_runs_the_commands_its_pyproject_declares(tmp_path):
    clone = _clone(tmp_path, "poolstore", {"hello": "hello_command"})
    done = _run(clone, "-o", "anon=true", "hello", "--who", "you", "--store", "memory://x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello you, store memory://x, options {'anon': True}"

    shown = _run(clone, "--help")
    assert shown.returncode == 0 and "greet someone" in shown.stdout


def test_a_contributed_command_is_imported_only_when_used(tmp_path):
    clone = _clone(tmp_path, "poolstore", {"hello": "hello_command"})
    done = _run(clone, "profiles", "list", "--store", str(tmp_path / "store"))
    assert done.returncode == 0, done.stderr
    assert "hello module imported" not in done.stderr
    assert "hello module imported" in _run(clone, "hello").stderr


def test_a_declared_command_whose_module_is_missing_says_so(tmp_path):
    clone = _clone(tmp_path, "poolstore", {"gone": "no_such_command_module"})
    done = _run(clone, "gone", "--anything")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "poolstore: error: the gone command (no_such_command_module) is not part of this installation"
    )


def test_a_command_that_does_not_load_leaves_help_working(tmp_path):
    clone = _clone(tmp_path, "poolstore", {"hello": "hello_command", "odd": "hello_command:nothing_here"})
    shown = _run(clone, "--help")
    assert shown.returncode == 0 and "greet someone" in shown.stdout and "(not available:" in shown.stdout
    done = _run(clone, "odd")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the odd command (hello_command:nothing_here) cannot be loaded" in done.stderr


def test_another_projects_pyproject_declares_nothing(tmp_path):
    clone = _clone(tmp_path, "someone-else", {"hello": "hello_command"})
    done = _run(clone, "hello")
    assert done.returncode == 2 and "invalid choice: 'hello'" in done.stderr


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_code_of_the_domain_names_the_layer_above_it():
    """Not even as a string to import later: what the domain runs from the
    adapter layer is contributed (entry points), never looked up by name."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sorted((ROOT / "poolstore").rglob("*.py"))
        for line, text in _code_strings(path)
        if text == "comfy_nodes" or text.startswith("comfy_nodes.")
    ]
    assert offenders == []
