"""Case 6: the GridImagePool node, ``IS_CHANGED`` + run, and its store requests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from backends import Store
from poolstore import StoreSet

from .context import Bench
from .data import Item, build_profile, photo_png
from .harness import interleave
from .report import CaseResult, Table, Target, fmt_s, fmt_x

__all__ = ["case_node"]

SLOT_COUNTS = (10, 100, 1000)
NODE_WHY = (
    "A warm run still reads the manifest from S3 twice (in IS_CHANGED and in run: one round trip to "
    "the S3 service each) before it picks the slot; with small images those round trips outweigh "
    "decoding the image."
)
STORES = (("default", "local disk"), ("team", "S3 (moto)"))


class Requests:
    """Requests one call makes: the store's own counters, and for S3 the HTTP
    requests the S3 service received."""

    def __init__(self, b: Bench, store: Store) -> None:
        self.b, self.store = b, store

    def measure(self, fn: Callable[[], Any]) -> dict[str, Any]:
        before = sum(self.store.stats.values())
        remote = self.store.kind == "s3"
        if remote:
            self.b.s3.reset_counts()
        fn()
        out = {"store_ops": sum(self.store.stats.values()) - before}
        if remote:
            counts = self.b.s3.counts()
            out["http"] = sum(v for k, v in counts.items() if k.endswith(".requests"))
        return out


def case_node(b: Bench) -> CaseResult:
    """``IS_CHANGED`` + run on S3 cold / warm and local; requests at 10..1,000 slots."""
    from comfy_nodes.config import use_stores
    from comfy_nodes.nodes import GridImagePool

    res = CaseResult(6, "Node run: GridImagePool `IS_CHANGED` + run")
    res.method = (
        "In the benchmark process, as ComfyUI would call it: `GridImagePool.IS_CHANGED(...)` then "
        f"`GridImagePool().run(...)` for the active slot of the main profile ({b.data.size}² px, with mask; "
        "outputs are torch tensors). S3 cold: the node's local image cache is emptied first; S3 warm: the "
        "image and mask are cached. Requests per `IS_CHANGED` are counted with the store's own counters "
        "(`store.stats`, one per store call) and, for S3, as HTTP requests received by the S3 service."
    )
    cache = b.work / "node-cache"
    previous_env = os.environ.get("POOLSTORE_CACHE_DIR")
    os.environ["POOLSTORE_CACHE_DIR"] = str(cache)
    previous = use_stores(StoreSet(b.stores["default"], {n: s for n, s in b.stores.items() if n != "default"}))
    try:
        _timings(b, res, GridImagePool, cache)
        _request_counts(b, res, GridImagePool)
    finally:
        use_stores(previous)
        if previous_env is None:
            os.environ.pop("POOLSTORE_CACHE_DIR", None)
        else:
            os.environ["POOLSTORE_CACHE_DIR"] = previous_env
    return res


def _node_call(node_cls: Any, pool_id: str) -> dict[str, Any]:
    node_cls.IS_CHANGED(index=-1, pool_id=pool_id)
    image, mask, *_ = node_cls().run(index=-1, pool_id=pool_id)
    if image.shape[1] < 2 or mask.shape[1:] != image.shape[1:3]:
        raise RuntimeError(f"the node answered an unexpected image {tuple(image.shape)} / mask {tuple(mask.shape)}")
    return {}


def _timings(b: Bench, res: CaseResult, node_cls: Any, cache: Any) -> None:
    remote = Requests(b, b.stores["team"])
    s3_id = b.qid("team", b.MAIN)

    def cold() -> dict[str, Any]:
        shutil.rmtree(cache, ignore_errors=True)
        return remote.measure(lambda: _node_call(node_cls, s3_id))

    _node_call(node_cls, b.MAIN)  # imports torch outside the timings
    series = interleave(b.settings.runs * 2, {
        "S3, cold cache": cold,
        "S3, warm cache": lambda: remote.measure(lambda: _node_call(node_cls, s3_id)),
        "local disk": lambda: Requests(b, b.stores["default"]).measure(lambda: _node_call(node_cls, b.MAIN)),
    })
    local = series["local disk"].median()
    rows = [
        [name, fmt_s(s.median()), fmt_x(s.median() / local), f"{s.median('store_ops'):.0f}", _http(s.median("http"))]
        for name, s in series.items()
    ]
    res.tables.append(Table(["IS_CHANGED + run", "median time", "vs local", "store calls", "S3 HTTP requests"], rows))
    ratio = series["S3, warm cache"].median() / local
    ok = ratio <= 1.5
    why = "" if ok else NODE_WHY
    res.targets.append(Target("warm node run on S3 within 1.5x of local", fmt_x(ratio), ok, why))


def _http(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _slot_pools(b: Bench) -> None:
    tiny = b.work / "tiny.png"
    tiny.write_bytes(photo_png(1, 32))
    for store, _ in STORES:
        for n in SLOT_COUNTS:
            build_profile(b.stores[store], f"slots{n}", f"{n} slots", [Item(tiny, None, "")], slots=n)


def _request_counts(b: Bench, res: CaseResult, node_cls: Any) -> None:
    _slot_pools(b)
    rows, constant = [], True
    for store, label in STORES:
        counter = Requests(b, b.stores[store])
        per_size = []
        for n in SLOT_COUNTS:
            qid = b.qid(store, f"slots{n}")
            def call(qid: str = qid) -> dict[str, Any]:
                return counter.measure(lambda: node_cls.IS_CHANGED(index=-1, pool_id=qid))

            series = interleave(b.settings.runs, {"is_changed": call})["is_changed"]
            ops, http = max(series.values("store_ops")), max(series.values("http"), default=None)
            per_size.append((ops, http))
            rows.append([label, f"{n:,}", f"{ops:.0f}", _http(http), fmt_s(series.median())])
        constant &= len(set(per_size)) == 1
    res.tables.append(Table(["store", "slots", "store calls per IS_CHANGED", "S3 HTTP requests", "median time"], rows))
    measured = "same count at every size" if constant else "grows with size"
    res.targets.append(Target("`IS_CHANGED` requests constant in pool size (10 / 100 / 1,000 slots)", measured, constant))
