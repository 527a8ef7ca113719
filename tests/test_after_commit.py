"""An answer is never an error after the change it reports has committed.

Each change runs on a store whose clean-up fails (deleting objects, or
rewriting ``profile.json`` after the registry update): the change must
answer success, be committed (read raw, around the store), and log the
failure, which leaves orphans for ``poolstore check``. Every backend, the
domain and HTTP.
"""

from __future__ import annotations

import json
import logging

import pytest

from api_support import image_form, make_app, mask_form
from support import png_bytes

from backends import StoreIOError
from poolstore import Pool, Registry, StoreSet, copy_profile

RED, GREEN = png_bytes(color=(255, 0, 0)), png_bytes(color=(0, 255, 0))
MASK = png_bytes(mode="L")


def _broken(*_args, **_kwargs):
    raise StoreIOError("injected: the store cannot delete")


@pytest.fixture
def failing_cleanup(store, monkeypatch):
    """The store's deletes fail (as through a symlinked folder, or a lost connection)."""

    def arm():
        for name in ("delete", "delete_many", "delete_prefix"):
            monkeypatch.setattr(store, name, _broken)

    return arm


@pytest.fixture
def failing_meta(store, monkeypatch):
    """Writing any ``profile.json`` fails from now on."""

    def arm():
        real = store.write

        def write(key, data):
            if key.endswith("/profile.json"):
                raise StoreIOError("injected: cannot write profile.json")
            return real(key, data)

        monkeypatch.setattr(store, "write", write)

    return arm


def _manifest(raw, pid):
    return json.loads(raw.read(f"{pid}/manifest.json"))


def _meta_name(raw, pid):
    return json.loads(raw.read(f"{pid}/profile.json"))["name"]


def _names(raw):
    return [e["name"] for e in json.loads(raw.read("profiles.json"))["profiles"]]


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.WARNING, logger="poolstore")
    return caplog


# -- the domain ------------------------------------------------------------------------
def test_remove_answers_after_its_commit(store, raw, failing_cleanup, logged):
    pool = Pool(store, "p1")
    pool.add([RED, GREEN])
    failing_cleanup()
    assert [s["image"] for s in pool.remove("img_0001.png")["slots"]] == ["img_0002.png"]
    assert [s["image"] for s in _manifest(raw, "p1")["slots"]] == ["img_0002.png"]
    assert "p1/img_0001.png" in raw.keys() and "injected" in logged.text


def test_set_mask_answers_after_its_commit(store, raw, failing_cleanup, logged):
    pool = Pool(store, "p1")
    pool.add([RED])
    old = pool.set_mask(0, MASK)["slots"][0]["mask"]
    failing_cleanup()
    new = pool.set_mask(0, png_bytes(color=(90, 0, 0), mode="L"))["slots"][0]["mask"]
    assert new != old and _manifest(raw, "p1")["slots"][0]["mask"] == new
    assert f"p1/{old}" in raw.keys() and "injected" in logged.text


def test_delete_answers_after_its_commit(store, raw, failing_cleanup, logged):
    registry = Registry(store)
    registry.create("p1", "One")
    Pool(store, "p1").add([RED])
    failing_cleanup()
    registry.delete("p1")
    assert _names(raw) == [] and _manifest(raw, "p1")["slots"] == []
    assert "injected" in logged.text


def test_rename_answers_after_its_commit(store, raw, failing_meta, logged):
    registry = Registry(store)
    registry.create("p1", "One")
    failing_meta()
    assert registry.rename("p1", "Uno")["name"] == "Uno"
    assert _names(raw) == ["Uno"] and _meta_name(raw, "p1") == "One"
    assert "injected" in logged.text


def test_duplicate_renamed_on_collision_answers_after_its_commit(store, raw, failing_meta, logged):
    """The copy's name is taken at its commit, so profile.json is rewritten after it."""
    Registry(store).create("p1", "One")
    Pool(store, "p1").add([RED])

    def taken_meanwhile(files_done, files_total, *_):
        if files_done == files_total:  # the last object is copied: the commit comes next
            Registry(store).create("p3", "Copy")
            failing_meta()

    assert copy_profile(store, "p1", store, new_id="p2", name="Copy", progress=taken_meanwhile)["name"] == "Copy (2)"
    assert _names(raw) == ["One", "Copy", "Copy (2)"] and _meta_name(raw, "p2") == "Copy"
    assert "injected" in logged.text


# -- over HTTP -------------------------------------------------------------------------
async def test_changes_answer_200_after_their_commit_over_http(store, raw, tmp_path, aiohttp_client, failing_cleanup, failing_meta, logged):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    pid = (await (await client.post("/grid_pool/profiles/create", json={"name": "A"})).json())["profile"]["id"]
    assert (await client.post("/grid_pool/add", data=image_form(pid, RED, GREEN))).status == 200
    assert (await client.post("/grid_pool/set_mask", data=mask_form(pid, MASK, index=0))).status == 200
    failing_cleanup()
    failing_meta()
    answers = [
        await client.post("/grid_pool/set_mask", data=mask_form(pid, png_bytes(color=(9, 9, 9), mode="L"), index=0)),
        await client.post("/grid_pool/remove", json={"pool_id": pid, "index": 1}),
        await client.post("/grid_pool/profiles/rename", json={"id": pid, "name": "B"}),
        await client.post("/grid_pool/profiles/delete", json={"id": pid}),
    ]
    assert [r.status for r in answers] == [200, 200, 200, 200], [await r.text() for r in answers]
    assert _names(raw) == [] and _manifest(raw, pid)["slots"] == []
    assert "injected" in logged.text
