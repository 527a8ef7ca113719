"""Hostile input beyond ids: deeply nested JSON (request bodies and stored
documents), non-ASCII digits, control characters in labels and in what the
CLI prints, credentials in store URLs. Each gets a clear error (400 / one
CLI line) or the documented "corrupt document" handling, never a 500."""

from __future__ import annotations

import json
import re

import pytest

from api_support import error_of, image_form, make_app, mask_form, snapshot
from support import png_bytes
from test_cli import run, run_json, store_args

import backends
from backends import StoreConfigError, open_store, redact_url
from poolstore import InvalidInputError, InvalidNameError, Pool, Registry, StoreSet, find_orphans

DEEP = 100_000  # past any parser's recursion limit
MIDDLE = 700  # parses, but deep enough to break recursive copies and comparisons


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_document(depth: int, **fields) -> bytes:
    return ('{"x": ' + nested(depth) + "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "}").encode()


# -- nested JSON -----------------------------------------------------------------------
@pytest.mark.parametrize("depth", [DEEP, MIDDLE])
async def test_deeply_nested_request_bodies_are_invalid(store, raw, tmp_path, aiohttp_client, depth):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    assert (await client.post("/grid_pool/add", data=image_form("p1", png_bytes()))).status == 200
    before = snapshot(raw)
    body = deep_document(depth, pool_id="p1", index=0, label="x")
    for path in ("/grid_pool/label", "/grid_pool/reorder", "/grid_pool/profiles/create"):
        resp = await client.post(path, data=body, headers={"Content-Type": "application/json"})
        assert (await error_of(resp, 400))["code"] == "invalid", path
    assert snapshot(raw) == before


@pytest.mark.parametrize("depth", [DEEP, MIDDLE])
async def test_a_deeply_nested_stored_manifest_reads_as_corrupt(store, raw, tmp_path, aiohttp_client, depth):
    pool = Pool(store, "p1")
    pool.add([png_bytes(), png_bytes(color=(0, 0, 99))], labels=["a", "b"])
    raw.write("p1/manifest.json", deep_document(depth, slots=[]))
    assert [s["image"] for s in pool.read()["slots"]] == ["img_0001.png", "img_0002.png"]  # rebuilt
    pool.set_label(1, "again")
    assert json.loads(raw.read("p1/manifest.json"))["slots"][1]["label"] == "again"
    raw.write("p1/manifest.json", deep_document(depth, slots=[]))
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    listed = await client.get("/grid_pool/list", params={"pool_id": "p1"})
    assert listed.status == 200 and (await listed.json())["count"] == 2
    resp = await client.post("/grid_pool/add", data=image_form("p1", png_bytes(color=(5, 5, 5))))
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("depth", [DEEP, MIDDLE])
async def test_a_deeply_nested_stored_registry_reads_as_corrupt(store, raw, tmp_path, aiohttp_client, depth):
    registry = Registry(store)
    registry.create("a1", "Kept")
    raw.write("profiles.json", deep_document(depth, profiles=[{"id": "a1", "name": "Kept", "created": 1}]))
    assert registry.list() == []  # corrupt reads as empty ...
    assert [e["id"] for e in registry.effective_list()] == ["a1"]
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    assert (await client.get("/grid_pool/profiles/list")).status == 200
    resp = await client.post("/grid_pool/profiles/create", json={"name": "New"})
    assert resp.status == 200, await resp.text()
    assert [e["name"] for e in registry.list()] == ["Kept", "New"]  # ... and rebuilt before the next write
    assert any(k.startswith("profiles.json.corrupt-") for k in raw.keys())


@pytest.mark.parametrize("depth", [DEEP, MIDDLE])
def test_a_deeply_nested_profile_json_is_skipped_by_rebuild_and_check(store, raw, depth):
    Registry(store).create("a1", "Kept")
    raw.write("b2/profile.json", deep_document(depth, name="Planted"))
    store.delete("profiles.json")
    assert [e["id"] for e in Registry(store).effective_list()] == ["a1"]
    Registry(store).create("c3", "Other")
    assert [o.kind for o in find_orphans(store, min_age=-60)] == ["profile"]


def test_a_deeply_nested_manifest_in_an_archive_is_invalid(store, raw):
    from archive_support import zip_bytes
    from poolstore import InvalidArchiveError
    from poolstore.archive import import_profile
    import io

    data = zip_bytes([("profile_meta.json", b'{"name": "x", "format": 1}'), ("pool/manifest.json", deep_document(DEEP)),
                      ("pool/img_0001.png", png_bytes())])
    with pytest.raises(InvalidArchiveError):
        import_profile(store, io.BytesIO(data), new_id="n1")
    assert raw.visible_keys() == set()


# -- digits ------------------------------------------------------------------------------
@pytest.mark.parametrize("digits", ["²", "١", "１", "٣٢", "𝟑𝟐", "-²", " 3 2 "])
async def test_integers_are_ascii_digits_only(store, raw, tmp_path, aiohttp_client, digits):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    assert (await client.post("/grid_pool/add", data=image_form("p1", png_bytes(), png_bytes()))).status == 200
    before = snapshot(raw)
    await error_of(await client.get("/grid_pool/thumb", params={"pool_id": "p1", "image": "img_0001.png",
                                                                "size": digits}), 400)
    await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", png_bytes(mode="L"), index=digits)), 400)
    for path in ("/grid_pool/active", "/grid_pool/remove"):
        await error_of(await client.post(path, json={"pool_id": "p1", "index": digits}), 400)
    assert snapshot(raw) == before


