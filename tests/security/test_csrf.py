"""Item 1: cross-site requests (CSRF). A page on another origin, opened in
Chromium, tries to create, rename and delete profiles, clear a mask, add an
image and import a profile into the ``team`` store, with plain HTML forms (no
JavaScript: the user clicks) and with ``fetch(..., {mode: "no-cors"})``.
Nothing may change in either store; every attempt must reach the server and
be refused there (test_origin_rule.py checks the rule case by case)."""

from __future__ import annotations

import base64

import pytest

from attack_support import profile_zip, victim
from support import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ATTACK_PAGE = """<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="create" method="post" enctype="text/plain" action="{base}/grid_pool/profiles/create" target="sink">
  <input type="hidden" name='{{"name":"pwned","pad":"' value='"}}'><button>create</button></form>
<form id="rename" method="post" enctype="text/plain" action="{base}/grid_pool/profiles/rename" target="sink">
  <input type="hidden" name='{{"id":"{pid}","name":"renamed","pad":"' value='"}}'><button>rename</button></form>
<form id="unmask" method="post" action="{base}/grid_pool/set_mask" target="sink">
  <input type="hidden" name="pool_id" value="{pid}"><input type="hidden" name="image" value="{image}">
  <button>unmask (urlencoded)</button></form>
<form id="unmask-multipart" method="post" enctype="multipart/form-data" action="{base}/grid_pool/set_mask" target="sink">
  <input type="hidden" name="pool_id" value="{pid}"><input type="hidden" name="image" value="{image}">
  <button>unmask (multipart)</button></form>
<form id="delete" method="post" enctype="text/plain" action="{base}/grid_pool/profiles/delete" target="sink">
  <input type="hidden" name='{{"id":"{pid}","pad":"' value='"}}'><button>delete</button></form>
<script>
const base = "{base}";
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
// the answers are opaque (or blocked by Cross-Origin-Resource-Policy): only sending matters
const fetch = (url, init) => window.fetch(url, init).catch(() => null);
async function attack() {{
  await fetch(base + "/grid_pool/profiles/delete", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{id: "{pid}"}})}});
  const add = new FormData();
  add.append("pool_id", "{pid}");
  add.append("image", new Blob([bytes("{png}")], {{type: "image/png"}}), "x.png");
  await fetch(base + "/grid_pool/add", {{method: "POST", mode: "no-cors", body: add}});
  const imp = new FormData();
  imp.append("file", new Blob([bytes("{zip}")], {{type: "application/zip"}}), "p.zip");
  imp.append("store", "team");
  imp.append("name", "smuggled");
  await fetch(base + "/grid_pool/profiles/import", {{method: "POST", mode: "no-cors", body: imp}});
  return "sent";
}}
</script></body></html>"""

FORMS = ["create", "rename", "unmask", "unmask-multipart", "delete"]
SCRIPTED = ["/grid_pool/profiles/delete", "/grid_pool/add", "/grid_pool/profiles/import"]


def test_cross_origin_page_changes_nothing(browser, served, attack_site):
    target = victim(served)
    before = served.snapshot()
    base = served.url.rstrip("/")
    attack_site.pages["/attack.html"] = ATTACK_PAGE.format(
        base=base, pid=target["id"], image=target["image"],
        png=base64.b64encode(png_bytes(color=(9, 9, 9))).decode(), zip=base64.b64encode(profile_zip()).decode(),
    )
    context = browser.new_context()
    page = context.new_page()
    answers: dict[object, object] = {}  # request -> its status, or why it failed without one
    page.on("response", lambda r: answers.__setitem__(r.request, r.status))
    page.on("requestfailed", lambda r: answers.setdefault(r, r.failure))
    page.goto(f"{attack_site.origin}/attack.html")
    for form in FORMS:  # no script: the user clicks a button of the other site
        with page.expect_response(lambda r: r.url.startswith(base)):
            page.locator(f"#{form} button").click()
    assert page.evaluate("attack()") == "sent"
    page.wait_for_timeout(500)
    context.close()

    assert not served.changes(before), "a page on another origin changed a store"
    posts = [(r.url.removeprefix(base), s) for r, s in answers.items() if r.method == "POST" and r.url.startswith(base)]
    assert len(posts) == len(FORMS) + len(SCRIPTED), posts  # every attempt reached the server...
    # ...and was refused there; a no-cors answer is hidden from the page by its
    # Cross-Origin-Resource-Policy (the server answered: the browser blocked it)
    assert all(s in (403, 415) or "ERR_BLOCKED_BY_RESPONSE" in str(s) for _path, s in posts), posts
    assert {p for p, _ in posts} >= set(SCRIPTED)
