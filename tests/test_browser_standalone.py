"""The standalone page in a real browser (Debian's Chromium via Playwright)
against a real ``poolstore serve`` process, on a local store and on S3 (the
moto server). Every change made in the page is checked in the store itself,
read around the store (``Raw``)."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

import backends  # noqa: E402
from browser_support import Server, launch_browser, make_pngs, save_screenshot  # noqa: E402
from support import Raw, deleted_cleanly  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 20_000  # ms: upper bound for expect-style polling


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture(params=["local", "s3"])
def served(request, tmp_path):
    """(server, raw) for a fresh store of each kind."""
    if request.param == "local":
        url, options = str(tmp_path / "store"), {}
        server_obj = None
    else:
        server_obj = request.getfixturevalue("s3_server")
        server_obj.reset()
        url, options = f"s3://{server_obj.new_bucket()}/pools", server_obj.storage_options()
    store = backends.open_store(url, options)
    config = tmp_path / "poolstore.toml"
    config.write_text(f'[stores.team]\nurl = "{(tmp_path / "team").as_posix()}"\n')
    server = Server(url, options, env={"POOLSTORE_CONFIG": str(config)})
    try:
        yield server, Raw(store, server_obj), request.param
    finally:
        server.stop()
        store.close()


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.locator(".psp-store option")).not_to_have_count(0, timeout=WAIT)
    return page, errors


def registry(raw):
    return {p["name"]: p["id"] for p in json.loads(raw.read("profiles.json"))["profiles"]}


def manifest(raw, pool_id):
    return json.loads(raw.read(f"{pool_id}/manifest.json"))


def create_profile(page, name):
    page.get_by_role("button", name="New", exact=True).click()
    page.locator(".psp-dialog input").fill(name)
    page.locator(".psp-dialog .psp-ok").click()
    expect(page.locator(".psp-item.psp-selected")).to_have_text(name, timeout=WAIT)
    expect(page.locator("#pool-title")).to_have_text(f"Profile: {name}")


def select_profile(page, name):
    page.locator(".psp-item", has_text=name).first.click()
    expect(page.locator("#pool-title")).to_have_text(f"Profile: {name}")


def tiles(page):
    return page.locator(".psg-tile")


def labels(page):
    return [tiles(page).nth(i).locator(".psg-label").input_value() for i in range(tiles(page).count())]


def until(check, timeout=WAIT / 1000):
    """Poll a store-side condition (the page's changes are committed before it answers)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (FileNotFoundError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_edit_pools_and_profiles_in_the_page(browser, served, tmp_path):
    server, raw, kind = served
    pngs = make_pngs(tmp_path / "pngs", 6)
    page, errors = open_page(browser, server.url)

    # two profiles; three images into the first
    create_profile(page, "characters")
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs[:3]])
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    reg = registry(raw)
    chars = reg["characters"]
    m = manifest(raw, chars)
    a, b, c = [s["image"] for s in m["slots"]]
    assert [raw.read(f"{chars}/{n}") for n in (a, b, c)] == [p.read_bytes() for p in pngs[:3]]

    # select one
    tiles(page).nth(2).click()
    expect(tiles(page).nth(2)).to_have_class("psg-tile psg-active", timeout=WAIT)
    until(lambda: manifest(raw, chars)["active"] == 2)

    # edit a label inline
    label = tiles(page).nth(0).locator(".psg-label")
    label.fill("hero")
    label.press("Enter")
    until(lambda: manifest(raw, chars)["slots"][0]["label"] == "hero")

    # drag the third image before the first
    tiles(page).nth(2).drag_to(tiles(page).nth(0), target_position={"x": 4, "y": 40})
    until(lambda: [s["image"] for s in manifest(raw, chars)["slots"]] == [c, a, b])
    expect(tiles(page).nth(0)).to_have_attribute("data-image", c, timeout=WAIT)
    assert manifest(raw, chars)["active"] == 0  # the selected image moved with it
    expect(tiles(page).nth(0)).to_have_class("psg-tile psg-active")

    # delete one (asks first)
    tiles(page).nth(2).hover()
    tiles(page).nth(2).locator(".psg-del").click()
    page.locator(".psp-dialog .psp-ok").click()
    expect(tiles(page)).to_have_count(2, timeout=WAIT)
    until(lambda: [s["image"] for s in manifest(raw, chars)["slots"]] == [c, a])
    until(lambda: f"{chars}/{b}" not in raw.keys())
    assert labels(page) == ["", "hero"]

    # a second profile, and switching between the two
    create_profile(page, "backgrounds")
    expect(page.locator(".psg-empty")).to_be_visible()
    page.locator(".psg input[type=file]").set_input_files([str(pngs[3])])
    expect(tiles(page)).to_have_count(1, timeout=WAIT)
    backgrounds = registry(raw)["backgrounds"]
    only = manifest(raw, backgrounds)["slots"][0]["image"]
    assert raw.read(f"{backgrounds}/{only}") == pngs[3].read_bytes()
    select_profile(page, "characters")
    expect(tiles(page)).to_have_count(2, timeout=WAIT)
    expect(tiles(page).nth(1).locator(".psg-label")).to_have_value("hero")
    select_profile(page, "backgrounds")
    expect(tiles(page)).to_have_count(1, timeout=WAIT)

    # export "characters" and import it back as a new profile
    select_profile(page, "characters")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export").click()
    zip_path = tmp_path / "characters.zip"
    dl.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        assert json.loads(z.read("profile_meta.json"))["name"] == "characters"
        assert z.read(f"pool/{c}") == pngs[2].read_bytes()
    with page.expect_file_chooser() as fc:
        page.get_by_role("button", name="Import").click()
    fc.value.set_files(str(zip_path))
    expect(page.locator(".psp-item", has_text="characters (2)")).to_have_count(1, timeout=WAIT)
    expect(page.locator(".psp-item.psp-selected")).to_have_text("characters (2)")
    expect(tiles(page)).to_have_count(2, timeout=WAIT)
    reg = registry(raw)
    assert set(reg) == {"characters", "backgrounds", "characters (2)"}
    copy = manifest(raw, reg["characters (2)"])
    assert [s["label"] for s in copy["slots"]] == ["", "hero"]
    assert raw.read(f"{reg['characters (2)']}/{copy['slots'][0]['image']}") == pngs[2].read_bytes()

    # the README picture: a fuller profile, once the notices have gone
    select_profile(page, "characters")
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs[4:]])
    expect(tiles(page)).to_have_count(4, timeout=WAIT)
    for i, text in ((0, "villain"), (2, "castle"), (3, "forest")):
        tiles(page).nth(i).locator(".psg-label").fill(text)
        tiles(page).nth(i).locator(".psg-label").press("Enter")
    until(lambda: [s["label"] for s in manifest(raw, chars)["slots"]] == ["villain", "hero", "castle", "forest"])
    page.mouse.move(900, 700)
    expect(page.locator(".psp-toast")).to_have_count(0, timeout=WAIT)
    save_screenshot(page, f"standalone-{kind}.png", "standalone.png" if kind == "local" else None)
    assert errors == []
    page.context.close()


