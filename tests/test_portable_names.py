"""Names that survive every filesystem, on every backend: ids and object names
unique case-insensitively within a store, no Windows device names (CON, PRN,
AUX, NUL, COM0-9, LPT0-9, any case, with or without an extension), download
names valid on Windows. Existing folders with such names stay readable; only
making new ones is refused. Results are read raw, around the store."""

from __future__ import annotations

import io
import json
import re

import pytest

from api_support import error_of, image_form, make_app, snapshot
from archive_support import make_profile, raw_of, zip_bytes
from support import png_bytes

from comfy_nodes.routes_profiles import content_disposition
from poolstore import ConflictError, InvalidArchiveError, InvalidIdError, Pool, Registry, StoreSet, new_id
from poolstore.archive import export_profile, import_profile, safe_zip_filename
from poolstore.ids import is_reserved_file_name, portable_file_name
from poolstore.transfer import adopt_pool, copy_profile

RESERVED_IDS = ["CON", "con", "Prn", "aux", "NUL", "com1", "COM9", "com0", "Lpt1", "lpt9", "LPT0"]


def _meta_zip(names: list[str], manifest: dict | None = None) -> bytes:
    docs = [("pool/manifest.json", json.dumps(manifest).encode())] if manifest else []
    return zip_bytes([("profile_meta.json", b'{"name": "z", "format": 1}'), *docs,
                      *((f"pool/{n}", png_bytes(color=(i * 20, 0, 0))) for i, n in enumerate(names))])


# -- ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", RESERVED_IDS)
def test_windows_device_names_are_never_made_into_ids(store, raw, bad):
    registry = Registry(store)
    source = make_profile(store, "source", count=1)
    exported = io.BytesIO()
    export_profile(store, source, exported)
    before = snapshot(raw)
    calls = [
        lambda: registry.create(bad, "New"),
        lambda: import_profile(store, io.BytesIO(exported.getvalue()), new_id=bad),
        lambda: copy_profile(store, source, store, new_id=bad),
        lambda: Pool(store, bad).add([png_bytes()]),
    ]
    for call in calls:
        with pytest.raises(InvalidIdError, match="Windows"):
            call()
    assert snapshot(raw) == before


def test_an_existing_folder_with_a_device_name_stays_readable(store, raw):
    if getattr(getattr(store, "folder", None), "portable", False):
        pytest.skip("Windows cannot hold such a folder (the portable store refuses the name)")
    raw.write("CON/img_0001.png", png_bytes())
    raw.write("CON/manifest.json", json.dumps({"slots": [{"image": "img_0001.png"}]}).encode())
    pool = Pool(store, "CON")
    assert [s["image"] for s in pool.read()["slots"]] == ["img_0001.png"]
    pool.add([png_bytes(color=(1, 2, 3))])  # it exists already: changing it is fine
    assert len(pool.read()["slots"]) == 2
    with pytest.raises(InvalidIdError):
        adopt_pool(store, "CON", "Console")  # but it is not made a profile


def test_ids_that_differ_only_in_case_are_refused(store, raw):
    registry = Registry(store)
    registry.create("abc", "One")
    Pool(store, "node7").add([png_bytes()])
    raw.write("Twin/img_0001.png", png_bytes())
    raw.write("twin/img_0001.png", png_bytes())  # two folders a case-sensitive store allowed
    before = snapshot(raw)
    for call in [
        lambda: registry.create("ABC", "Two"),
        lambda: registry.create("Node7", "Three"),
        lambda: copy_profile(store, "abc", store, new_id="aBc", name="Copy"),
        lambda: Pool(store, "NODE7").add([png_bytes()]),
        lambda: Pool(store, "Abc").add([png_bytes()]),
        lambda: adopt_pool(store, "Twin", "Adopted"),
    ]:
        with pytest.raises(ConflictError, match="case"):
            call()
    assert snapshot(raw) == before


def test_the_registry_refuses_an_entry_whose_id_differs_only_in_case(store):
    registry = Registry(store)
    registry.create("abc", "One")
    with pytest.raises(ConflictError, match="case"):
        registry.commit({"id": "ABC", "name": "Two", "created": 1}, rename_on_collision=True)
    assert [e["id"] for e in registry.list()] == ["abc"]


async def test_every_id_the_api_makes_is_lowercase_and_fresh(store, raw, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    made = (await (await client.post("/grid_pool/profiles/create", json={"name": "A"})).json())["profile"]["id"]
    assert (await client.post("/grid_pool/add", data=image_form(made, png_bytes()))).status == 200
    dup = (await (await client.post("/grid_pool/profiles/duplicate", json={"id": made})).json())["profile"]["id"]
    zipped = await (await client.get("/grid_pool/profiles/export", params={"id": made})).read()
    meta = json.loads(zip_bytes_member(zipped, "profile_meta.json"))
    assert meta["id"] == made
    form = {"file": io.BytesIO(rewrite_meta_id(zipped, made.upper()))}
    imported = (await (await client.post("/grid_pool/profiles/import", data=form)).json())["profile"]["id"]
    ids = [made, dup, imported]
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids) and len({i.casefold() for i in ids}) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", new_id()) for _ in range(50))


