"""The two nodes in a real ComfyUI, driven in Chromium.

Skipped unless ``COMFYUI_DIR`` names a ComfyUI checkout (its Python is
``COMFYUI_PYTHON``, default: this interpreter). ComfyUI runs on a free
127.0.0.1 port with its own base folder under the test's ``tmp_path`` (this
pack linked into its ``custom_nodes``), so the checkout is not changed. A
second store, ``team``, is an S3 bucket on the moto server.

Every test runs in both node renderings of the frontend: the canvas
(LiteGraph) one and the Vue one ("Nodes 2.0", setting
``Comfy.VueNodes.Enabled``), driven with real clicks where the two differ.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

COMFYUI_DIR = os.environ.get("COMFYUI_DIR")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.comfyui,
    pytest.mark.slow,
    pytest.mark.skipif(not COMFYUI_DIR, reason="set COMFYUI_DIR to a ComfyUI checkout to run"),
]

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from PIL import Image  # noqa: E402

from browser_support import REPO, launch_browser, make_pngs, open_page, save_screenshot  # noqa: E402
from support import stop_process  # noqa: E402

WAIT = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def post_json(url: str, body: dict):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def comfyui(tmp_path_factory, s3_server):
    base = tmp_path_factory.mktemp("comfy")
    (base / "custom_nodes").mkdir()
    (base / "custom_nodes" / "poolstore").symlink_to(REPO, target_is_directory=True)
    settings = base / "user" / "default"
    settings.mkdir(parents=True)
    (settings / "comfy.settings.json").write_text(json.dumps({"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False}))
    bucket = s3_server.new_bucket()
    opts = s3_server.storage_options()
    config = base / "poolstore.toml"
    config.write_text(
        f'[stores.team]\nurl = "s3://{bucket}/pools"\n[stores.team.storage_options]\n'
        + "".join(f'{k} = "{v}"\n' for k, v in opts.items())
    )
    port = free_port()
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    env = {**os.environ, "POOLSTORE_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    log = open(base / "comfyui.log", "w")
    proc = subprocess.Popen(
        [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--base-directory", str(base),
         "--database-url", "sqlite:///:memory:"],
        cwd=COMFYUI_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            get_json(url + "/api/grid_pool/stores")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("ComfyUI did not start:\n" + (base / "comfyui.log").read_text()[-4000:])
            time.sleep(1)
    yield {"url": url, "base": base, "bucket": bucket, "s3": s3_server}
    stop_process(proc, timeout=30)
    log.close()


RENDERINGS = {"canvas": False, "vue": True}


def post_setting(url: str, key: str, value) -> None:
    req = urllib.request.Request(f"{url}/api/settings/{key}", json.dumps(value).encode(),
                                 {"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=30).read()


@pytest.fixture(params=list(RENDERINGS))
def page(comfyui, request):
    """The ComfyUI page in one rendering; ``page.vue`` tells which."""
    post_setting(comfyui["url"], "Comfy.VueNodes.Enabled", RENDERINGS[request.param])
    for store in ("default", "team"):  # each test starts without profiles (the ComfyUI is shared)
        for entry in get_json(f"{comfyui['url']}/api/grid_pool/profiles/list?store={store}")["profiles"]:
            post_json(comfyui["url"] + "/api/grid_pool/profiles/delete", {"id": entry["id"]})
    with sync_playwright() as p:
        browser = launch_browser(p)
        pg = open_page(browser, comfyui["url"], 1400, 860)
        pg.vue = RENDERINGS[request.param]
        pg.rendering = request.param
        ready(pg)
        assert pg.evaluate("() => window.app.extensionManager.setting.get('Comfy.VueNodes.Enabled')") is pg.vue
        yield pg
        browser.close()


def ready(page):
    page.wait_for_function("() => window.app && window.app.graph && window.LiteGraph && window.app.extensionManager", timeout=120_000)


def js(page, code: str):
    """Run a statement in the page without waiting for promises it starts."""
    page.evaluate(f"() => {{ {code}; }}")


def pool_id(page) -> str:
    return page.evaluate("() => _n.pool.widgets.find(w => w.name === 'pool_id').value")


def manifest(base: Path, pid: str) -> dict:
    return json.loads((base / "input" / "grid_pool" / pid / "manifest.json").read_text())


def answer_prompt(page, text: str):
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("input")).to_be_visible(timeout=WAIT)
    dialog.locator("input").fill(text)
    dialog.locator("input").press("Enter")


def answer_confirm(page, expected: str, button: str):
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(expected, timeout=WAIT)
    dialog.get_by_role("button", name=button).click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT)


def tiles(page):
    return page.locator(".psg-tile")


def click_widget(page, node: str, name: str):
    """A real click on a canvas-drawn widget of ``_n[node]`` (view at offset 0, scale 1)."""
    x, y = page.evaluate(
        """([node, name]) => { const n = _n[node]; const w = n.widgets.find(w => w.name === name);
            return [n.pos[0] + n.size[0] / 2, n.pos[1] + w.last_y + 10]; }""", [node, name])
    box = page.locator("#graph-canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def node_element(page, node: str):
    """The Vue rendering's element of ``_n[node]``."""
    return page.locator(f'[data-node-id="{page.evaluate(f"() => String(_n.{node}.id)")}"]')


