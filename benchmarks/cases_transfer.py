"""Cases 3 and 4: duplicate a profile inside a store, copy it between stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import baselines
from .client import post_json
from .context import Bench
from .harness import Series, Stopwatch, interleave
from .report import CaseResult, Table, Target, fmt_bytes, fmt_s, fmt_x
from .servers import traffic

__all__ = ["case_duplicate", "case_copy"]

NAIVE_S3 = "download + re-upload"
UPLOAD_NOTE = (
    "No target in the issue. Both send every byte to the S3 stand-in, which stores one request at a "
    "time, so both run at moto's upload rate; the route also writes profile.json, the manifest and the "
    "registry entry."
)
BYTES_NOTE = (
    "Bytes through the client are counted at the S3 service (a counter in front of moto sees every "
    "request): body bytes of GET and PUT requests on image keys, whoever sent them. For the routes the "
    "client of S3 is the poolstore server process; for the baselines it is the benchmark process."
)


def _counted(b: Bench, fn: Callable[[], Any], cleanup: Callable[[Any], None]) -> Callable[[], dict[str, Any]]:
    """A run of ``fn`` timed and with its S3 traffic counted; ``cleanup`` untimed after."""

    def run() -> dict[str, Any]:
        b.s3.reset_counts()
        with Stopwatch() as watch:
            result = fn()
        counted = traffic(b.s3.counts())
        cleanup(result)
        return {"seconds": watch.seconds, **counted}

    return run


def _route(b: Bench, path: str, body: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    def call() -> Any:
        return post_json(b.url(path), body)

    def cleanup(answer: Any) -> None:
        post_json(b.url("/grid_pool/profiles/delete"), {"id": answer["profile"]["id"]})

    return call, cleanup


def _s3_naive(b: Bench, src: tuple[str, str], dst_store: str) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    dst = b.s3_location(dst_store, "naivecopy")
    return (
        lambda: baselines.download_reupload(b.client, src, dst),
        lambda _: baselines.delete_prefix(b.client, *dst),
    )


def _rows(label: str, series: dict[str, Series], ours: str) -> list[list[str]]:
    route = series[ours].median()
    rows = []
    for name, s in series.items():
        med = s.median()
        speed = f"{med / route:.2f}x" if med and route and name != ours else "1.00x"
        requests, moved = f"{s.median('requests') or 0:.0f}", fmt_bytes(s.median("image_bytes") or 0)
        rows.append([label, name, fmt_s(med), speed, requests, moved])
    return rows


HEADERS = ["operation", "contender", "median time", "poolstore speed-up", "S3 requests", "image bytes through a client"]


def _s3_targets(label: str, series: dict[str, Series], ours: str, base: str, moto: dict[str, Series]) -> list[Target]:
    speed = series[base].median() / series[ours].median()
    moved = max(series[ours].values("image_bytes"), default=0)
    share = moto["CopyObject"].median() / moto["GET + PUT"].median()
    why = SPEED_WHY.format(copy=f"{share:.0%}", cap=f"{1 / share:.1f}x") if speed < 3.0 else ""
    return [
        Target(f"{label} ≥ 3x faster than download-and-re-upload", fmt_x(speed), speed >= 3.0, why),
        Target(f"{label}: zero image bytes through the client", fmt_bytes(moved), moved == 0),
    ]


SPEED_WHY = (
    "A CopyObject is not cheap on this S3 stand-in: moto rewrites the whole object and serves one "
    "request at a time, so one copy costs it {copy} of a GET + PUT of the same object (moto table in "
    "case 3), which limits copies sent one by one to a {cap} lead; sending 4 at once gains little "
    "where moto serves one request at a time. On S3 itself a copy does not pass through the caller."
)


def moto_costs(b: Bench, count: int = 10) -> dict[str, Series]:
    """Per-object cost of CopyObject vs GET + PUT on the S3 stand-in, with boto3."""
    bucket, prefix = b.s3_location("team", b.MAIN)
    keys = [f"{prefix}img_{i + 1:04d}.png" for i in range(min(count, len(b.data.items)))]
    scratch = b.s3_location("team", "mototest")[1]

    def copy() -> dict[str, Any]:
        for k in keys:
            source = {"Bucket": bucket, "Key": k}
            b.client.copy_object(Bucket=bucket, Key=scratch + k.rsplit("/", 1)[1], CopySource=source)
        return {}

    def get_put() -> dict[str, Any]:
        for k in keys:
            body = b.client.get_object(Bucket=bucket, Key=k)["Body"].read()
            b.client.put_object(Bucket=bucket, Key=scratch + k.rsplit("/", 1)[1], Body=body)
        return {}

    out = interleave(b.settings.runs, {"CopyObject": copy, "GET + PUT": get_put})
    baselines.delete_prefix(b.client, bucket, scratch)
    for s in out.values():
        s.samples = [{"seconds": x["seconds"] / len(keys)} for x in s.samples]
    return out


def case_duplicate(b: Bench) -> CaseResult:
    """``POST /grid_pool/profiles/duplicate`` vs ``cp -r`` (local) and download-and-re-upload (S3)."""
    res = CaseResult(3, "Duplicate a profile (same store)")
    res.method = (
        f"The main profile ({fmt_bytes(b.main_bytes)}) is duplicated through the route; clean-up (deleting "
        "the copy) is not timed. Baselines: `cp -r` of its folder on local disk; on S3 a boto3 script that "
        "downloads each object and uploads it under a new prefix. " + BYTES_NOTE
    )
    runs = b.settings.heavy_runs
    call, cleanup = _route(b, "/grid_pool/profiles/duplicate", {"id": b.MAIN, "name": "dup"})
    copy_dir = b.local_root / "cpcopy"
    local = interleave(runs, {
        "route": _counted(b, call, cleanup),
        "cp -r": _counted(
            b, lambda: baselines.copy_tree(b.local_root / b.MAIN, copy_dir), lambda _: baselines.remove_tree(copy_dir)
        ),
    })
    call, cleanup = _route(b, "/grid_pool/profiles/duplicate", {"id": b.qid("team", b.MAIN), "name": "dup"})
    naive, naive_cleanup = _s3_naive(b, b.s3_location("team", b.MAIN), "team")
    remote = interleave(runs, {"route": _counted(b, call, cleanup), NAIVE_S3: _counted(b, naive, naive_cleanup)})
    res.tables.append(Table(HEADERS, _rows("local disk", local, "route") + _rows("S3 (moto)", remote, "route")))
    cp_ratio = local["route"].median() / local["cp -r"].median()
    res.notes.append(
        f"Local disk: the route takes {cp_ratio:.2f}x the time of `cp -r` (no target; it also copies through "
        "temporary files and commits the registry)."
    )
    b.moto = moto_costs(b)
    res.tables.append(Table(
        ["S3 stand-in, per object", "median time"],
        [[name, fmt_s(s.median())] for name, s in b.moto.items()],
        f"What one request costs moto for a {b.data.size}² px image (boto3, one at a time)",
    ))
    res.targets = _s3_targets("S3 duplicate", remote, "route", NAIVE_S3, b.moto)
    return res


def case_copy(b: Bench) -> CaseResult:
    """``POST /grid_pool/profiles/copy`` local → S3 and bucket → bucket vs boto3 baselines."""
    res = CaseResult(4, "Copy a profile between stores (local → S3, bucket → bucket)")
    res.method = (
        f"The main profile ({fmt_bytes(b.main_bytes)}) is copied through the route to another store; the "
        "copy is deleted after each run (not timed). Both buckets are on the same S3 endpoint with the same "
        "credentials, so bucket → bucket can stay server-side. Baselines: a boto3 script uploading each file "
        "of the local folder one by one; for bucket → bucket, downloading each object and uploading it "
        "into the other bucket. " + BYTES_NOTE
    )
    runs = b.settings.heavy_runs
    call, cleanup = _route(b, "/grid_pool/profiles/copy", {"id": b.MAIN, "to_store": "team", "name": "copied"})
    dst = b.s3_location("team", "naivecopy")
    upload = (
        lambda: baselines.upload_folder(b.client, b.local_root / b.MAIN, dst),
        lambda _: baselines.delete_prefix(b.client, *dst),
    )
    up = interleave(runs, {"route": _counted(b, call, cleanup), "boto3 upload": _counted(b, *upload)})
    body = {"id": b.qid("team", b.MAIN), "to_store": "team2", "name": "copied"}
    call, cleanup = _route(b, "/grid_pool/profiles/copy", body)
    naive, naive_cleanup = _s3_naive(b, b.s3_location("team", b.MAIN), "team2")
    across = interleave(runs, {"route": _counted(b, call, cleanup), NAIVE_S3: _counted(b, naive, naive_cleanup)})
    res.tables.append(Table(HEADERS, _rows("local → S3", up, "route") + _rows("bucket → bucket", across, "route")))
    speed = up["boto3 upload"].median() / up["route"].median()
    res.targets.append(Target("local → S3 copy vs a boto3 upload of each file", fmt_x(speed), None, UPLOAD_NOTE))
    moto = getattr(b, "moto", None) or moto_costs(b)
    res.targets += _s3_targets("bucket → bucket copy", across, "route", NAIVE_S3, moto)
    return res
