"""Case 5: what the grid transfers and how fast it fills, cold and warm."""

from __future__ import annotations

import json
from typing import Any

from .client import Fetched, fetch_all, get_bytes
from .context import Bench
from .data import build_profile
from .harness import Series, Stopwatch, interleave
from .report import CaseResult, Table, Target, fmt_bytes, fmt_s

__all__ = ["case_grid"]

GRID = "benchgrid"
STORES = (("default", "local disk"), ("team", "S3 (moto)"))
WARM_LIMIT = 1.0


def _grid_pool(b: Bench, store: str) -> str:
    """A pool of ``grid_slots`` images (the main profile when it is that large)."""
    slots = b.settings.grid_slots
    if len(b.data.items) >= slots:
        return b.MAIN
    build_profile(b.stores[store], GRID, "grid", b.data.items, slots=slots)
    return GRID


def _load_grid(b: Bench, qid: str, kind: str, etags: dict[str, str] | None = None) -> dict[str, Any]:
    """What the page does: list the pool, then fetch every slot's picture over
    a browser's connection limit. Times are from the list request on."""
    with Stopwatch() as listing:
        raw = get_bytes(b.url("/grid_pool/list", pool_id=qid))
    doc = json.loads(raw)
    names = [s["image"] for s in doc["slots"]]
    path = "/grid_pool/thumb" if kind == "thumb" else "/grid_pool/image"
    urls = [b.url(path, pool_id=qid, image=n) for n in names]
    headers = [{"If-None-Match": etags[n]} for n in names] if etags else None
    got = fetch_all(urls, b.settings.connections, headers)
    _check(got, 304 if etags else 200)
    if kind == "thumb" and etags is None:
        b.last_etags = {n: f.etag for n, f in zip(names, got)}
    return {
        "seconds": listing.seconds + max(f.seconds for f in got),
        "first": listing.seconds + min(f.seconds for f in got),
        "bytes": len(raw) + sum(f.size for f in got),
        "count": len(got),
    }


def _check(got: list[Fetched], status: int) -> None:
    bad = [f.status for f in got if f.status != status]
    if bad:
        raise RuntimeError(f"the grid got status {bad[0]} for {len(bad)} of {len(got)} requests (expected {status})")


def case_grid(b: Bench) -> CaseResult:
    """Thumbnails vs full images: bytes, time to first and last picture, cold and warm."""
    res = CaseResult(5, "Grid payload and load time")
    res.method = (
        f"A pool of {b.settings.grid_slots} images ({b.data.size}² px) is shown the way the grid page does it: "
        "`GET /grid_pool/list`, then every `GET /grid_pool/thumb` (default size) at once over at most "
        f"{b.settings.connections} keep-alive connections, like a browser. Times run from the list request "
        "to the first / last complete picture. Cold: the server's thumbnail cache is emptied before the run "
        "(thumbnails are made from the stored images). Warm: the cache holds them, the client holds nothing. "
        "Revalidate: the client sends the `ETag`s it has and gets `304`s. Baseline: the same page loading "
        "the full images (`GET /grid_pool/image`)."
    )
    rows, targets = [], []
    for store, label in STORES:
        qid = b.qid(store, _grid_pool(b, store))
        _load_grid(b, qid, "thumb")  # fills the cache and the ETags

        def cold(qid: str = qid) -> dict[str, Any]:
            b.clear_server_cache()
            return _load_grid(b, qid, "thumb")

        series = interleave(b.settings.heavy_runs, {
            "thumbnails, cold cache": cold,
            "thumbnails, warm cache": lambda qid=qid: _load_grid(b, qid, "thumb"),
            "thumbnails, revalidate (304)": lambda qid=qid: _load_grid(b, qid, "thumb", b.last_etags),
            "full images": lambda qid=qid: _load_grid(b, qid, "image"),
        })
        full = series["full images"].median("bytes")
        for name, s in series.items():
            first, last = fmt_s(s.median("first")), fmt_s(s.median())
            rows.append([label, name, first, last, fmt_bytes(s.median("bytes")), _share(s, full)])
        thumbs = series["thumbnails, warm cache"]
        share = thumbs.median("bytes") / full
        measured = f"1/{1 / share:.0f} ({share:.1%})"
        targets.append(Target(f"grid payload ≤ 1/10 of the full images ({label})", measured, share <= 0.1))
        warm = thumbs.median()
        goal = f"warm-cache grid of {b.settings.grid_slots} thumbnails loaded < 1 s on loopback ({label})"
        targets.append(Target(goal, fmt_s(warm), warm < WARM_LIMIT))
    headers = ["store", "load", "first picture", "last picture", "bytes (list + pictures)", "share of full"]
    res.tables.append(Table(headers, rows))
    res.targets = targets
    return res


def _share(s: Series, full: float) -> str:
    return f"{s.median('bytes') / full:.1%}" if full else "-"