def test_a_teammates_new_image_appears_without_reloading(browser, served, tmp_path):
    server, raw, _kind = served
    pngs = make_pngs(tmp_path / "pngs", 2)
    mine, errors_a = open_page(browser, server.url)
    create_profile(mine, "shared")
    mine.locator(".psg input[type=file]").set_input_files([str(pngs[0])])
    expect(tiles(mine)).to_have_count(1, timeout=WAIT)

    theirs, errors_b = open_page(browser, server.url)
    expect(theirs.locator(".psp-item", has_text="shared")).to_have_count(1, timeout=WAIT)
    select_profile(theirs, "shared")
    expect(tiles(theirs)).to_have_count(1, timeout=WAIT)

    # the teammate adds an image and creates a profile; my page shows both by itself
    theirs.locator(".psg input[type=file]").set_input_files([str(pngs[1])])
    expect(tiles(theirs)).to_have_count(2, timeout=WAIT)
    create_profile(theirs, "their new profile")
    expect(tiles(mine)).to_have_count(2, timeout=WAIT)
    expect(mine.locator(".psp-item", has_text="their new profile")).to_have_count(1, timeout=WAIT)
    assert len(manifest(raw, registry(raw)["shared"])["slots"]) == 2

    # a change that lost the race is reported, not dropped silently: hold the
    # teammate's list requests so their page still shows an image I delete
    select_profile(theirs, "shared")
    expect(tiles(theirs)).to_have_count(2, timeout=WAIT)
    held = []
    theirs.route("**/grid_pool/list?*", lambda route: held.append(route))
    theirs_image = manifest(raw, registry(raw)["shared"])["slots"][1]["image"]
    gone = tiles(mine).nth(1)
    gone.hover()
    gone.locator(".psg-del").click()
    mine.locator(".psp-dialog .psp-ok").click()
    expect(tiles(mine)).to_have_count(1, timeout=WAIT)
    stale = theirs.locator(f".psg-tile[data-image='{theirs_image}'] .psg-label")
    stale.fill("too late")
    stale.press("Enter")
    expect(theirs.locator(".psg-msg")).to_contain_text("did not apply", timeout=WAIT)
    for route in held:
        route.continue_()
    theirs.unroute("**/grid_pool/list?*")
    expect(tiles(theirs)).to_have_count(1, timeout=WAIT)
    assert [s["label"] for s in manifest(raw, registry(raw)["shared"])["slots"]] == [""]
    assert errors_a == [] and errors_b == []
    mine.context.close()
    theirs.context.close()