def zip_bytes_member(data: bytes, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def rewrite_meta_id(data: bytes, ident: str) -> bytes:
    """The same archive, its profile_meta.json naming another (upper-case) id."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "profile_meta.json":
                body = json.dumps({**json.loads(body), "id": ident}).encode()
            dst.writestr(info, body)
    return out.getvalue()


# -- object names --------------------------------------------------------------------------
@pytest.mark.parametrize("names", [
    ["img_0001.png", "IMG_0001.png"],
    ["img_0001.png", "img_0001.PNG"],
    ["con.png"],
    ["NUL.png"],
    ["Com1.jpg"],
    ["lpt3.mask.png", "img_0001.png"],
])
def test_imports_refuse_object_names_a_windows_folder_cannot_hold(store, raw, names):
    manifest = {"slots": [{"image": "img_0001.png", "mask": "lpt3.mask.png"}]} if "lpt3.mask.png" in names else None
    before = snapshot(raw)
    with pytest.raises(InvalidArchiveError):
        import_profile(store, io.BytesIO(_meta_zip(names, manifest)), new_id="n1")
    assert snapshot(raw) == before


def test_add_never_makes_a_name_that_differs_only_in_case(store, raw):
    raw.write("p1/IMG_0001.PNG", png_bytes())
    raw.write("p1/manifest.json", json.dumps({"slots": [{"image": "IMG_0001.PNG"}], "next_seq": 1}).encode())
    added = Pool(store, "p1").add([png_bytes(color=(0, 9, 0)), png_bytes(color=(0, 0, 9))])
    folded = [k.casefold() for k in raw.visible_keys() if k.startswith("p1/")]
    assert len(folded) == len(set(folded)) and added == ["img_0002.png", "img_0003.png"]


@pytest.mark.parametrize("names", [["a.png", "A.png"], ["con.png"]])
def test_duplicate_and_copy_refuse_names_they_would_spread(store, raw, store_factory, names):
    """A pool an older version (or a hand) made on a case-sensitive store."""
    registry = Registry(store)
    registry.create("src1", "Source")
    for i, name in enumerate(names):
        raw.write(f"src1/{name}", png_bytes(color=(i * 50, 0, 0)))
    raw.write("src1/manifest.json", json.dumps({"slots": [{"image": n} for n in names]}).encode())
    other = store_factory("memory")
    before, before_other = snapshot(raw), snapshot(raw_of(other))
    for call in [
        lambda: copy_profile(store, "src1", store, new_id="copy1"),
        lambda: copy_profile(store, "src1", other, new_id="copy2"),
    ]:
        with pytest.raises(ConflictError, match="Windows|case"):
            call()
    assert snapshot(raw) == before and snapshot(raw_of(other)) == before_other


# -- download names --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("CON", "CON_.zip"),
    ("con", "con_.zip"),
    ("nul.tar", "nul_.tar.zip"),
    ("Com1 ", "Com1_.zip"),
    ("lpt9.", "lpt9_.zip"),
    ("aux . ", "aux_.zip"),
    ("name ...", "name.zip"),
    ("console", "console.zip"),
    ("x" * 99 + " y", "x" * 99 + ".zip"),
])
def test_download_names_are_valid_on_windows(name, expected):
    assert safe_zip_filename(name) == expected
    assert not is_reserved_file_name(safe_zip_filename(name))


@pytest.mark.parametrize("name", ["CON", "nul", "PRN. ", "Ünï", "com1.tar", "COM\u00b9", "CON\u00e9", "a\u200b "])
def test_download_headers_name_files_valid_on_windows(name):
    header = content_disposition(safe_zip_filename(name))
    plain = re.search(r'filename="([^"]*)"', header).group(1)
    encoded = re.search(r"filename\*=UTF-8''(\S*)", header).group(1)
    from urllib.parse import unquote

    for shown in (plain, unquote(encoded)):
        assert not is_reserved_file_name(shown) and not shown.endswith((" ", ".")), header


@pytest.mark.parametrize(("name", "portable"), [("AUX", "AUX_"), ("a.b.", "a.b"), ("", "_"), ("ok.png", "ok.png")])
def test_portable_file_name(name, portable):
    assert portable_file_name(name) == portable


async def test_export_download_name_over_http(store, tmp_path, aiohttp_client):
    client = await aiohttp_client(make_app(StoreSet(store), tmp_path))
    made = (await (await client.post("/grid_pool/profiles/create", json={"name": "con"})).json())["profile"]["id"]
    resp = await client.get("/grid_pool/profiles/export", params={"id": made})
    assert resp.status == 200 and 'filename="con_.zip"' in resp.headers["Content-Disposition"]
    await resp.read()
