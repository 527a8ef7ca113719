"""The type check: mypy, configured by [tool.mypy] in pyproject.toml, on the
three packages (backends, poolstore, comfy_nodes). Any error fails the run."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ERROR = re.compile(r"^(?P<path>[^:]+):\d+: error: (?P<message>.*)$")

# Errors left to the storage layer's own typing work (its methods named
# ``list`` shadow the builtin in Store's annotations, which also spoils the
# types poolstore gets from ``Store.list_dirs``). Each line goes once the
# error is gone: a listed error that no longer occurs fails the test.
_LIST = '"list?[str]" has no attribute "__iter__" (not iterable)  [attr-defined]'
KNOWN = Counter({
    'backends/_local.py: Function "backends._local.LocalStore.list" is not valid as a type  [valid-type]': 1,
    'backends/_localfs.py: Need type annotation for "out" (hint: "out: list[<type>] = ...")  [var-annotated]': 1,
    f"backends/_s3.py: {_LIST}": 1,
    'backends/_s3.py: Function "backends._s3.S3Store.list" is not valid as a type  [valid-type]': 2,
    'backends/_s3.py: Need type annotation for "more" (hint: "more: dict[<type>, <type>] = ...")  [var-annotated]': 1,
    'backends/_s3.py: Value of type "list?[str]" is not indexable  [index]': 1,
    f"backends/_store.py: {_LIST}": 1,
    'backends/_store.py: Function "backends._store.Store.list" is not valid as a type  [valid-type]': 2,
    f"poolstore/check.py: {_LIST}": 1,
    f"poolstore/pool.py: {_LIST}": 1,
    f"poolstore/_registry_doc.py: {_LIST}": 1,
})


@pytest.fixture(scope="module")
def errors() -> Counter[str]:
    """mypy's errors as ``path: message`` (without line numbers), counted."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    found = [ERROR.match(line.replace("\\", "/")) for line in done.stdout.splitlines()]
    counted = Counter(f"{m['path']}: {m['message']}" for m in found if m)
    assert done.returncode == (1 if counted else 0), done.stdout + done.stderr  # 2: mypy could not check
    return counted


@pytest.mark.parametrize("package", ["backends", "poolstore", "comfy_nodes"])
def test_package_type_checks(errors, package):
    def mine(counter: Counter[str]) -> Counter[str]:
        return Counter({k: n for k, n in counter.items() if k.startswith(f"{package}/")})

    assert mine(errors) == mine(KNOWN)