def test_a_large_pool_opens_with_lazy_thumbnails_and_cheap_revalidation(browser, served, tmp_path):
    server, raw, _kind = served
    from poolstore import Pool

    store = raw.store
    count = 240
    images = [p.read_bytes() for p in make_pngs(tmp_path / "pngs", 6)]
    names = Pool(store, "bigpool").add([images[i % 6] for i in range(count)])
    page, errors = open_page(browser, server.url)
    lists = []
    page.on("response", lambda r: lists.append(r.status) if "/grid_pool/list" in r.url else None)
    page.goto(server.url + "?pool=bigpool")
    expect(tiles(page)).to_have_count(count, timeout=WAIT)
    expect(page.locator(".psg-count")).to_have_text(f"{count} images")
    # only the thumbnails near the view are given a source and fetched
    expect(page.locator(".psg-tile img[src]").first).to_be_visible(timeout=WAIT)
    assert 0 < page.locator(".psg-tile img[src]").count() < count // 2
    fetched = "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/grid_pool/thumb')).length"
    page.wait_for_function(f"() => ({fetched})() > 0", timeout=WAIT)
    assert page.evaluate(fetched) < count // 2
    # the thumbnails scroll inside the grid; the page itself stays one screen tall
    scroll, client = page.evaluate("() => { const t = document.querySelector('.psg-tiles'); return [t.scrollHeight, t.clientHeight] }")
    assert scroll > 4 * client and client > 300
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= window.innerHeight")
    # scrolling to the end fetches the last one
    tiles(page).nth(count - 1).scroll_into_view_if_needed()
    expect(tiles(page).nth(count - 1).locator("img")).to_have_attribute("src", re.compile("image=" + re.escape(names[-1])), timeout=WAIT)
    # while nothing changes, the page revalidates with If-None-Match and gets 304s
    page.wait_for_event("response", lambda r: "/grid_pool/list" in r.url and r.status == 304, timeout=WAIT)
    assert lists.count(200) == 1
    assert errors == []
    page.context.close()


