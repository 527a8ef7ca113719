"""Cases 1 and 2: export and import of a profile through the HTTP routes."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import baselines
from .client import download, post_json, upload_file
from .context import BOUND_MB, Bench
from .harness import Series, Stopwatch, interleave
from .servers import AppServer
from .report import CaseResult, Table, Target, fmt_bytes, fmt_mb, fmt_s, fmt_x

__all__ = ["case_export", "case_import"]

STORES = (("default", "local disk"), ("team", "S3 (moto)"))
MEMORY_RUNS = 2
NAIVE = "naive route: deflate to a temp file, then send"
READ_ONLY = "only reading the objects (boto3 GET each)"
S3_EXPORT_WHY = (
    "Reading the profile's objects from the S3 stand-in alone takes {read} ({share:.0%} of the route's "
    "time; row 'only reading the objects'), so on this S3 no exporter could be more than {cap:.1f}x "
    "faster than the deflate baseline, which pays the same reads."
)
IMPORT_MEMORY_WHY = (
    "The import bounds the bytes it has in flight, but an S3 upload holds its object in memory more "
    "than once (body, checksums, multipart buffer), so the peak follows the size of the largest images, "
    "not the size of the profile: compare the rows."
)
FRESH_CAPTION = (
    "Server memory while {what} a large profile: a new server process each run, warmed up by a "
    "one-image export and import, peak RSS growth above its RSS before the request"
)
IMPORT_WHY = (
    "Import does more than unzip: it decodes every image to reject damaged or hostile files before "
    "anything becomes visible, and commits through the store (atomic writes, registry update); "
    "unzip only copies bytes."
)


def _ratio(baseline: float | None, ours: float | None) -> float | None:
    return baseline / ours if baseline and ours else None


def _mbps(nbytes: int, seconds: float | None) -> str:
    return f"{nbytes / seconds / 1e6:.0f} MB/s" if seconds else "-"


def _check_export(path: Path, expected_images: int) -> None:
    """The route answered a real archive of the whole profile (not an error page)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    images = [n for n in names if n.startswith("pool/img_") and ".mask." not in n]
    if "profile_meta.json" not in names or len(images) != expected_images:
        raise RuntimeError(f"the export route answered an incomplete archive ({len(images)} images)")


def _export_via(b: Bench, app: AppServer, store: str, profile_id: str, out: Path) -> int:
    return download(b.url("/grid_pool/profiles/export", app, id=b.qid(store, profile_id)), out)


def _import_via(b: Bench, app: AppServer, store: str, archive: Path) -> str:
    """Import ``archive`` through ``app``; returns the new profile's (qualified) id."""
    fields = {"name": "imported"} if store == "default" else {"name": "imported", "store": store}
    answer = upload_file(b.url("/grid_pool/profiles/import", app), archive, fields)
    return answer["profile"]["id"]


def _route_export(b: Bench, store: str, profile_id: str, out: Path) -> Any:
    def run() -> dict[str, Any]:
        m: dict[str, Any] = {}
        with b.app.memory.growth(m):
            m["bytes"] = _export_via(b, b.app, store, profile_id, out)
        return m

    return run


def on_fresh_server(b: Bench, runs: int, act: Callable[[AppServer], None]) -> Series:
    """``act(server)`` timed on a new server process each run, after a warm-up
    export and import of a one-image profile; the peak RSS growth is measured
    above the warmed-up server's RSS."""
    warm_zip = b.work / "warm.zip"

    def run() -> dict[str, Any]:
        app = b.fresh_app()
        try:
            _export_via(b, app, "default", b.TINY, warm_zip)
            post_json(b.url("/grid_pool/profiles/delete", app), {"id": _import_via(b, app, "default", warm_zip)})
            m: dict[str, Any] = {}
            with Stopwatch() as watch, app.memory.growth(m):
                act(app)
            return {**m, "seconds": watch.seconds}
        finally:
            app.stop()

    return interleave(runs, {"fresh": run})["fresh"]


def _naive_export(b: Bench, store: str, profile_id: str, out: Path) -> Any:
    def run() -> dict[str, Any]:
        m: dict[str, Any] = {}
        with b.app.memory.growth(m):
            m["bytes"] = download(b.url("/bench/naive_export", store=store, id=profile_id), out)
        return m

    return run


