"""Untrusted image bytes are decoded only as PNG, JPEG or WebP, within the
byte and pixel limits, on every path that reads them.

PostScript and PDF files disguised as images make a reader that accepts every
Pillow format run Ghostscript. A fake ``gs`` first on ``PATH`` records any run
(see :mod:`image_support`); each path must refuse the file with a clear error
and leave the fake untouched: add (library, HTTP, CLI), set_mask, import
(HTTP, CLI), the thumbnail and the stage copy of an object planted in the
store, and the node.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import aiohttp
import pytest

from api_support import error_of, image_form, make_app, mask_form, snapshot
from archive_support import noise_png, raw_of, registry_ids, zip_bytes
from image_support import GHOSTSCRIPT_FILES, bomb_png, fake_gs  # noqa: F401 - fake_gs is a fixture
from support import image_bytes, png_bytes
from test_cli import run, store_args

from poolstore import InvalidArchiveError, InvalidImageError, Pool, StoreSet, TooLargeError
from poolstore.archive import import_profile

KINDS = sorted(GHOSTSCRIPT_FILES)
REPO = Path(__file__).resolve().parent.parent
RED = png_bytes(color=(255, 0, 0))


def _zip_with_image(data: bytes) -> bytes:
    return zip_bytes([("profile_meta.json", b'{"name": "x", "format": 1}'), ("pool/img_0001.png", data)])


def _plant(raw, pool_id: str, image: bytes, mask: bytes | None = None) -> None:
    """A pool whose image (and mask) objects are whatever a teammate put there."""
    raw.write(f"{pool_id}/img_0001.png", image)
    if mask is not None:
        raw.write(f"{pool_id}/img_0001.mask.png", mask)
    slot = {"image": "img_0001.png", "mask": "img_0001.mask.png" if mask is not None else None, "label": ""}
    raw.write(f"{pool_id}/manifest.json", json.dumps({"active": 0, "next_seq": 2, "slots": [slot]}).encode())


def test_images_are_opened_in_one_place_and_only_as_png_jpeg_or_webp():
    """Every ``Image.open`` of the project is the one in poolstore/images.py,
    and it names the formats (any other call would bypass the limits too)."""
    calls = {}
    for folder in ("backends", "poolstore", "comfy_nodes"):
        for path in sorted((REPO / folder).rglob("*.py")):
            found = re.findall(r"Image\.open\((.*)\)", path.read_text(encoding="utf-8"))
            if found:
                calls[path.relative_to(REPO).as_posix()] = found
    assert list(calls) == ["poolstore/images.py"]
    (call,) = calls["poolstore/images.py"]
    assert "formats=ALLOWED_FORMATS" in call
    from poolstore.images import ALLOWED_FORMATS

    assert ALLOWED_FORMATS == ("PNG", "JPEG", "WEBP")


# -- the library ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_add_never_runs_ghostscript(store, raw, fake_gs, kind):
    pool = Pool(store, "p1")
    with pytest.raises(InvalidImageError) as refused:
        pool.add([GHOSTSCRIPT_FILES[kind]])
    assert not fake_gs.ran
    assert "PNG, JPEG or WebP" in str(refused.value)
    assert raw.keys() == set()


@pytest.mark.parametrize("kind", KINDS)
def test_set_mask_never_runs_ghostscript(store, raw, fake_gs, kind):
    pool = Pool(store, "p1")
    pool.add([RED])
    before = snapshot(raw)
    with pytest.raises(InvalidImageError) as refused:
        pool.set_mask(0, GHOSTSCRIPT_FILES[kind])
    assert not fake_gs.ran
    assert "PNG, JPEG or WebP" in str(refused.value)
    assert snapshot(raw) == before


@pytest.mark.parametrize("kind", KINDS)
def test_import_never_runs_ghostscript(store, raw, fake_gs, kind):
    with pytest.raises(InvalidArchiveError) as refused:
        import_profile(store, io.BytesIO(_zip_with_image(GHOSTSCRIPT_FILES[kind])), new_id="gs1")
    assert not fake_gs.ran
    assert "PNG, JPEG or WebP" in str(refused.value)
    assert raw.keys() == set() and registry_ids(store) == []


# -- HTTP -----------------------------------------------------------------------------
@pytest.fixture
async def client(store, tmp_path, aiohttp_client):
    stage = tmp_path / "input" / "grid_pool_stage"
    return await aiohttp_client(make_app(StoreSet(store), tmp_path, stage_dir=stage))


@pytest.mark.parametrize("kind", KINDS)
async def test_http_uploads_never_run_ghostscript(client, raw, fake_gs, kind):
    data = GHOSTSCRIPT_FILES[kind]
    await error_of(await client.post("/grid_pool/add", data=image_form("p1", data)), 400)
    assert not fake_gs.ran, "add"
    assert (await client.post("/grid_pool/add", data=image_form("p1", RED))).status == 200
    before = snapshot(raw)
    await error_of(await client.post("/grid_pool/set_mask", data=mask_form("p1", data, index=0)), 400)
    assert not fake_gs.ran, "set_mask"
    form = aiohttp.FormData()
    form.add_field("file", _zip_with_image(data), filename="x.zip")
    await error_of(await client.post("/grid_pool/profiles/import", data=form), 400)
    assert not fake_gs.ran, "import"
    assert snapshot(raw) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_planted_objects_never_run_ghostscript(client, raw, tmp_path, fake_gs, kind):
    """Thumbnail and stage copy of objects a teammate put in the folder or bucket."""
    _plant(raw, "p1", GHOSTSCRIPT_FILES[kind])
    _plant(raw, "p2", RED, mask=GHOSTSCRIPT_FILES[kind])
    for params in ({"pool_id": "p1", "image": "img_0001.png"}, {"pool_id": "p2", "image": "img_0001.png", "kind": "mask"}):
        await error_of(await client.get("/grid_pool/thumb", params=params), 400)
        assert not fake_gs.ran, f"thumb {params}"
    for pool_id in ("p1", "p2"):
        await error_of(await client.post("/grid_pool/stage", json={"pool_id": pool_id, "image": "img_0001.png"}), 400)
        assert not fake_gs.ran, f"stage {pool_id}"
    assert not any((tmp_path / "input" / "grid_pool_stage").glob("*.png"))


# -- the command line -------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_cli_never_runs_ghostscript(store, raw, capsys, tmp_path, fake_gs, kind):
    at = store_args(store)
    Pool(store, "p1").add([RED])
    before = snapshot(raw)
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(GHOSTSCRIPT_FILES[kind])
    rc, _, err = run(capsys, "pool", "add", "p1", str(disguised), *at)
    assert not fake_gs.ran, "pool add"
    assert rc == 1 and err.count("\n") == 1 and "PNG, JPEG or WebP" in err
    archive = tmp_path / "profile.zip"
    archive.write_bytes(_zip_with_image(GHOSTSCRIPT_FILES[kind]))
    rc, _, err = run(capsys, "profiles", "import", str(archive), *at)
    assert not fake_gs.ran, "profiles import"
    assert rc == 1 and err.count("\n") == 1 and "PNG, JPEG or WebP" in err
    assert snapshot(raw) == before


def test_serve_and_cli_processes_never_run_ghostscript(tmp_path, fake_gs):
    """Fresh processes (``poolstore serve``, ``poolstore pool add``) find the fake
    ``gs`` first on their ``PATH`` when Pillow looks it up, and never run it."""
    import subprocess
    import sys

    import requests

    import backends
    from browser_support import Server

    root = tmp_path / "store"
    store = backends.open_store(str(root))
    Pool(store, "p1").add([RED])
    _plant(raw_of(store), "planted", GHOSTSCRIPT_FILES["eps"])
    env = {"PATH": fake_gs.path_env(), "POOLSTORE_CACHE_DIR": str(tmp_path / "cache")}
    server = Server(str(root), env=env)
    try:
        files = [("image", ("photo.png", GHOSTSCRIPT_FILES["eps"], "image/png"))]
        added = requests.post(f"{server.url}grid_pool/add", data={"pool_id": "p1"}, files=files, timeout=60)
        thumb = requests.get(f"{server.url}grid_pool/thumb", params={"pool_id": "planted", "image": "img_0001.png"}, timeout=60)
        archive = [("file", ("x.zip", _zip_with_image(GHOSTSCRIPT_FILES["ps"]), "application/zip"))]
        imported = requests.post(f"{server.url}grid_pool/profiles/import", files=archive, timeout=60)
    finally:
        server.stop()
    assert not fake_gs.ran, "poolstore serve"
    assert [added.status_code, thumb.status_code, imported.status_code] == [400, 400, 400]
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(GHOSTSCRIPT_FILES["eps"])
    cli = subprocess.run([sys.executable, "-m", "poolstore", "pool", "add", "p1", str(disguised), "--store", str(root)],
                         capture_output=True, text=True, env={**os.environ, **env}, cwd=REPO, timeout=120)
    assert not fake_gs.ran, "poolstore pool add"
    assert cli.returncode == 1 and "PNG, JPEG or WebP" in cli.stderr


# -- the node ------------------------------------------------------------------------------
@pytest.fixture
def use_store(monkeypatch, tmp_path):
    from comfy_nodes import config

    monkeypatch.setenv("POOLSTORE_CACHE_DIR", str(tmp_path / "cache"))
    yield lambda store: config.use_stores(StoreSet(store))
    config.use_stores(None)


@pytest.mark.parametrize("kind", KINDS)
def test_node_never_runs_ghostscript(store, raw, use_store, fake_gs, kind):
    pytest.importorskip("torch")
    from comfy_nodes.nodes import GridImagePool

    use_store(store)
    _plant(raw, "p1", GHOSTSCRIPT_FILES[kind])
    _plant(raw, "p2", RED, mask=GHOSTSCRIPT_FILES[kind])
    for pool_id in ("p1", "p2"):
        with pytest.raises((InvalidImageError, OSError)) as refused:  # OSError: what Pillow raises unchecked
            GridImagePool().run(index=-1, pool_id=pool_id)
        assert not fake_gs.ran, pool_id
        assert isinstance(refused.value, InvalidImageError) and "PNG, JPEG or WebP" in str(refused.value)


# -- the pixel limit on every path ------------------------------------------------------
OVERSIZE = (12000, 12000)


async def test_stage_and_thumb_refuse_a_planted_image_over_the_pixel_limit(client, raw, tmp_path):
    _plant(raw, "p1", bomb_png(*OVERSIZE, mode="L"))
    _plant(raw, "p2", RED, mask=bomb_png(*OVERSIZE, mode="L"))
    await error_of(await client.post("/grid_pool/stage", json={"pool_id": "p1", "image": "img_0001.png"}), 413)
    await error_of(await client.post("/grid_pool/stage", json={"pool_id": "p2", "image": "img_0001.png"}), 413)
    params = {"pool_id": "p2", "image": "img_0001.png", "kind": "mask"}
    await error_of(await client.get("/grid_pool/thumb", params=params), 413)
    assert not any((tmp_path / "input" / "grid_pool_stage").glob("*.png"))


def test_node_refuses_a_planted_image_over_the_pixel_limit(store, raw, use_store):
    pytest.importorskip("torch")
    from comfy_nodes.nodes import GridImagePool

    use_store(store)
    _plant(raw, "p1", bomb_png(*OVERSIZE, mode="L"))
    _plant(raw, "p2", RED, mask=bomb_png(*OVERSIZE, mode="L"))
    for pool_id in ("p1", "p2"):
        with pytest.raises(TooLargeError, match="pixel"):
            GridImagePool().run(index=-1, pool_id=pool_id)


@pytest.fixture
def small_byte_limit(monkeypatch):
    """The image byte limit lowered to 10 kB, so an over-limit object is cheap to plant."""
    import poolstore.images

    monkeypatch.setattr(poolstore.images, "MAX_IMAGE_BYTES", 10_000)
    return 10_000


async def test_planted_objects_over_the_byte_limit_are_not_read_whole(client, raw, tmp_path, small_byte_limit):
    big = noise_png((80, 80), seed=3)  # a valid PNG of about 19 kB
    assert len(big) > small_byte_limit
    _plant(raw, "p1", big)
    _plant(raw, "p2", RED, mask=big)
    for params in ({"pool_id": "p1", "image": "img_0001.png"}, {"pool_id": "p2", "image": "img_0001.png", "kind": "mask"}):
        await error_of(await client.get("/grid_pool/thumb", params=params), 413)
        await error_of(await client.get("/grid_pool/image", params=params), 413)
    for pool_id in ("p1", "p2"):
        await error_of(await client.post("/grid_pool/stage", json={"pool_id": pool_id, "image": "img_0001.png"}), 413)


def test_node_refuses_a_planted_object_over_the_byte_limit(store, raw, use_store, small_byte_limit):
    pytest.importorskip("torch")
    from comfy_nodes.nodes import GridImagePool

    use_store(store)
    _plant(raw, "p1", noise_png((80, 80), seed=3))
    _plant(raw, "p2", RED, mask=noise_png((80, 80), seed=3))
    for pool_id in ("p1", "p2"):
        with pytest.raises(TooLargeError, match="MB"):
            GridImagePool().run(index=-1, pool_id=pool_id)


# -- only the image bytes are stored ------------------------------------------------------
def _with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """``jpeg`` with a COM segment right after SOI holding ``comment``."""
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_add_stores_the_image_without_what_follows_it(store, raw, fmt):
    image = image_bytes(fmt, size=(40, 30))
    pool = Pool(store, "p1")
    (padded,) = pool.add([image + b"\0" * (8 * 1024 * 1024)])
    (appended,) = pool.add([image + image_bytes("JPEG") + b"video"])  # e.g. a phone's motion photo
    assert raw.read(f"p1/{padded}") == image
    assert raw.read(f"p1/{appended}") == image


def test_a_jpeg_ends_at_its_own_end_marker_not_at_an_embedded_one():
    """A JPEG inside a segment (an EXIF thumbnail, a comment) is skipped by length."""
    from poolstore.images import inspect_image

    image = _with_comment(image_bytes("JPEG", size=(40, 30)), image_bytes("JPEG", size=(4, 3)))
    progressive = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 48), (9, 99, 199)).save(progressive, format="JPEG", progressive=True)
    for data in (image, progressive.getvalue()):
        info = inspect_image(data + b"\xff\xd9trailing")
        assert info.data == data and info.trailing == len(b"\xff\xd9trailing")


def test_a_multi_picture_jpeg_keeps_its_main_image():
    from PIL import Image

    from poolstore.images import decoded, inspect_image

    buf = io.BytesIO()
    first, second = Image.new("RGB", (40, 30), (200, 0, 0)), Image.new("RGB", (20, 10), (0, 0, 200))
    first.save(buf, format="MPO", save_all=True, append_images=[second])
    info = inspect_image(buf.getvalue())
    assert info.ext == "jpg" and info.trailing > 0
    with decoded(info.data) as img:
        assert img.size == (40, 30) and img.convert("RGB").getpixel((5, 5))[0] > 190


@pytest.mark.parametrize("cut", [1, 20])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_an_image_without_its_end_is_refused(fmt, cut):
    from poolstore.images import image_length

    data = image_bytes(fmt, size=(40, 30))
    with pytest.raises(InvalidImageError, match="damaged or truncated"):
        image_length(data[:-cut], fmt)


async def test_http_add_stores_the_image_without_trailing_zeros(client, raw):
    resp = await client.post("/grid_pool/add", data=image_form("p1", RED + b"\0" * (4 * 1024 * 1024)))
    assert resp.status == 200, await resp.text()
    assert raw.read("p1/img_0001.png") == RED
