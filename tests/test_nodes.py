"""The nodes with real torch tensors on every backend: shapes, dtypes, masks
(white = masked, resized, ComfyUI's alpha convention), profile over pool_id,
IS_CHANGED exactly when the output changes at a bounded store cost, and the
local read cache for S3."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from comfy_nodes import config
from comfy_nodes.nodes import GridImagePool, PoolProfile
from poolstore import Pool, StoreSet
from support import png_bytes

torch = pytest.importorskip("torch")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def use(monkeypatch, tmp_path):
    """Make the nodes use the given stores (and a cache under tmp_path)."""
    monkeypatch.setenv("POOLSTORE_CACHE_DIR", str(tmp_path / "cache"))

    def install(default, **named):
        config.use_stores(StoreSet(default, named))

    yield install
    config.use_stores(None)


@pytest.fixture
def pool(store, use):
    use(store)
    p = Pool(store, "p1")
    p.add([png_bytes((8, 6), (255, 0, 0)), png_bytes((8, 6), (0, 0, 255))], ["red", "blue"])
    return p


def test_outputs_are_tensors_of_the_documented_shapes(pool):
    image, mask, index, count, label = GridImagePool().run(index=-1, pool_id="p1")
    assert image.shape == (1, 6, 8, 3) and image.dtype == torch.float32
    assert mask.shape == (1, 6, 8) and mask.dtype == torch.float32
    assert torch.equal(image[0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert float(mask.abs().sum()) == 0.0
    assert (index, count, label) == (0, 2, "red")


def test_active_slot_and_forced_index_clamped(pool):
    pool.set_active(1)
    assert GridImagePool().run(index=-1, pool_id="p1")[2:] == (1, 2, "blue")
    image, _m, index, _c, label = GridImagePool().run(index=0, pool_id="p1")
    assert (index, label) == (0, "red") and float(image[0, 0, 0, 0]) == 1.0
    assert GridImagePool().run(index=99, pool_id="p1")[2:] == (1, 2, "blue")


def test_empty_pool_is_one_black_pixel(store, use):
    use(store)
    for pool_id in ("never-used", ""):
        image, mask, index, count, label = GridImagePool().run(index=-1, pool_id=pool_id)
        assert image.shape == (1, 1, 1, 3) and float(image.sum()) == 0.0 and image.dtype == torch.float32
        assert mask.shape == (1, 1, 1) and float(mask.sum()) == 0.0
        assert (index, count, label) == (0, 0, "")


def test_mask_is_white_masked_and_resized_to_the_image(pool):
    small = Image.new("L", (4, 3), 0)
    small.paste(255, (2, 0, 4, 3))  # right half masked
    pool.set_mask(0, _png(small))
    _image, mask, *_ = GridImagePool().run(index=0, pool_id="p1")
    assert mask.shape == (1, 6, 8)
    assert float(mask[0, 3, 7]) == 1.0 and float(mask[0, 3, 0]) == 0.0
    assert float(mask[0, :, :3].max()) == 0.0 and float(mask[0, :, 5:].min()) == 1.0


def test_mask_saved_by_comfyui_editor_reads_alpha_zero_as_masked(pool):
    editor = Image.new("RGBA", (8, 6), (10, 20, 30, 255))
    editor.putpixel((1, 2), (10, 20, 30, 0))
    pool.set_mask(0, _png(editor))
    mask = GridImagePool().run(index=0, pool_id="p1")[1]
    assert float(mask[0, 2, 1]) == 1.0 and float(mask.sum()) == 1.0


def test_exif_orientation_is_applied(store, use):
    use(store)
    img = Image.new("RGB", (40, 20), (0, 255, 0))
    exif = img.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    Pool(store, "j1").add([buf.getvalue()])
    image, mask, *_ = GridImagePool().run(index=-1, pool_id="j1")
    assert image.shape == (1, 40, 20, 3) and mask.shape == (1, 40, 20)


def test_connected_profile_wins_over_pool_id(pool, store, store_factory, use):
    Pool(store, "prof").add([png_bytes((5, 5), (0, 255, 0))], ["green"])
    team = store_factory("memory")
    Pool(team, "t1").add([png_bytes((3, 3), (9, 9, 9))], ["teamimg"])
    use(store, team=team)
    assert GridImagePool().run(index=-1, pool_id="p1", profile="prof")[4] == "green"
    assert GridImagePool().run(index=-1, pool_id="p1", profile="team:t1")[4] == "teamimg"
    assert GridImagePool().run(index=-1, pool_id="p1", profile=None)[4] == "red"
    fp = GridImagePool.IS_CHANGED
    assert fp(index=-1, pool_id="p1", profile="prof") == fp(index=-1, pool_id="other", profile="prof")
    assert fp(index=-1, pool_id="p1", profile="prof") != fp(index=-1, pool_id="p1")


def test_is_changed_with_a_connected_profile_not_yet_known_always_reruns(pool):
    # ComfyUI passes a linked input as None to IS_CHANGED (upstream has not run yet)
    first = GridImagePool.IS_CHANGED(index=-1, pool_id="p1", profile=None)
    second = GridImagePool.IS_CHANGED(index=-1, pool_id="p1", profile=None)
    assert first != first and [first] != [second]  # NaN: never equal, so the node runs


def test_is_changed_follows_exactly_what_the_outputs_depend_on(pool):
    def fp(index=-1):
        return GridImagePool.IS_CHANGED(index=index, pool_id="p1")

    base = fp()
    assert fp() == base
    pool.set_label(1, "other slot")  # not the selected one
    assert fp() == base
    pool.reorder([0, 1])
    assert fp() == base
    pool.set_label(0, "renamed")
    labelled = fp()
    assert labelled != base
    pool.set_mask(0, png_bytes((8, 6), mode="L"))
    masked = fp()
    assert masked != labelled
    pool.set_active(1)
    assert fp() != masked
    assert fp(index=0) == masked  # forcing slot 0 selects what was selected before
    pool.add([png_bytes((8, 6))])
    assert fp(index=0) != masked  # the count output changed


@pytest.mark.parametrize("n", [10, 500])
def test_is_changed_cost_does_not_grow_with_the_pool(store, use, n):
    use(store)
    slots = [{"image": f"img_{i:04d}.png", "mask": None, "label": "", "added": 0} for i in range(1, n + 1)]
    store.write("big/manifest.json", json.dumps({"active": n - 1, "next_seq": n + 1, "slots": slots}).encode())
    before = sum(store.stats.values())
    GridImagePool.IS_CHANGED(index=-1, pool_id="big")
    assert sum(store.stats.values()) - before == 1  # one manifest read, for 10 or 500 slots


def test_second_run_on_s3_downloads_no_image(store_factory, use, tmp_path):
    s3 = store_factory("s3")
    use(s3)
    p = Pool(s3, "p1")
    p.add([png_bytes((8, 6), (255, 0, 0))])
    p.set_mask(0, png_bytes((8, 6), mode="L"))
    first = GridImagePool().run(index=-1, pool_id="p1")
    reads = s3.stats["read"]
    second = GridImagePool().run(index=-1, pool_id="p1")
    assert s3.stats["read"] - reads == 1  # the manifest only: image and mask come from the local cache
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert len(list((tmp_path / "cache" / "images").rglob("*"))) >= 2


def test_pool_profile_node():
    spec = PoolProfile.INPUT_TYPES()["required"]
    assert set(spec) == {"profile", "profile_id"}
    assert PoolProfile.RETURN_TYPES == ("POOL_PROFILE",)
    assert PoolProfile.VALIDATE_INPUTS(profile="any name the JS listed", profile_id="abc") is True
    assert isinstance(PoolProfile.VALIDATE_INPUTS(profile="x", profile_id="../evil"), str)
    assert PoolProfile().run(profile="A", profile_id="") == ("default",)
    assert PoolProfile().run(profile="A", profile_id="team:abc") == ("team:abc",)
    assert PoolProfile().run(profile="A", profile_id="default:abc") == ("abc",)
    assert PoolProfile.IS_CHANGED(profile="A", profile_id="team:abc") == "team:abc"
    with pytest.raises(ValueError):
        PoolProfile().run(profile="A", profile_id="../x")


def test_grid_image_pool_declares_the_classic_api():
    spec = GridImagePool.INPUT_TYPES()
    assert spec["required"]["index"][1]["default"] == -1 and spec["required"]["index"][1]["min"] == -1
    assert spec["required"]["pool_id"][0] == "STRING"
    assert spec["optional"]["profile"][0] == "POOL_PROFILE"
    assert GridImagePool.RETURN_TYPES == ("IMAGE", "MASK", "INT", "INT", "STRING")
    assert GridImagePool.RETURN_NAMES == ("image", "mask", "index", "count", "label")