def press(page, node: str, name: str):
    """Press the button widget ``name`` of ``_n[node]`` as a user does."""
    if page.vue:
        node_element(page, node).get_by_role("button", name=name, exact=True).click()
    else:
        click_widget(page, node, name)


def dropdown_entries(page, node: str, name: str) -> list[str]:
    """Open the dropdown ``name`` of ``_n[node]`` as a user does and read what it offers (left open)."""
    if page.vue:
        node_element(page, node).locator(f'[data-testid=widget-select-default-trigger][aria-label="{name}"]').click()
        options = page.locator("[data-testid=widget-select-default-overlay] [role=option]")
    else:
        click_widget(page, node, name)
        options = page.locator(".litecontextmenu .litemenu-entry")
    expect(options.first).to_be_visible(timeout=WAIT)
    return [t.strip() for t in options.all_inner_texts()]


def pick(page, node: str, name: str, entry: str):
    """Choose ``entry`` in the dropdown ``name`` of ``_n[node]`` with real clicks."""
    assert entry in dropdown_entries(page, node, name)
    if page.vue:
        page.locator("[data-testid=widget-select-default-overlay] [role=option]").filter(has_text=entry).first.click()
    else:
        page.locator(".litecontextmenu .litemenu-entry").filter(has_text=entry).first.click()


def close_dropdown(page):
    page.keyboard.press("Escape")
    if not page.vue:
        page.locator(".litecontextmenu").evaluate_all("(menus) => menus.forEach((m) => m.close ? m.close() : m.remove())")


def view_at_origin(page):
    js(page, """const c = window.app.canvas; (c.deselectAll || c.deselectAllNodes).call(c);
        c.ds.offset = [0, 0]; c.ds.scale = 1; window.app.graph.setDirtyCanvas(true, true)""")


def find_nodes(page):
    js(page, """window._n = {
        pool: window.app.graph.nodes.find(n => n.type === 'GridImagePool'),
        prof: window.app.graph.nodes.find(n => n.type === 'PoolProfile'),
        prev: window.app.graph.nodes.find(n => n.type === 'PreviewImage')}""")


def draw_mask_and_save(page):
    """Draw a stroke across the open MaskEditor and press Save."""
    editor = page.locator(".mask-editor-dialog")
    expect(editor).to_be_visible(timeout=WAIT)
    page.wait_for_function("() => document.querySelectorAll('.mask-editor-dialog canvas').length > 0", timeout=WAIT)
    box = editor.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 60, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=15)
    page.mouse.up()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(editor).to_have_count(0, timeout=WAIT)