def test_cli_slots_in_other_digits_are_names(store, capsys):
    Pool(store, "p1").add([png_bytes()])
    rc, out, err = run(capsys, "pool", "rm", "p1", "²", *store_args(store))
    assert rc == 1 and "no slot" in err and err.count("\n") == 1


# -- control characters --------------------------------------------------------------------
CONTROLS = ["\x85", "\x9b31m", "\x1b[2J", "\x07", "\x7f", "\u202eevil", "\u2028", "\x00", "\r"]


@pytest.mark.parametrize("bad", CONTROLS)
def test_labels_and_names_refuse_the_same_control_characters(store, raw, bad):
    registry = Registry(store)
    registry.create("a1", "Ok")
    pool = Pool(store, "a1")
    pool.add([png_bytes()])
    before = snapshot(raw)
    with pytest.raises(InvalidInputError):
        pool.set_label(0, f"la{bad}bel")
    with pytest.raises(InvalidInputError):
        pool.add([png_bytes()], labels=[f"la{bad}bel"])
    with pytest.raises(InvalidNameError):
        registry.rename("a1", f"na{bad}me")
    assert snapshot(raw) == before


async def test_labels_with_c1_controls_are_400(store, raw, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    assert (await client.post("/grid_pool/add", data=image_form("p1", png_bytes()))).status == 200
    before = snapshot(raw)
    for bad in ("\x9b2J", "\u202e", "\x85"):
        await error_of(await client.post("/grid_pool/label", json={"pool_id": "p1", "index": 0, "label": bad}), 400)
    assert snapshot(raw) == before


# Raw ESC/BEL/CSI and bidi controls: what a terminal would act on.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PLANTED = "\x1b]0;owned\x07\x1b[2J\x9b31mred\u202etxt.exe"


def _planted(store, raw):
    """A label and an orphan's name planted around the store (by a teammate's
    older tool, or by hand): neither went through validation."""
    Registry(store).create("live1", "Live")
    Pool(store, "p1").add([png_bytes()])
    doc = json.loads(raw.read("p1/manifest.json"))
    doc["slots"][0]["label"] = PLANTED
    raw.write("p1/manifest.json", json.dumps(doc).encode())
    raw.write("orph1/profile.json", json.dumps({"id": "orph1", "name": PLANTED, "created": 1}).encode())


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_output_never_carries_terminal_controls(store, raw, capsys, as_json):
    _planted(store, raw)
    at = [*store_args(store), *(["--json"] if as_json else [])]
    outputs = [run(capsys, "pool", "list", "p1", *at), run(capsys, "check", "--min-age", "-60", *at)]
    for rc, out, err in outputs:
        assert rc == 0, err
        assert not _TERMINAL_CONTROL.search(out + err), repr(out)
        assert "owned" in out
        if as_json:
            json.loads(out)
    if as_json:  # the JSON still carries the exact text, escaped
        assert run_json(capsys, "pool", "list", "p1", *store_args(store))["slots"][0]["label"] == PLANTED


def test_cli_errors_never_carry_terminal_controls(store, capsys):
    rc, out, err = run(capsys, "pool", "rm", f"x{PLANTED}", "0", *store_args(store))
    assert rc == 1 and err.count("\n") == 1
    assert not _TERMINAL_CONTROL.search(err), repr(err)


# -- credentials in URLs -------------------------------------------------------------------
SECRET_URLS = [
    "s3://AKIAEXAMPLE:SuperSecret@bucket/prefix",
    "s3://AKIAEXAMPLE@bucket",
    "s3a://AKIAEXAMPLE:SuperSecret@bucket",
    "memory://AKIAEXAMPLE:SuperSecret@name",
    "https://AKIAEXAMPLE:SuperSecret@minio.example:9000/bucket",
    "S3://AKIAEXAMPLE:Super@Secret@bucket",
    "s3://AKIAEXAMPLE:Super/Secret@bucket/prefix",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_credentials_in_a_store_url_are_refused_and_never_shown(url):
    with pytest.raises(StoreConfigError) as info:
        open_store(url)
    message = str(info.value)
    assert "SuperSecret" not in message and "AKIAEXAMPLE" not in message and "Secret" not in message
    assert "storage option" in message


@pytest.mark.parametrize("url", SECRET_URLS)
def test_the_cli_refuses_credentials_in_urls_on_one_line_without_them(url, tmp_path):
    from test_cli import python_m

    for argv in (["--store", url, "profiles", "list"],
                 ["--store", str(tmp_path / "s"), "profiles", "copy", "x", "--to", url]):
        done = python_m(*argv)
        err = done.stderr.decode()
        assert done.returncode == 1 and err.count("\n") == 1, err
        assert "SuperSecret" not in err and "AKIAEXAMPLE" not in err, err


@pytest.mark.parametrize("url", ["s3://k:s@[bad/x", "s3://k:SuperSecret@bucket:notaport/x", "s3://:SuperSecret@/x",
                                 "s3://AKIA:Super@Secret@bucket/x", "s3://AKIA:Super/Secret@bucket/x"])
def test_redact_url_never_fails_or_leaks(url):
    shown = redact_url(url)
    assert "Secret" not in shown and ":s@" not in shown


def test_a_store_url_without_credentials_still_opens(tmp_path):
    at = tmp_path / "me@home" / "pools"
    store = backends.open_store(str(at))
    store.write("x", b"1")
    assert (at / "x").read_bytes() == b"1"
