"""The ComfyUI glue that can run without ComfyUI, in Chromium: the modules
under ``web/lib`` imported into a page of a real ``poolstore serve``.

- combo entries changed in place, so a copy of a widget's options taken
  earlier (what ComfyUI's Vue node renderer keeps) lists them too;
- the grid in a node that sizes itself to its content keeps a bounded,
  resizable height, scrolls inside, and keeps the wheel (ComfyUI's rule:
  the element marked ``data-capture-wheel`` must hold the focus);
- the MaskEditor's saved image becomes a mask from its alpha only, and a
  frontend without the editor's command gives a clear error.
"""

from __future__ import annotations

import io

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from PIL import Image  # noqa: E402

import backends  # noqa: E402
from browser_support import Server, launch_browser, make_pngs, open_page  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 20_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A ``poolstore serve`` on a local store holding pool ``big`` of 36 images."""
    from poolstore import Pool

    root = tmp_path_factory.mktemp("glue")
    store = backends.open_store(str(root / "store"))
    images = [p.read_bytes() for p in make_pngs(root / "pngs", 6)]
    Pool(store, "big").add([images[i % 6] for i in range(36)])
    server = Server(str(root / "store"))
    try:
        yield server
    finally:
        server.stop()
        store.close()


@pytest.fixture
def page(served):
    with sync_playwright() as p:
        browser = launch_browser(p)
        pg = open_page(browser, served.url)
        # an empty page of the same origin, so the modules import from /web/
        pg.evaluate("() => document.body.replaceChildren()")
        yield pg
        browser.close()


def test_combo_entries_change_in_place_and_reach_an_earlier_copy_of_the_options(page):
    result = page.evaluate("""async () => {
        const { ownComboValues, setComboValues } = await import('/web/lib/comfy_ui.js');
        const shared = ['default'];                       // a node definition's list
        const sets = [];
        const widget = { options: { values: shared }, _v: 'beta',
            get value() { return this._v; }, set value(v) { sets.push(v); this._v = v; } };
        ownComboValues(widget);
        const own = widget.options.values;
        const copy = { ...widget.options };               // taken before the update
        const changed = setComboValues(widget, ['default', 'alpha', 'beta']);
        const again = setComboValues(widget, ['default', 'alpha', 'beta']);
        return { shared, own: own === widget.options.values, copy: copy.values, changed, again,
                 value: widget.value, sets };
    }""")
    assert result["shared"] == ["default"]  # the definition's list is not touched
    assert result["own"] is True  # the same array, changed in place
    assert result["copy"] == ["default", "alpha", "beta"]
    assert result["changed"] is True and result["again"] is False
    # the value is set away and back once (what makes the Vue renderer re-read), and ends unchanged
    assert result["value"] == "beta" and result["sets"] == [None, "beta"]
    assert page.errors == []


NODE = """async ({ height }) => {
    // A node laid out like a ComfyUI Vue node: a flex column at least as tall
    // as its stored size, the widget rows a grid whose DOM-widget row is auto.
    const { PoolGrid, gridHost, captureGridWheel } = await import('/web/lib/grid.js');
    const { createApi } = await import('/web/lib/api.js');
    const node = document.createElement('div');
    node.id = 'node';
    node.style.cssText = `display:flex;flex-direction:column;width:320px;min-height:${height}px;position:absolute;top:10px;left:10px`;
    node.innerHTML = '<div style="height:60px">title and slots</div>';
    const rows = document.createElement('div');
    rows.style.cssText = 'display:grid;grid-template-columns:1fr;grid-template-rows:min-content auto;flex:1';
    rows.innerHTML = '<div style="height:24px">index</div>';
    const cell = document.createElement('div');
    cell.style.cssText = 'display:flex;flex-direction:column';
    const host = gridHost(document, 180);
    host.style.flex = '1';
    cell.append(host); rows.append(cell); node.append(rows); document.body.append(node);
    captureGridWheel(document);
    window._grid = new PoolGrid(host, { api: createApi(), poolId: 'big' });
}"""


def test_grid_in_a_content_sized_node_keeps_its_height_and_scrolls_inside(page):
    page.evaluate(NODE, {"height": 360})
    expect(page.locator(".psg-tile")).to_have_count(36, timeout=WAIT)
    tiles = page.locator(".psg-tiles")
    height = page.evaluate("() => document.getElementById('node').getBoundingClientRect().height")
    assert height == 360  # 36 thumbnails do not make the node taller
    scroll, client = page.evaluate("() => { const t = document.querySelector('.psg-tiles'); return [t.scrollHeight, t.clientHeight] }")
    assert scroll > 4 * client and client >= 180 - 60
    # a taller node gives the grid the room; a shorter one than the minimum stops at it
    page.evaluate("() => document.getElementById('node').style.minHeight = '600px'")
    assert page.evaluate("() => document.querySelector('.psg-tiles').clientHeight") > client + 200
    page.evaluate("() => document.getElementById('node').style.minHeight = '100px'")
    assert page.evaluate("() => document.querySelector('.psg-host').getBoundingClientRect().height") == 180
    page.evaluate("() => document.getElementById('node').style.minHeight = '360px'")

    # the wheel: only the scroller is marked, and a wheel over it focuses it, then scrolls it
    assert page.locator(".psg [data-capture-wheel]").count() == 1
    assert page.locator(".psg-tiles").get_attribute("data-capture-wheel") == "true"
    box = tiles.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 400)
    page.wait_for_function("() => document.querySelector('.psg-tiles').scrollTop > 0", timeout=WAIT)
    assert page.evaluate("""() => { const t = document.querySelector('.psg-tiles');
        return t.contains(document.activeElement) && document.activeElement.closest('[data-capture-wheel="true"]') === t }""")
    # a zoom gesture (Ctrl + wheel) is not taken
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100)
    page.keyboard.up("Control")
    page.wait_for_timeout(200)  # let the event be handled; what is checked is that focus did not move
    assert not page.evaluate("() => document.querySelector('.psg-tiles').contains(document.activeElement)")
    assert page.errors == []


def test_grid_that_fits_leaves_the_wheel_alone(page, served):
    page.evaluate(NODE.replace("poolId: 'big'", "poolId: 'empty'"), {"height": 360})
    expect(page.locator(".psg-empty")).to_be_visible(timeout=WAIT)
    box = page.locator(".psg-tiles").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 200)
    page.wait_for_timeout(200)  # let the event be handled; what is checked is that focus did not move
    assert not page.evaluate("() => document.querySelector('.psg-tiles').contains(document.activeElement)")


def _png(mode: str, size, pixels) -> list[int]:
    img = Image.new(mode, size, (10, 200, 30, 255))
    for xy, value in pixels.items():
        img.putpixel(xy, value)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return list(buf.getvalue())


MASK_OF = """async (bytes) => {
    const { maskFromSaved } = await import('/web/lib/comfy_mask.js');
    const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'image/png' }));
    const blob = await maskFromSaved(url);
    return blob ? Array.from(new Uint8Array(await blob.arrayBuffer())) : null;
}"""


def test_saved_editor_image_becomes_a_mask_from_its_alpha_only(page):
    # what the editor saves: the image with the mask as alpha; masked pixels may
    # have lost their colour (black), which must not matter
    saved = _png("RGBA", (8, 4), {(1, 1): (0, 0, 0, 0), (2, 1): (0, 0, 0, 0), (5, 2): (10, 200, 30, 128)})
    mask = Image.open(io.BytesIO(bytes(page.evaluate(MASK_OF, saved)))).convert("L")
    assert mask.size == (8, 4)
    assert mask.getpixel((1, 1)) == 255 and mask.getpixel((2, 1)) == 255
    assert mask.getpixel((5, 2)) == 127
    assert mask.getpixel((0, 0)) == 0 and mask.getpixel((7, 3)) == 0
    # nothing masked: no mask
    assert page.evaluate(MASK_OF, _png("RGBA", (4, 4), {})) is None


def test_mask_editor_without_its_command_or_failing_to_open_says_so(page):
    result = page.evaluate("""async () => {
        const { editSlotMask, MaskEditorError } = await import('/web/lib/comfy_mask.js');
        const staged = [];
        const poolApi = { stage: async (p, i) => { staged.push(i); return { filename: 'x.png', type: 'input' }; } };
        const node = { images: undefined, graph: null };
        const canvas = { selectNode() {}, deselectAll() {} };
        const out = {};
        try {
            await editSlotMask({ extensionManager: {} }, (p) => p, poolApi, node, 'p', { image: 'img_0001.png' });
        } catch (e) { out.none = [e instanceof MaskEditorError, e.message]; }
        const failing = { extensionManager: { command: { execute: async () => { throw new Error('Command not found'); } } }, canvas };
        try {
            await editSlotMask(failing, (p) => p, poolApi, node, 'p', { image: 'img_0001.png' });
        } catch (e) { out.failing = [e instanceof MaskEditorError, e.message]; }
        out.staged = staged;
        out.restored = [node.images, node.previewMediaType];
        return out;
    }""")
    assert result["none"][0] and "no command API" in result["none"][1]
    assert result["failing"][0] and result["failing"][1] == "the MaskEditor did not open: Command not found"
    assert result["staged"] == ["img_0001.png"]  # the first case stopped before staging anything
    assert result["restored"] == [None, None]  # the node is left as it was
    assert page.errors == []
