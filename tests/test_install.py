"""The two ways the pack gets installed, each in a fresh virtual environment
(``--system-site-packages``: the dependencies are those already installed, so
nothing is downloaded), each followed by loading the entry as ComfyUI does:

(a) the repository in ``ComfyUI/custom_nodes`` and ``pip install -r requirements.txt``;
(b) ``pip install .`` as well: the wheel's packages, web files and ``poolstore``
    command, and the pack in custom_nodes still using its own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from pack_support import assert_pack_works, load_in_comfyui_order, serve_url
from support import stop_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("backends", "poolstore", "comfy_nodes")


def _repo_files() -> list[str]:
    """What a clone holds: the files git tracks or would add, as in the working tree."""
    if (REPO / ".git").exists():
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                             capture_output=True, check=True)
        return [name for name in out.stdout.decode().split("\0") if name and (REPO / name).is_file()]
    skip = {"__pycache__", ".pytest_cache", "build", "dist", "test-artifacts", "grid_pool", "node_modules"}
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and not skip & set(p.parts)]


def _clone_into_custom_nodes(tmp_path: Path) -> Path:
    pack = tmp_path / "ComfyUI" / "custom_nodes" / "poolstore"
    for name in _repo_files():
        (pack / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, pack / name)
    return pack


def _venv(tmp_path: Path) -> Path:
    """A virtual environment that sees the installed dependencies (pip, setuptools and
    wheel included: a pip of its own would bring an older setuptools); its python."""
    folder = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(folder)],
                   check=True, timeout=120)
    return folder / ("Scripts" if os.name == "nt" else "bin") / "python"


def _pip(python: Path, *args: str, cwd: Path) -> None:
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def _installed(python: Path, cwd: Path) -> dict:
    """Where the venv's python finds the top-level packages, and the installed files."""
    script = (
        "import importlib.util, importlib.metadata as m, json\n"
        f"found = {{n: getattr(importlib.util.find_spec(n), 'origin', None) for n in {LAYERS!r}}}\n"
        "print(json.dumps({'found': found, 'files': [str(f) for f in m.files('poolstore')]}))\n"
    )
    out = subprocess.run([str(python), "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_clone_into_custom_nodes_and_install_the_requirements(tmp_path):
    pack = _clone_into_custom_nodes(tmp_path)
    python = _venv(tmp_path)
    _pip(python, "-r", str(pack / "requirements.txt"), cwd=pack)
    report = load_in_comfyui_order(tmp_path, [pack], python=str(python), poolstore=pack)
    assert_pack_works(report, tmp_path, pack)

    # docs/INSTALL.md: the command line runs from the pack folder with ComfyUI's Python
    done = subprocess.run([str(python), "-m", "poolstore", "pool", "list", "p1", "--store", "../../input/grid_pool",
                           "--json"], cwd=pack, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 1


def test_pip_install_dot_then_the_pack_and_the_installed_command(tmp_path):
    pack = _clone_into_custom_nodes(tmp_path)
    python = _venv(tmp_path)
    _pip(python, "--no-build-isolation", ".", cwd=pack)
    work = tmp_path / "elsewhere"
    work.mkdir()
    installed = _installed(python, work)
    site = Path(installed["found"]["poolstore"]).parent.parent
    assert site.is_relative_to(python.parent.parent)  # the venv's copy, not the repository's
    web = {str(p.relative_to(pack / "web")).replace("\\", "/") for p in (pack / "web").rglob("*") if p.is_file()}
    shipped = {f.split("comfy_nodes/web/", 1)[1] for f in installed["files"] if f.startswith("comfy_nodes/web/")}
    assert web and shipped == web

    # the pack in custom_nodes uses its own folder, not the installed packages
    report = load_in_comfyui_order(tmp_path, [pack], python=str(python), poolstore=pack)
    assert_pack_works(report, tmp_path, pack)

    # the installed command serves the page from the installed web files
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POOLSTORE_URL", "POOLSTORE_CONFIG")}
    env["POOLSTORE_CACHE_DIR"] = str(tmp_path / "cache")
    command = python.parent / ("poolstore.exe" if os.name == "nt" else "poolstore")
    proc = subprocess.Popen([str(command), "serve", "--port", "0"], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        base = serve_url(proc)
        with urllib.request.urlopen(f"{base}/", timeout=30) as resp:
            page = resp.read().decode()
        with urllib.request.urlopen(f"{base}/web/lib/grid.js", timeout=30) as resp:
            script = resp.read()
        with urllib.request.urlopen(f"{base}/grid_pool/stores", timeout=30) as resp:
            stores = json.loads(resp.read())["stores"]
    finally:
        stop_process(proc)
    assert page == (pack / "web" / "standalone" / "index.html").read_text(encoding="utf-8")
    assert script == (pack / "web" / "lib" / "grid.js").read_bytes()
    assert stores[0]["url"] == str(work / "grid_pool")