def test_nodes_in_comfyui(comfyui, page, tmp_path):
    base = comfyui["base"]
    pngs = make_pngs(tmp_path / "pngs", 4)
    js(page, """const app = window.app; app.graph.clear();
        const pool = LiteGraph.createNode('GridImagePool'); pool.pos = [430, 140]; app.graph.add(pool);
        const prof = LiteGraph.createNode('PoolProfile'); prof.pos = [70, 140]; app.graph.add(prof);
        const prev = LiteGraph.createNode('PreviewImage'); prev.pos = [850, 140]; app.graph.add(prev);
        pool.setSize([370, 400]); prev.setSize([300, 300]);
        pool.connect(0, prev, 0);
        window._n = {pool, prof, prev};
        app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1; app.graph.setDirtyCanvas(true, true)""")

    # a new node has its own hidden pool id, kept in its properties too
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    own = pool_id(page)
    assert len(own) == 32 and page.evaluate("() => _n.pool.properties.pool_own_id") == own
    assert page.evaluate("() => { const w = _n.pool.widgets.find(w => w.name === 'pool_id'); return [w.hidden, w.options.hidden] }") == [True, True]
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs[:3]])
    expect(tiles(page)).to_have_count(3, timeout=WAIT)

    # connect the profile node: nothing selected yet, so the pool shows (and runs) the default pool
    js(page, "_n.prof.connect(0, _n.pool, 0)")
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    assert pool_id(page) == "default"

    # a new profile is selected at once; it is empty, so the pool's images are offered
    js(page, "_n.prof.widgets.find(w => w.name === 'New profile').callback()")
    answer_prompt(page, "characters")
    answer_confirm(page, "Copy images into profile?", "Confirm")
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    reg = {p["name"]: p["id"] for p in get_json(comfyui["url"] + "/api/grid_pool/profiles/list")["profiles"]}
    chars = reg["characters"]
    assert pool_id(page) == chars
    assert page.evaluate("() => _n.prof.widgets.find(w => w.name === 'profile_id').value") == chars
    slots = manifest(base, chars)["slots"]
    assert [(base / "input" / "grid_pool" / chars / s["image"]).read_bytes() for s in slots] == [p.read_bytes() for p in pngs[:3]]

    # a second profile: decline the offer, fill it by hand
    js(page, "_n.prof.widgets.find(w => w.name === 'New profile').callback()")
    answer_prompt(page, "backgrounds")
    answer_confirm(page, "Copy images into profile?", "Cancel")
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    page.locator(".psg input[type=file]").set_input_files([str(pngs[3])])
    expect(tiles(page)).to_have_count(1, timeout=WAIT)

    # pick "characters" in the dropdown (real clicks): the pool's grid switches to it
    view_at_origin(page)
    pick(page, "prof", "profile", "characters")
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    assert pool_id(page) == chars
    assert page.evaluate("() => _n.pool.properties.pool_own_id") == own  # its own pool is remembered

    # select one; open the MaskEditor on it and cancel
    tiles(page).nth(2).click()
    expect(tiles(page).nth(2)).to_have_class("psg-tile psg-active", timeout=WAIT)
    tiles(page).nth(2).hover()
    tiles(page).nth(2).locator(".psg-maskbtn").click()
    editor = page.locator(".mask-editor-dialog")
    expect(editor).to_be_visible(timeout=WAIT)
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(editor).to_have_count(0, timeout=WAIT)
    page.wait_for_function("() => _n.pool.images === undefined && !_n.pool.previewMediaType", timeout=WAIT)
    assert manifest(base, chars)["slots"][2]["mask"] is None

    # draw a mask and save it: the manifest gets it, the slot's image bytes stay as they were
    # (a frontend that turned masked pixels black in the saved image must not reach the pool)
    name_before = manifest(base, chars)["slots"][1]["image"]
    image_before = (base / "input" / "grid_pool" / chars / name_before).read_bytes()
    tiles(page).nth(1).hover()
    tiles(page).nth(1).locator(".psg-maskbtn").click()
    draw_mask_and_save(page)
    expect(tiles(page).nth(1).locator(".psg-maskdot")).to_be_visible(timeout=WAIT)
    slot = manifest(base, chars)["slots"][1]
    assert slot["mask"] and slot["image"] == name_before
    assert (base / "input" / "grid_pool" / chars / slot["image"]).read_bytes() == image_before == pngs[1].read_bytes()
    mask = Image.open(base / "input" / "grid_pool" / chars / slot["mask"]).convert("L")
    assert mask.getextrema() == (0, 255)  # the stroke is masked (white), the rest is not
    expect(tiles(page).nth(1)).to_have_class("psg-tile", timeout=WAIT)  # saving a mask does not select
    # the editor's saved image is not shown as the node's output, in either rendering
    page.wait_for_timeout(1500)  # past the frontend's asynchronous preview loading (what is checked is its absence)
    assert page.evaluate("() => [_n.pool.images, _n.pool.imgs, _n.pool.previewMediaType]") == [None, None, None]
    assert page.evaluate("() => _n.pool.widgets.map(w => w.name)") == ["index", "pool_id", "pool_grid"]
    if page.vue:
        expect(node_element(page, "pool").locator("img:not(.psg-thumb)")).to_have_count(0)

    # labels typed in the grid land in the profile
    for i, text in enumerate(["hero", "rival", "sidekick"]):
        field = tiles(page).nth(i).locator(".psg-label")
        field.fill(text)
        field.press("Enter")
    page.wait_for_function(
        "() => _n.pool._poolGrid.doc.slots.map(s => s.label).join() === 'hero,rival,sidekick'", timeout=WAIT)
    assert [s["label"] for s in manifest(base, chars)["slots"]] == ["hero", "rival", "sidekick"]

    # a forced index (>= 0) is what runs, so it is the one the grid marks
    js(page, "const w = _n.pool.widgets.find(w => w.name === 'index'); w.value = 0; w.callback(0)")
    expect(tiles(page).nth(0)).to_have_class("psg-tile psg-active", timeout=WAIT)
    expect(tiles(page).nth(2)).to_have_class("psg-tile", timeout=WAIT)
    js(page, "const w = _n.pool.widgets.find(w => w.name === 'index'); w.value = -1; w.callback(-1)")
    expect(tiles(page).nth(2)).to_have_class("psg-tile psg-active", timeout=WAIT)

    # queue the workflow: the output is the selected image
    js(page, "window.app.queuePrompt(0, 1)")
    prev_id = page.evaluate("() => String(_n.prev.id)")
    deadline = time.monotonic() + 120
    out = None
    while out is None and time.monotonic() < deadline:
        for entry in get_json(comfyui["url"] + "/api/history").values():
            images = entry.get("outputs", {}).get(prev_id, {}).get("images")
            if images:
                out = images[0]
        time.sleep(0.5)
    assert out, "the workflow did not run"
    path = base / out["type"] / out.get("subfolder", "") / out["filename"]
    produced = Image.open(path).convert("RGB")
    expected = Image.open(pngs[2]).convert("RGB")
    assert produced.size == expected.size and produced.tobytes() == expected.tobytes()
    expect(page.locator(".psg-tile")).to_have_count(3)

    # the README picture: both nodes and the result
    js(page, """const c = window.app.canvas; (c.deselectAll || c.deselectAllNodes).call(c);
        c.ds.offset = [0, 0]; c.ds.scale = 1; window.app.graph.setDirtyCanvas(true, true)""")
    expect(page.get_by_text("Job queued")).to_have_count(0, timeout=WAIT)
    page.wait_for_function("() => _n.prev.imgs && _n.prev.imgs.length > 0 && _n.prev.imgs[0].complete", timeout=WAIT)
    page.mouse.move(700, 760)
    page.wait_for_timeout(500)  # one more canvas frame for the picture (not a synchronisation)
    save_screenshot(page, f"comfyui-nodes-{page.rendering}.png", "comfyui.png" if not page.vue else None)

    # a saved workflow reloads without switching anything or asking anything
    workflow = page.evaluate("() => window.app.graph.serialize()")
    js(page, "window.app.graph.clear()")
    page.evaluate("(w) => window.app.loadGraphData(w)", workflow)
    page.wait_for_function(
        "() => window.app.graph.nodes.length === 3", timeout=WAIT)
    find_nodes(page)
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    assert pool_id(page) == chars
    assert page.evaluate("() => _n.pool.properties.pool_own_id") == own
    assert page.evaluate("() => _n.prof.widgets.find(w => w.name === 'profile_id').value") == chars
    expect(page.get_by_role("dialog")).to_have_count(0)

    # after a page reload the dropdowns offer every profile and store, and switching works
    page.wait_for_timeout(1500)  # the frontend saves the open workflow for a reload after a short debounce
    page.reload()
    ready(page)
    page.wait_for_function("() => window.app.graph.nodes.length === 3", timeout=WAIT)
    find_nodes(page)
    view_at_origin(page)
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    page.wait_for_function(
        "() => _n.prof.widgets.find(w => w.name === 'profile').options.values.includes('backgrounds')", timeout=WAIT)
    assert dropdown_entries(page, "prof", "store") == ["default", "team"]
    close_dropdown(page)
    pick(page, "prof", "profile", "backgrounds")
    expect(tiles(page)).to_have_count(1, timeout=WAIT)
    backgrounds = {p["name"]: p["id"] for p in get_json(comfyui["url"] + "/api/grid_pool/profiles/list")["profiles"]}["backgrounds"]
    assert pool_id(page) == backgrounds
    pick(page, "prof", "profile", "characters")
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    assert pool_id(page) == chars

    # "Refresh node definitions" puts the definition's list back; the node fills it again
    page.evaluate("() => window.app.refreshComboInNodes()")
    page.wait_for_function(
        "() => _n.prof.widgets.find(w => w.name === 'profile').options.values.join() === 'default,characters,backgrounds'",
        timeout=WAIT)
    assert dropdown_entries(page, "prof", "profile") == ["default", "characters", "backgrounds"]
    close_dropdown(page)

    # a pasted Pool Profile node offers every profile too
    js(page, """const c = window.app.canvas; c.deselectAll ? c.deselectAll() : c.deselectAllNodes(); c.selectNode(_n.prof);
        c.copyToClipboard(); c.pasteFromClipboard({position: [70, 560]});
        window._n.copy = window.app.graph.nodes.filter(n => n.type === 'PoolProfile').find(n => n !== _n.prof)""")
    page.wait_for_function("() => _n.copy && _n.copy.widgets.find(w => w.name === 'profile').options.values.length === 3", timeout=WAIT)
    view_at_origin(page)
    assert dropdown_entries(page, "copy", "profile") == ["default", "characters", "backgrounds"]
    close_dropdown(page)
    js(page, "window.app.graph.remove(_n.copy); delete _n.copy")

    # disconnecting the profile offers the node's own pool back
    js(page, "_n.pool.disconnectInput(0)")
    answer_confirm(page, "Return to the node's own pool?", "Confirm")
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    assert pool_id(page) == own

    # an image pasted while the node is selected goes into its pool (not into a new LoadImage node)
    page.evaluate("""async (bytes) => {
        const file = new File([new Uint8Array(bytes)], 'pasted.png', {type: 'image/png'});
        const dt = new DataTransfer(); dt.items.add(file);
        window.app.canvas.selectNode(_n.pool);
        window.app.canvas.current_node = _n.pool;
        document.getElementById('graph-canvas').dispatchEvent(
            new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    }""", list(pngs[3].read_bytes()))
    expect(tiles(page)).to_have_count(4, timeout=WAIT)
    assert page.evaluate("() => window.app.graph.nodes.length") == 3
    assert len(manifest(base, own)["slots"]) == 4

    # "Detach pool (new id)" from the node menu: a new, empty pool of its own
    items = page.evaluate("() => window.app.collectNodeMenuItems(_n.pool).map(i => i && i.content)")
    assert "Detach pool (new id)" in items
    js(page, "window.app.collectNodeMenuItems(_n.pool).find(i => i && i.content === 'Detach pool (new id)').callback()")
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    assert pool_id(page) not in (own, chars) and page.evaluate("() => _n.pool.properties.pool_own_id") == pool_id(page)
    assert len(manifest(base, own)["slots"]) == 4  # the old pool is untouched

    # export the selected profile and import the zip back, with the node's buttons
    view_at_origin(page)
    with page.expect_download() as download:
        press(page, "prof", "Export (zip)")
    zip_path = tmp_path / "characters.zip"
    download.value.save_as(zip_path)
    with page.expect_file_chooser() as chooser:
        press(page, "prof", "Import (zip)")
    chooser.value.set_files(str(zip_path))
    page.wait_for_function(
        "() => _n.prof.widgets.find(w => w.name === 'profile').options.values.includes('characters (2)')", timeout=WAIT)
    reg = {p["name"]: p["id"] for p in get_json(comfyui["url"] + "/api/grid_pool/profiles/list")["profiles"]}
    expect(page.get_by_text("Importing characters.zip")).to_have_count(0, timeout=WAIT)  # the progress notice goes
    imported = manifest(base, reg["characters (2)"])
    assert [s["label"] for s in imported["slots"]] == ["hero", "rival", "sidekick"]

    # a teammate creates a profile and renames the selected one: the dropdown follows by itself
    post_json(comfyui["url"] + "/api/grid_pool/profiles/create", {"name": "from a teammate"})
    post_json(comfyui["url"] + "/api/grid_pool/profiles/rename", {"id": chars, "name": "main cast"})
    page.wait_for_function(
        "() => { const w = _n.prof.widgets.find(w => w.name === 'profile');"
        " return w.options.values.includes('from a teammate') && w.value === 'main cast' }", timeout=WAIT)
    assert page.evaluate("() => _n.prof.widgets.find(w => w.name === 'profile_id').value") == chars
    view_at_origin(page)
    assert "from a teammate" in dropdown_entries(page, "prof", "profile")
    close_dropdown(page)
    assert page.errors == []


