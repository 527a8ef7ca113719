"""Delete is final: once a profile delete has answered, no add, label, mask,
reorder or other change can bring its pool back, on every backend, against
the domain (threads) and over HTTP. Results are read raw, around the store.

A round: a profile with one image, several writers adding images in a loop,
and a delete in the middle. A *resurrection* is a round that ends with the
profile unregistered but its pool holding slots or image objects again.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from api_support import error_of, image_form, make_app, snapshot
from support import png_bytes

from poolstore import NotFoundError, Pool, PoolDeletedError, Registry, StoreSet, adopt_pool

ADDERS = 4
ROUNDS = {"local": 6, "memory": 6, "s3": 3, "azure": 3}
ADDS_AFTER_DELETE = 2


def _pool_keys(raw, pid):
    return {k for k in raw.visible_keys() if k.startswith(f"{pid}/")}


def _resurrected(store, raw, pid) -> bool:
    """The profile is gone from the registry, but its pool has content again."""
    if any(e["id"] == pid for e in Registry(store).list()):
        return False
    keys = _pool_keys(raw, pid) - {f"{pid}/manifest.json"}
    slots = json.loads(raw.read(f"{pid}/manifest.json")).get("slots") if f"{pid}/manifest.json" in raw.keys() else []
    return bool(keys or slots)


def _assert_deleted_cleanly(store, raw, pid):
    assert not any(e["id"] == pid for e in Registry(store).list())
    assert _pool_keys(raw, pid) <= {f"{pid}/manifest.json"}, "images left behind"
    tombstone = json.loads(raw.read(f"{pid}/manifest.json"))
    assert tombstone["slots"] == [] and isinstance(tombstone["deleted"], dict)
    assert Pool(store, pid).read()["slots"] == []


class _Adder(threading.Thread):
    """Adds images until it made ADDS_AFTER_DELETE adds that started after
    the delete had answered."""

    def __init__(self, store, pid, deleted_at: list[float]) -> None:
        super().__init__(daemon=True)
        self.pool, self.deleted_at = Pool(store, pid), deleted_at
        self.outcomes: list[tuple[float, str]] = []
        self.unexpected: list[BaseException] = []

    def run(self) -> None:
        for _ in range(500):
            started = time.monotonic()
            try:
                self.pool.add([png_bytes(size=(4, 4))])
                outcome = "added"
            except NotFoundError:
                outcome = "refused"
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.unexpected.append(exc)
                return
            self.outcomes.append((started, outcome))
            late = [o for s, o in self.outcomes if self.deleted_at and s > self.deleted_at[0]]
            if len(late) >= ADDS_AFTER_DELETE:
                return
            if outcome == "refused":
                time.sleep(0.005)


def _delete_round(store, raw, pid) -> tuple[bool, list[str], str]:
    registry = Registry(store)
    registry.create(pid, f"Profile {pid}")
    Pool(store, pid).add([png_bytes()])
    deleted_at: list[float] = []
    adders = [_Adder(store, pid, deleted_at) for _ in range(ADDERS)]
    for a in adders:
        a.start()
    time.sleep(0.02)
    registry.delete(pid)
    deleted_at.append(time.monotonic())
    for a in adders:
        a.join(timeout=120)
    assert [e for a in adders for e in a.unexpected] == []
    late = [o for a in adders for s, o in a.outcomes if s > deleted_at[0]]
    return _resurrected(store, raw, pid), late, pid


def _judge(store, raw, results, record_figures, how: str, refused) -> None:
    """Count resurrections over the rounds' ``(came_back, late outcomes, pid)``;
    every change that started after the delete answered must be ``refused``."""
    resurrections = sum(came_back for came_back, _late, _pid in results)
    late = [o for _came_back, outs, _pid in results for o in outs]
    record_figures({"test": f"delete racing adds ({how})", "store": store.kind, "rounds": len(results),
                    "adders": ADDERS, "resurrections": resurrections,
                    "late adds refused": f"{late.count(refused)}/{len(late)}"})
    assert resurrections == 0
    assert late and set(late) == {refused}
    for _came_back, _late, pid in results:
        _assert_deleted_cleanly(store, raw, pid)


def test_delete_racing_adds_never_resurrects_the_pool(store, raw, record_figures):
    results = [_delete_round(store, raw, f"race{k}") for k in range(ROUNDS[store.kind])]
    _judge(store, raw, results, record_figures, "domain", "refused")


def test_every_change_after_a_delete_is_not_found_and_writes_nothing(store, raw):
    registry = Registry(store)
    registry.create("gone1", "Gone")
    pool = Pool(store, "gone1")
    pool.add([png_bytes(), png_bytes(color=(0, 0, 200))], labels=["a", "b"])
    registry.delete("gone1")
    before = snapshot(raw)
    changes = [
        lambda: pool.add([png_bytes()]),
        lambda: pool.set_label(0, "back"),
        lambda: pool.set_label("img_0001.png", "back"),
        lambda: pool.set_mask(0, png_bytes(mode="L")),
        lambda: pool.reorder(["img_0002.png", "img_0001.png"]),
        lambda: pool.set_active(0),
        lambda: pool.remove(0),
        lambda: pool.rebuild(),
        lambda: adopt_pool(store, "gone1", "Back again"),
    ]
    for change in changes:
        with pytest.raises(NotFoundError):
            change()
    with pytest.raises(PoolDeletedError):
        pool.add([png_bytes()])
    assert snapshot(raw) == before
    _assert_deleted_cleanly(store, raw, "gone1")


def test_an_add_refused_at_its_commit_removes_its_images(store, raw, monkeypatch):
    """The delete lands between the add's object writes and its commit."""
    registry = Registry(store)
    registry.create("p1", "One")
    pool = Pool(store, "p1")
    real = pool.update

    def delete_first(fn):
        registry.delete("p1")
        return real(fn)

    monkeypatch.setattr(pool, "update", delete_first)
    with pytest.raises(PoolDeletedError):
        pool.add([png_bytes(), png_bytes()])
    _assert_deleted_cleanly(store, raw, "p1")