def test_paste_and_drop_add_images(browser, served, tmp_path):
    server, raw, _kind = served
    pngs = make_pngs(tmp_path / "pngs", 3)
    page, errors = open_page(browser, server.url)
    create_profile(page, "pasted")
    pid = registry(raw)["pasted"]
    send = """async ([kind, files]) => {
        const dt = new DataTransfer();
        for (const [name, bytes] of files) dt.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
        const grid = document.querySelector('.psg');
        if (kind === 'paste') grid.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
        else {
            grid.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
            grid.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }"""
    page.evaluate(send, ["paste", [[pngs[0].name, list(pngs[0].read_bytes())]]])
    expect(tiles(page)).to_have_count(1, timeout=WAIT)
    page.evaluate(send, ["drop", [[p.name, list(p.read_bytes())] for p in pngs[1:]]])
    expect(tiles(page)).to_have_count(3, timeout=WAIT)
    assert [raw.read(f"{pid}/{s['image']}") for s in manifest(raw, pid)["slots"]] == [p.read_bytes() for p in pngs]
    # a file that is not an image is refused with a message, and nothing is added
    page.evaluate("""() => {
        const dt = new DataTransfer(); dt.items.add(new File(['hello'], 'notes.txt', {type: 'text/plain'}));
        const grid = document.querySelector('.psg');
        grid.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator(".psg-msg")).to_contain_text("Only image files", timeout=WAIT)
    assert len(manifest(raw, pid)["slots"]) == 3
    assert errors == []
    page.context.close()


def test_rename_duplicate_delete_and_copy_to_another_store(browser, served, tmp_path):
    server, raw, _kind = served
    team_store = backends.open_store(str(tmp_path / "team"))
    team = Raw(team_store)
    pngs = make_pngs(tmp_path / "pngs", 2)
    page, errors = open_page(browser, server.url)
    expect(page.locator(".psp-store option")).to_have_count(2)
    create_profile(page, "alpha")
    page.locator(".psg input[type=file]").set_input_files([str(p) for p in pngs])
    expect(tiles(page)).to_have_count(2, timeout=WAIT)
    alpha = registry(raw)["alpha"]

    page.get_by_role("button", name="Rename").click()
    page.locator(".psp-dialog input").fill("hero shots")
    page.locator(".psp-dialog .psp-ok").click()
    expect(page.locator(".psp-item.psp-selected")).to_have_text("hero shots", timeout=WAIT)
    assert registry(raw) == {"hero shots": alpha}

    page.get_by_role("button", name="Duplicate").click()
    expect(page.locator(".psp-dialog input")).to_have_value("hero shots copy")
    page.locator(".psp-dialog .psp-ok").click()
    expect(page.locator(".psp-item.psp-selected")).to_have_text("hero shots copy", timeout=WAIT)
    copy = registry(raw)["hero shots copy"]
    assert copy != alpha
    assert [raw.read(f"{copy}/{s['image']}") for s in manifest(raw, copy)["slots"]] == [p.read_bytes() for p in pngs]

    select_profile(page, "hero shots")
    page.get_by_role("button", name="Copy to store…").click()
    expect(page.locator(".psp-dialog input")).to_have_value("team")
    page.locator(".psp-dialog .psp-ok").click()
    expect(page.locator(".psp-toast", has_text="Copied to team")).to_have_count(1, timeout=WAIT)
    in_team = registry(team)["hero shots"]
    assert [team.read(f"{in_team}/{s['image']}") for s in manifest(team, in_team)["slots"]] == [p.read_bytes() for p in pngs]
    page.locator(".psp-store").select_option("team")
    select_profile(page, "hero shots")
    expect(tiles(page)).to_have_count(2, timeout=WAIT)

    page.locator(".psp-store").select_option("default")
    select_profile(page, "hero shots copy")
    page.get_by_role("button", name="Delete").click()
    page.locator(".psp-dialog .psp-ok").click()
    expect(page.locator(".psp-item", has_text="hero shots copy")).to_have_count(0, timeout=WAIT)
    assert registry(raw) == {"hero shots": alpha}
    until(lambda: deleted_cleanly(raw, copy))
    assert errors == []
    page.context.close()
    team_store.close()