def case_export(b: Bench) -> CaseResult:
    """Export via ``GET /grid_pool/profiles/export`` vs ``zip -0 -r`` and a naive deflate-to-temp."""
    res = CaseResult(1, "Export a profile (streamed zip through the HTTP route)")
    res.method = (
        f"The profile ({len(b.data.items)} images of {b.data.size}² px with masks, {fmt_bytes(b.main_bytes)}) "
        "is downloaded from the running server into a file on the same disk. Baselines: `zip -0 -r` of the "
        "profile's folder (local disk only) and a naive route that deflates the profile into a temporary zip "
        "and sends it when complete. Server memory: growth of the server process's peak RSS (VmHWM, reset "
        "before each request) above its RSS before the request."
    )
    out = b.work / "export.zip"
    rows, targets = [], []
    for store, label in STORES:
        contenders = {
            "route": _route_export(b, store, b.MAIN, out),
            NAIVE: _naive_export(b, store, b.MAIN, out),
        }
        if store == "default":
            contenders["zip -0 -r"] = lambda: baselines.zip_stored(b.local_root, b.MAIN, out)
        else:
            contenders[READ_ONLY] = lambda: {"bytes": baselines.read_all(b.client, *b.s3_location(store, b.MAIN))}
        contenders["route"]()
        _check_export(out, len(b.data.items))
        series = interleave(b.settings.heavy_runs, contenders)
        route = series["route"].median()
        for name, s in series.items():
            med = s.median()
            speed_up = fmt_x(_ratio(med, route)) if name != "route" else "1.00x"
            growth = fmt_mb(s.median("peak_growth_mb"))
            rows.append([label, name, fmt_s(med), _mbps(b.main_bytes, med), speed_up, growth])
        naive_x = _ratio(series[NAIVE].median(), route)
        target = _target(f"export ≥ 3x the deflate-to-temp baseline ({label})", naive_x, 3.0, "throughput ratio")
        if target.passed is False and READ_ONLY in series:
            read = series[READ_ONLY].median()
            target.why = S3_EXPORT_WHY.format(read=fmt_s(read), share=read / route, cap=series[NAIVE].median() / read)
        targets.append(target)
        if "zip -0 -r" in series:
            zip_x = _ratio(series["zip -0 -r"].median(), route)
            targets.append(_target("export throughput ≥ 0.8x `zip -0 -r` (local disk)", zip_x, 0.8, "throughput ratio"))
    headers = ["store", "contender", "median time", "throughput", "route speed-up", "server peak RSS growth"]
    res.tables.append(Table(headers, rows, "Main profile"))
    _export_memory(b, res, targets)
    res.targets = targets
    return res


def _target(goal: str, value: float | None, at_least: float, what: str) -> Target:
    if value is None:
        return Target(goal, "-", None, f"{what} not measured")
    return Target(goal, fmt_x(value), value >= at_least)


def _export_memory(b: Bench, res: CaseResult, targets: list[Target]) -> None:
    rows = []
    for store, label in STORES:
        for kind, pid, size in b.memory_profiles(store):
            out = b.work / "big-export.zip"
            series = on_fresh_server(b, MEMORY_RUNS, lambda app, s=store, p=pid: _export_via(b, app, s, p, out))
            worst = max(series.values("peak_growth_mb"), default=None)
            rows.append([label, kind, *_memory_cells(size, series), fmt_s(series.median())])
            ok = worst < BOUND_MB if worst is not None else None
            goal = f"export server peak RSS growth < {BOUND_MB} MiB, {fmt_bytes(size)} profile of {kind} ({label})"
            targets.append(Target(goal, fmt_mb(worst), ok))
    headers = ["store", "profile", "size", "size / bound", "median RSS growth", "worst RSS growth", "median time"]
    res.tables.append(Table(headers, rows, FRESH_CAPTION.format(what="exporting")))


def _memory_cells(size: int, series: Series) -> list[str]:
    """Size, size / bound, median and worst peak RSS growth."""
    worst = max(series.values("peak_growth_mb"), default=None)
    ratio = f"{size / 2**20 / BOUND_MB:.1f}x"
    return [fmt_bytes(size), ratio, fmt_mb(series.median("peak_growth_mb")), fmt_mb(worst)]