def test_mask_editor_on_an_s3_store(comfyui, page, tmp_path):
    s3 = comfyui["s3"].client()
    pngs = make_pngs(tmp_path / "pngs", 2)
    js(page, """const app = window.app; app.graph.clear();
        const pool = LiteGraph.createNode('GridImagePool'); pool.pos = [430, 140]; app.graph.add(pool);
        const prof = LiteGraph.createNode('PoolProfile'); prof.pos = [70, 140]; app.graph.add(prof);
        prof.connect(0, pool, 0);
        window._n = {pool, prof};
        app.canvas.ds.offset = [0, 0]; app.canvas.ds.scale = 1; app.graph.setDirtyCanvas(true, true)""")
    page.wait_for_function("() => _n.prof.widgets.find(w => w.name === 'store').options.values.includes('team')", timeout=WAIT)
    pick(page, "prof", "store", "team")
    js(page, "_n.prof.widgets.find(w => w.name === 'New profile').callback()")
    answer_prompt(page, "on s3")
    page.wait_for_function("() => _n.pool.widgets.find(w => w.name === 'pool_id').value.startsWith('team:')", timeout=WAIT)
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    pid = pool_id(page)
    assert pid.startswith("team:")
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs])
    expect(tiles(page)).to_have_count(2, timeout=WAIT)

    tiles(page).nth(1).hover()
    tiles(page).nth(1).locator(".psg-maskbtn").click()
    draw_mask_and_save(page)
    expect(tiles(page).nth(1).locator(".psg-maskdot")).to_be_visible(timeout=WAIT)

    ident = pid.split(":", 1)[1]
    body = s3.get_object(Bucket=comfyui["bucket"], Key=f"pools/{ident}/manifest.json")["Body"].read()
    slot = json.loads(body)["slots"][1]
    assert slot["mask"]
    mask = Image.open(io.BytesIO(s3.get_object(Bucket=comfyui["bucket"], Key=f"pools/{ident}/{slot['mask']}")["Body"].read()))
    assert mask.convert("L").getextrema()[1] > 128  # the stroke is stored as masked (white)
    assert json.loads(body)["slots"][0]["mask"] is None
    image = s3.get_object(Bucket=comfyui["bucket"], Key=f"pools/{ident}/{slot['image']}")["Body"].read()
    assert image == pngs[1].read_bytes()  # the mask save left the slot's image as uploaded
    # the editor's own preview output does not stay in the node
    page.wait_for_timeout(1500)  # past the frontend's asynchronous preview loading (what is checked is its absence)
    assert page.evaluate("() => [_n.pool.images, _n.pool.imgs, _n.pool.previewMediaType]") == [None, None, None]
    assert page.errors == []


