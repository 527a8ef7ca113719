"""Test support for the pack as ComfyUI loads it (tests/comfy_loader.py in a
fresh interpreter) and for ``poolstore serve`` subprocesses."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from support import stop_process

PACK_DIR = Path(__file__).resolve().parent.parent
API_PATHS = {
    "/grid_pool/list", "/grid_pool/add", "/grid_pool/remove", "/grid_pool/active", "/grid_pool/label",
    "/grid_pool/reorder", "/grid_pool/set_mask", "/grid_pool/image", "/grid_pool/thumb", "/grid_pool/stage",
    "/grid_pool/profiles/list", "/grid_pool/profiles/create", "/grid_pool/profiles/rename",
    "/grid_pool/profiles/delete", "/grid_pool/profiles/duplicate", "/grid_pool/profiles/seed",
    "/grid_pool/profiles/adopt", "/grid_pool/profiles/export", "/grid_pool/profiles/import",
    "/grid_pool/profiles/copy", "/grid_pool/stores",
}


def load_in_comfyui_order(tmp_path: Path, packs: list[Path], *, basename_names: bool = False,
                           python: str = sys.executable, poolstore: Path = PACK_DIR) -> dict:
    """Run tests/comfy_loader.py in a fresh interpreter: the packs loaded in order."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POOLSTORE_URL", "POOLSTORE_CONFIG")}
    env["POOLSTORE_CACHE_DIR"] = str(tmp_path / "cache")
    cmd = [python, str(Path(__file__).with_name("comfy_loader.py")), str(tmp_path / "ComfyUI"),
           *map(str, packs), "--poolstore", str(poolstore)]
    out = subprocess.run(cmd + (["--basename-names"] if basename_names else []), cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def assert_pack_works(report: dict, tmp_path: Path, pack_dir: Path = PACK_DIR) -> dict:
    """The poolstore pack of a loader report works (nodes, routes over HTTP, the node's
    output) and its modules are subpackages of the pack, loaded from ``pack_dir``."""
    ours = report["poolstore"]
    assert ours["nodes"] == ["GridImagePool", "PoolProfile"]
    assert ours["input_types"] == {"GridImagePool": ["optional", "required"], "PoolProfile": ["required"]}
    assert set(ours["routes"]) == API_PATHS
    assert ours["http"]["add_status"] == 200 and ours["http"]["list"]["count"] == 1
    assert (tmp_path / "ComfyUI" / "input" / "grid_pool" / "p1" / "img_0001.png").is_file()
    if ours["node"] != "no torch":
        assert ours["node"] == [[1, 6, 8, 3], [1, 6, 8], 0, 1, ""]
    modules = ours["modules"]
    assert modules["outside"] == []  # none of the pack's modules under a name outside its package
    assert sorted(modules["layers"]) == ["backends", "comfy_nodes", "poolstore"]
    for layer, file in modules["layers"].items():
        assert Path(file).resolve().is_relative_to(pack_dir.resolve() / layer)
    return modules


def serve_url(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    """The address the ``serve`` subprocess prints once it listens."""
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
    if not line.startswith("poolstore serve: http://"):
        stop_process(proc)
        raise AssertionError(f"serve did not start (exit {proc.poll()}): {proc.stderr.read()[-2000:]}")
    return line.split()[2].rstrip("/")