# -- over HTTP -------------------------------------------------------------------------
async def _http_round(client, raw, store) -> tuple[bool, list[int], str]:
    resp = await client.post("/grid_pool/profiles/create", json={"name": f"P{time.monotonic()}"})
    pid = (await resp.json())["profile"]["id"]
    assert (await client.post("/grid_pool/add", data=image_form(pid, png_bytes()))).status == 200
    deleted_at: list[float] = []
    late: list[int] = []

    async def adder() -> None:
        after = 0
        for _ in range(500):
            started = time.monotonic()
            resp = await client.post("/grid_pool/add", data=image_form(pid, png_bytes(size=(4, 4))))
            assert resp.status in (200, 404), await resp.text()
            if deleted_at and started > deleted_at[0]:
                late.append(resp.status)
                after += 1
            if after >= ADDS_AFTER_DELETE:
                return
            if resp.status == 404:
                await asyncio.sleep(0.005)

    async def deleter() -> None:
        await asyncio.sleep(0.03)
        resp = await client.post("/grid_pool/profiles/delete", json={"id": pid})
        assert resp.status == 200, await resp.text()
        deleted_at.append(time.monotonic())

    await asyncio.gather(deleter(), *(adder() for _ in range(ADDERS)))
    return _resurrected(store, raw, pid), late, pid


async def test_delete_racing_adds_over_http_never_resurrects(store, raw, tmp_path, aiohttp_client, record_figures):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    results = [await _http_round(client, raw, store) for _ in range(ROUNDS[store.kind])]
    _judge(store, raw, results, record_figures, "HTTP", 404)


async def test_changes_to_a_deleted_profile_answer_404_over_http(store, raw, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    pid = (await (await client.post("/grid_pool/profiles/create", json={"name": "A"})).json())["profile"]["id"]
    assert (await client.post("/grid_pool/add", data=image_form(pid, png_bytes()))).status == 200
    assert (await client.post("/grid_pool/profiles/delete", json={"id": pid})).status == 200
    before = snapshot(raw)
    for path, body in [
        ("/grid_pool/label", {"pool_id": pid, "index": 0, "label": "x"}),
        ("/grid_pool/reorder", {"pool_id": pid, "order": ["img_0001.png"]}),
        ("/grid_pool/active", {"pool_id": pid, "index": 0}),
        ("/grid_pool/remove", {"pool_id": pid, "image": "img_0001.png"}),
    ]:
        await error_of(await client.post(path, json=body), 404)
    err = await error_of(await client.post("/grid_pool/add", data=image_form(pid, png_bytes())), 404)
    assert "deleted" in err["message"]
    assert snapshot(raw) == before