def case_import(b: Bench) -> CaseResult:
    """Import via ``POST /grid_pool/profiles/import`` vs ``unzip`` (local) and unzip+upload (S3)."""
    res = CaseResult(2, "Import a profile (zip upload through the HTTP route)")
    res.method = (
        "The zip exported by the route in case 1 is uploaded as multipart to the running server, which "
        "spools it, validates every entry (paths, sizes, image decoding, manifest) and stores it under a "
        "fresh id, committing with the registry entry. Baselines: `unzip` into a folder on the same disk; "
        "for S3, `unzip` then a boto3 upload of each file. Clean-up between runs is not timed."
    )
    archive = b.work / "import.zip"
    download(b.url("/grid_pool/profiles/export", id=b.MAIN), archive)
    size = archive.stat().st_size
    rows, targets = [], []
    for store, label in STORES:
        contenders = {
            "route": _route_import(b, store, archive),
            _baseline_name(store): _unzip_baseline(b, store, archive),
        }
        series = interleave(b.settings.heavy_runs, contenders)
        route = series["route"].median()
        base_name = _baseline_name(store)
        base = series[base_name].median()
        for name, s in series.items():
            rows.append([label, name, fmt_s(s.median()), _mbps(size, s.median()), fmt_mb(s.median("peak_growth_mb"))])
        ratio = route / base if route and base else None
        if store == "default":
            ok = ratio is not None and ratio <= 1.3
            why = "" if ok else IMPORT_WHY
            targets.append(Target("import time ≤ 1.3x `unzip` (local disk)", fmt_x(ratio), ok if ratio else None, why))
        else:
            res.notes.append(f"S3: the route takes {fmt_x(ratio)} the time of unzip + boto3 upload (no target).")
    headers = ["store", "contender", "median time", "throughput (zip bytes)", "server peak RSS growth"]
    res.tables.append(Table(headers, rows, f"Zip of {fmt_bytes(size)}"))
    _import_memory(b, res, targets)
    res.targets = targets
    return res


def _baseline_name(store: str) -> str:
    return "unzip" if store == "default" else "unzip + boto3 upload"


def _route_import(b: Bench, store: str, archive: Path) -> Any:
    def run() -> dict[str, Any]:
        m: dict[str, Any] = {}
        with Stopwatch() as watch, b.app.memory.growth(m):
            made = _import_via(b, b.app, store, archive)
        post_json(b.url("/grid_pool/profiles/delete"), {"id": made})
        return {**m, "seconds": watch.seconds}

    return run


def _import_memory(b: Bench, res: CaseResult, targets: list[Target]) -> None:
    rows = []
    for store, label in STORES:
        for kind, pid, _size in b.memory_profiles(store):
            archive = b.work / "big-import.zip"
            _export_via(b, b.app, store, pid, archive)

            def act(app: AppServer, store: str = store, archive: Path = archive) -> None:
                post_json(b.url("/grid_pool/profiles/delete", app), {"id": _import_via(b, app, store, archive)})

            series = on_fresh_server(b, MEMORY_RUNS, act)
            worst = max(series.values("peak_growth_mb"), default=None)
            zip_size = archive.stat().st_size
            rows.append([label, kind, *_memory_cells(zip_size, series)])
            ok = worst < BOUND_MB if worst is not None else None
            why = "" if ok is not False else IMPORT_MEMORY_WHY
            goal = f"import server peak RSS growth bounded (< {BOUND_MB} MiB), {fmt_bytes(zip_size)} zip of {kind} ({label})"
            targets.append(Target(goal, fmt_mb(worst), ok, why))
    headers = ["store", "profile", "zip size", "size / bound", "median RSS growth", "worst RSS growth"]
    res.tables.append(Table(headers, rows, FRESH_CAPTION.format(what="importing")))


def _unzip_baseline(b: Bench, store: str, archive: Path) -> Any:
    dest = b.work / "unzipped"

    def run() -> dict[str, Any]:
        baselines.remove_tree(dest)
        with Stopwatch() as watch:
            baselines.unzip(archive, dest)
            if store != "default":
                baselines.upload_folder(b.client, dest, b.s3_location(store, "naiveimport"))
        if store != "default":
            baselines.delete_prefix(b.client, *b.s3_location(store, "naiveimport"))
        baselines.remove_tree(dest)
        return {"seconds": watch.seconds}

    return run
