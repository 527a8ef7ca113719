"""Plug-in backends, found through real entry point metadata.

The example backend and its contract test are taken from docs/BACKENDS.md and
installed as a distribution (a ``.dist-info`` folder with ``entry_points.txt``
on the path of a child Python), so the page shows what works: open_store, the
CLI and the shipped contract suite all reach the plug-in by its URL scheme.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from backends.testing import StoreTests

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "BACKENDS.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGE, re.S)


def _python_file(name: str) -> str:
    """The page's Python block whose first line is ``# <name>``."""
    (code,) = [b for b in _blocks("python") if b.startswith(f"# {name}\n")]
    return code


def _entry_points() -> dict[str, str]:
    """The page's ``poolstore.backends`` entry points (scheme -> object)."""
    for block in _blocks("toml"):
        doc = tomllib.loads(block)
        found = doc.get("project", {}).get("entry-points", {}).get("poolstore.backends")
        if found:
            return found
    raise AssertionError("docs/BACKENDS.md shows no poolstore.backends entry point")


def install(site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """Install a distribution the way an installer would leave it: its modules
    and a ``.dist-info`` folder with METADATA and entry_points.txt."""
    site.mkdir(exist_ok=True)
    for name, code in modules.items():
        (site / name).write_text(code, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{scheme} = {target}\n" for scheme, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[poolstore.backends]\n{lines}", encoding="utf-8")


def run_python(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, *args], cwd=cwd or site, env=env, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture
def dict_site(tmp_path):
    """The example backend of docs/BACKENDS.md, installed as a distribution."""
    site = tmp_path / "site"
    install(site, "poolstore-dict", {"poolstore_dict.py": _python_file("poolstore_dict.py")}, _entry_points())
    return site


def test_the_example_backend_is_found_by_its_scheme(dict_site):
    script = textwrap.dedent("""
        import json
        import backends
        store = backends.open_store("dict://demo")
        store.write("p1/a.txt", b"hello")
        print(json.dumps({"type": type(store).__name__, "kind": store.kind, "read": store.read("p1/a.txt").decode(),
                          "safe": store.concurrent_writes_safe, "module": type(store).__module__}))
    """)
    done = run_python(dict_site, "-c", script)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "DictStore", "kind": "dict", "read": "hello", "safe": True,
                                       "module": "poolstore_dict"}


def test_without_the_distribution_the_scheme_is_unknown(tmp_path):
    done = run_python(tmp_path, "-c", "import backends; backends.open_store('dict://demo')")
    assert done.returncode != 0 and "StoreConfigError" in done.stderr


def test_the_cli_reaches_the_plugin(dict_site):
    done = run_python(dict_site, "-m", "poolstore", "profiles", "create", "heroes", "--store", "dict://cli", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["profile"]["name"] == "heroes"


def test_the_example_passes_the_shipped_contract(dict_site):
    (dict_site / "test_dict_store.py").write_text(_python_file("test_dict_store.py"), encoding="utf-8")
    done = run_python(dict_site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_dict_store.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    cases = [name for name in dir(StoreTests) if name.startswith("test_")]
    # Every case runs; the one for stores without conditional writes is skipped.
    assert re.search(rf"\b{len(cases) - 1} passed, 1 skipped in ", done.stdout), done.stdout[-2000:]


def test_a_plugin_cannot_take_over_a_built_in_scheme(tmp_path):
    site = tmp_path / "site"
    install(site, "poolstore-hijack", {"hijack.py": "def open_store(url, options):\n    raise SystemExit(7)\n"},
            {"memory": "hijack:open_store", "s3": "hijack:open_store"})
    done = run_python(site, "-c", "import backends; print(type(backends.open_store('memory://x')).__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "MemoryStore"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("raise ImportError('no such client library')\n", "cannot be loaded: ImportError: no such client library"),
        ("def open_store(url, options):\n    return object()\n", "returned object, not a Store"),
        ("def open_store(url, options):\n    raise ValueError('bad bucket name')\n", "bad bucket name"),
    ],
)
def test_a_broken_plugin_is_a_one_line_config_error(tmp_path, module, expected):
    site = tmp_path / "site"
    install(site, "poolstore-broken", {"broken.py": module}, {"broken": "broken:open_store"})
    done = run_python(site, "-m", "poolstore", "profiles", "list", "--store", "broken://x")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert expected in done.stderr and "poolstore-broken" in done.stderr


def test_two_distributions_for_one_scheme_are_refused(tmp_path):
    site = tmp_path / "site"
    install(site, "poolstore-one", {"one.py": "def open_store(url, options): ..."}, {"twice": "one:open_store"})
    install(site, "poolstore-two", {"two.py": "def open_store(url, options): ..."}, {"twice": "two:open_store"})
    done = run_python(site, "-m", "poolstore", "profiles", "list", "--store", "twice://x")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "several backends" in done.stderr and "poolstore-one" in done.stderr and "poolstore-two" in done.stderr
