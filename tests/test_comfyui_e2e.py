"""End to end against a real ComfyUI (skipped unless ``COMFYUI_DIR`` is set).

``COMFYUI_DIR`` is a ComfyUI checkout; ``COMFYUI_PYTHON`` the Python that runs
it (default: this one). ComfyUI is started on a free port with a base folder
under the test's tmp_path whose ``custom_nodes`` holds only this pack, so the
checkout itself is not changed.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from support import png_bytes, stop_process

pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not os.environ.get("COMFYUI_DIR"), reason="set COMFYUI_DIR to a ComfyUI checkout"),
]

PACK_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Two packs of the kind found in the wild: each puts its folder first on sys.path
# and imports its own top-level backends, comfy_nodes and utils by absolute name.
# ComfyUI loads custom_nodes in directory order, so one may load before ours and
# one after. Each node reports, through /object_info (INPUT_TYPES runs on every
# request), whose modules it got at import and whose it gets now.
FOREIGN_OWNERS = ("Alpha", "Omega")
FOREIGN_PACK = '''\
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backends
import comfy_nodes
import utils

AT_IMPORT = [backends.__file__, comfy_nodes.__file__, utils.__file__]


class {owner}Probe:
    CATEGORY = "tests"
    RETURN_TYPES = ()
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):
        import backends, comfy_nodes, utils  # at call time, through sys.modules

        now = [backends.__file__, comfy_nodes.__file__, utils.__file__]
        return {"required": {"at_import": (AT_IMPORT,), "now": (now,)}}

    def run(self, **_):
        return ()


NODE_CLASS_MAPPINGS = {"{owner}Probe": {owner}Probe}
'''


def _foreign_pack(custom_nodes: Path, owner: str) -> Path:
    folder = custom_nodes / owner
    (folder / "backends").mkdir(parents=True)
    (folder / "__init__.py").write_text(FOREIGN_PACK.replace("{owner}", owner))
    (folder / "backends" / "__init__.py").write_text(f"OWNER = {owner!r}\n")
    for name in ("comfy_nodes", "utils"):
        (folder / f"{name}.py").write_text(f"OWNER = {owner!r}\n")
    return folder


@pytest.fixture(scope="module")
def comfy(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy-base")
    (base / "custom_nodes").mkdir()
    (base / "custom_nodes" / "poolstore").symlink_to(PACK_DIR, target_is_directory=True)
    for owner in FOREIGN_OWNERS:  # a crowded custom_nodes folder (see test_packs_beside_ours_keep_their_modules)
        _foreign_pack(base / "custom_nodes", owner)
    port = _free_port()
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POOLSTORE_")}
    env["POOLSTORE_CACHE_DIR"] = str(base / "cache")
    log = open(base / "comfyui.log", "wb")
    proc = subprocess.Popen(
        [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--base-directory", str(base)],
        cwd=os.environ["COMFYUI_DIR"], env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError((base / "comfyui.log").read_text(errors="replace")[-3000:])
            try:
                if requests.get(f"{url}/object_info/GridImagePool", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            raise AssertionError("ComfyUI did not start in 300 s")
        yield url, base
    finally:
        stop_process(proc, timeout=30)
        log.close()


def _add(url, pool_id, *images):
    files = [("image", (f"{i}.png", data, "image/png")) for i, data in enumerate(images)]
    resp = requests.post(f"{url}/api/grid_pool/add", data={"pool_id": pool_id}, files=files, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _run(url, prompt):
    resp = requests.post(f"{url}/prompt", json={"prompt": prompt, "client_id": uuid.uuid4().hex}, timeout=60)
    assert resp.status_code == 200, resp.text
    prompt_id = resp.json()["prompt_id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        history = requests.get(f"{url}/history/{prompt_id}", timeout=30).json()
        if prompt_id in history:
            entry = history[prompt_id]
            assert entry["status"]["status_str"] == "success", entry["status"]
            return entry["outputs"]
        time.sleep(0.5)
    raise AssertionError("the workflow did not finish")


def _saved(url, outputs, node):
    ref = outputs[node]["images"][0]
    resp = requests.get(f"{url}/view", params=ref, timeout=30)
    return Image.open(io.BytesIO(resp.content)).convert("RGB")


def test_node_types_are_registered(comfy):
    url, _base = comfy
    info = requests.get(f"{url}/object_info", timeout=60).json()
    assert info["GridImagePool"]["display_name"] == "Image Pool (Grid)"
    assert info["PoolProfile"]["display_name"] == "Pool Profile"
    assert info["GridImagePool"]["input"]["optional"]["profile"][0] == "POOL_PROFILE"
    assert info["PoolProfile"]["output"] == ["POOL_PROFILE"]


def test_routes_answer_under_api_and_use_the_input_folder(comfy):
    url, base = comfy
    stores = requests.get(f"{url}/api/grid_pool/stores", timeout=30).json()["stores"]
    assert stores[0]["url"] == str(base / "input" / "grid_pool")
    assert requests.get(f"{url}/grid_pool/list", params={"pool_id": "nothing"}, timeout=30).json()["count"] == 0
    bad = requests.post(f"{url}/api/grid_pool/remove", json={"pool_id": "../x", "index": 0}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_queued_workflow_outputs_the_selected_image_and_mask(comfy):
    url, base = comfy
    _add(url, "e2e1", png_bytes((16, 8), (255, 0, 0)), png_bytes((16, 8), (0, 0, 255)))
    requests.post(f"{url}/api/grid_pool/active", json={"pool_id": "e2e1", "index": 1}, timeout=30).raise_for_status()
    mask = Image.new("L", (16, 8), 0)
    mask.paste(255, (0, 0, 8, 8))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    resp = requests.post(f"{url}/api/grid_pool/set_mask", data={"pool_id": "e2e1", "index": "1"},
                         files={"mask": ("m.png", buf.getvalue(), "image/png")}, timeout=30)
    assert resp.status_code == 200, resp.text
    workflow = {
        "1": {"class_type": "GridImagePool", "inputs": {"index": -1, "pool_id": "e2e1"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "e2e_image"}},
        "3": {"class_type": "MaskToImage", "inputs": {"mask": ["1", 1]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "e2e_mask"}},
    }
    outputs = _run(url, workflow)
    image = _saved(url, outputs, "2")
    assert image.size == (16, 8) and image.getpixel((3, 3)) == (0, 0, 255)
    saved_mask = _saved(url, outputs, "4")
    assert saved_mask.getpixel((2, 2)) == (255, 255, 255) and saved_mask.getpixel((12, 2)) == (0, 0, 0)
    requests.post(f"{url}/api/grid_pool/active", json={"pool_id": "e2e1", "index": 0}, timeout=30).raise_for_status()
    assert _saved(url, _run(url, workflow), "2").getpixel((3, 3)) == (255, 0, 0)  # the click reaches the next run
    staged = requests.post(f"{url}/api/grid_pool/stage", json={"pool_id": "e2e1", "image": "img_0002.png"}, timeout=30).json()
    view = requests.get(f"{url}/view", params=staged, timeout=30)
    assert view.status_code == 200
    rgba = Image.open(io.BytesIO(view.content))
    assert rgba.mode == "RGBA" and rgba.getpixel((2, 2))[3] == 0 and rgba.getpixel((12, 2))[3] == 255


def test_pool_profile_node_switches_the_pool(comfy):
    url, _base = comfy
    profile = requests.post(f"{url}/api/grid_pool/profiles/create", json={"name": "E2E"}, timeout=30).json()["profile"]
    _add(url, profile["id"], png_bytes((4, 4), (0, 255, 0)))
    _add(url, "e2e2", png_bytes((4, 4), (255, 255, 0)))
    workflow = {
        "5": {"class_type": "PoolProfile", "inputs": {"profile": "E2E", "profile_id": profile["id"]}},
        "6": {"class_type": "GridImagePool", "inputs": {"index": -1, "pool_id": "e2e2", "profile": ["5", 0]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "e2e_profile"}},
    }
    outputs = _run(url, workflow)
    assert _saved(url, outputs, "7").getpixel((1, 1)) == (0, 255, 0)
    # a change inside the connected profile reaches the next run (the same workflow)
    _add(url, profile["id"], png_bytes((4, 4), (255, 0, 255)))
    requests.post(f"{url}/api/grid_pool/active", json={"pool_id": profile["id"], "index": 1}, timeout=30).raise_for_status()
    outputs = _run(url, workflow)
    assert _saved(url, outputs, "7").getpixel((1, 1)) == (255, 0, 255)


def test_packs_beside_ours_keep_their_modules(comfy):
    """The two foreign packs load (whichever order ComfyUI picks) and get
    their own top-level modules, at import and later; none of them is ever one
    of ours, and ours still work beside them (the other tests run with them too)."""
    url, base = comfy
    info = requests.get(f"{url}/object_info", timeout=60).json()
    ours = PACK_DIR.resolve()
    seen = {}
    for owner in FOREIGN_OWNERS:
        assert f"{owner}Probe" in info, f"{owner} did not load"
        spec = info[f"{owner}Probe"]["input"]["required"]
        seen[owner] = {"at_import": spec["at_import"][0], "now": spec["now"][0]}
        for file in seen[owner]["at_import"] + seen[owner]["now"]:
            assert not Path(file).resolve().is_relative_to(ours), (owner, file)
    # Whichever foreign pack loaded first owns backends and comfy_nodes; the
    # other finds them taken by that pack (a clash between the two, not of
    # ours). ``utils`` may be ComfyUI's own package, imported before any pack.
    first = next(o for o in FOREIGN_OWNERS if str(base / "custom_nodes" / o) in seen[o]["at_import"][0])
    folder = base / "custom_nodes" / first
    utils = seen[first]["at_import"][2]
    assert utils in (str(folder / "utils.py"), str(Path(os.environ["COMFYUI_DIR"]) / "utils" / "__init__.py")), utils
    expected = [str(folder / "backends" / "__init__.py"), str(folder / "comfy_nodes.py"), utils]
    for owner in FOREIGN_OWNERS:
        assert seen[owner]["at_import"] == expected and seen[owner]["now"] == expected, seen
    assert info["GridImagePool"]["display_name"] == "Image Pool (Grid)"