def test_grid_keeps_a_bounded_resizable_height_and_the_wheel_scrolls_it(comfyui, page, tmp_path):
    pngs = make_pngs(tmp_path / "pngs", 36)
    js(page, """const app = window.app; app.graph.clear();
        const pool = LiteGraph.createNode('GridImagePool'); pool.pos = [300, 60]; app.graph.add(pool);
        window._n = {pool};""")
    view_at_origin(page)
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    size = page.evaluate("() => [..._n.pool.size]")
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs])
    expect(tiles(page)).to_have_count(36, timeout=WAIT)
    page.wait_for_timeout(1000)  # a layout pass of the node (what is checked is that its size did not change)
    assert page.evaluate("() => [..._n.pool.size]") == size  # 36 thumbnails do not make the node taller
    scroller = page.locator(".psg-tiles")
    scroll, client = scroller.evaluate("(t) => [t.scrollHeight, t.clientHeight]")
    assert scroll > 4 * client

    # resizing the node gives the grid the room, and keeps the size asked for
    js(page, "_n.pool.setSize([_n.pool.size[0] + 100, _n.pool.size[1] + 160]); window.app.graph.setDirtyCanvas(true, true)")
    page.wait_for_function(f"() => document.querySelector('.psg-tiles').clientHeight > {client + 120}", timeout=WAIT)
    page.wait_for_timeout(1000)  # a layout pass of the node (what is checked is that its size did not change)
    assert page.evaluate("() => [..._n.pool.size]") == [size[0] + 100, size[1] + 160]

    # the wheel over the grid scrolls the grid, not the canvas
    scale = page.evaluate("() => window.app.canvas.ds.scale")
    box = scroller.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 300)
    page.wait_for_function("() => document.querySelector('.psg-tiles').scrollTop > 0", timeout=WAIT)
    assert page.evaluate("() => window.app.canvas.ds.scale") == scale
    # beside the grid the wheel still zooms the canvas
    page.mouse.move(120, 700)
    page.mouse.wheel(0, 300)
    page.wait_for_function(f"() => window.app.canvas.ds.scale !== {scale}", timeout=WAIT)
    assert page.errors == []
