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

    assert mine(errors) == Counter()
