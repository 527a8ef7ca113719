"""Export memory bound: exporting a profile far larger than the bound must not
grow the exporting process's peak RSS by more than the bound.

Generates at least ``--mb`` MB of random-noise PNGs (they do not compress) in
a local store (and with ``--s3`` also copies them to a moto S3 server run by
this parent process), then exports in a child process to a sink that only
counts bytes (and, with ``--s3``, also copies the profile from S3 to local
disk, streamed on four threads). The child reports its peak RSS (``VmHWM``)
before and after; the growth is the figure. Exit status 1 if any growth exceeds
``--limit-mb``. ``--import`` also reports an import of the exported zip, which
is not held to the bound: validation decodes each image whole, so its memory
follows the largest image, not the profile.

Usage::

    python benchmarks/export_memory.py [--mb 220] [--limit-mb 64] [--s3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_SIDE = 1024  # default: 1024 x 1024 RGB noise, about 3.1 MB per PNG


def _status_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in kB (``VmHWM``: peak RSS, ``VmRSS``: now)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class _CountingSink:
    """Discards what it is given; counts it."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


def child(job: dict) -> None:
    """Run one job (an export, or with ``"copy_to"`` a streamed copy) and print
    the RSS figures as JSON."""
    import backends
    from poolstore.archive import export_profile, import_profile
    from poolstore.registry import Registry
    from poolstore.transfer import copy_profile

    store = backends.open_store(job["url"], job["options"])
    Registry(store).get(job["profile"])  # warm up: imports, connections, first requests
    dst = backends.open_store(job["copy_to"]) if job.get("copy_to") else None
    before_hwm, before_rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    started = time.perf_counter()
    if job.get("import_from"):
        entry = import_profile(store, job["import_from"], new_id="imported")
        written = sum(o.size for o in store.list(entry["id"]))
    elif dst is None:
        written = export_profile(store, job["profile"], _CountingSink())
    else:
        copy_profile(store, job["profile"], dst, new_id="copied", max_workers=4)
        written = sum(o.size for o in dst.list("copied"))
    seconds = time.perf_counter() - started
    after_hwm = _status_kb("VmHWM")
    print(json.dumps({
        "bytes": written, "seconds": seconds, "before_hwm_kb": before_hwm,
        "before_rss_kb": before_rss, "after_hwm_kb": after_hwm, "growth_kb": after_hwm - before_hwm,
    }))


def _noise_png(side: int) -> bytes:
    import io

    from PIL import Image

    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def make_profile(store, megabytes: int, side: int = _SIDE) -> tuple[str, int, int]:
    """A profile of noise PNGs totalling at least ``megabytes`` MB: (id, images, bytes)."""
    from poolstore import Pool, Registry, new_id

    pid = new_id()
    Registry(store).create(pid, "memory benchmark")
    pool, total, count = Pool(store, pid), 0, 0
    while total < megabytes * 1_000_000:
        data = _noise_png(side)
        pool.add([data])
        total += len(data)
        count += 1
    return pid, count, total


def run_child(url: str, options: dict, profile_id: str, copy_to: str | None = None, import_from: str | None = None) -> dict:
    job = {"url": url, "options": options, "profile": profile_id, "copy_to": copy_to, "import_from": import_from}
    cmd = [sys.executable, __file__, "--child", json.dumps(job)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"the export child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(label: str, result: dict, limit_mb: float) -> bool:
    growth_mb = result["growth_kb"] / 1024
    ok = growth_mb <= limit_mb
    print(
        f"{label:<14} {result['bytes'] / 1e6:7.1f} MB in {result['seconds']:5.1f} s; "
        f"peak RSS {result['before_hwm_kb'] / 1024:6.1f} -> {result['after_hwm_kb'] / 1024:6.1f} MiB, "
        f"growth {growth_mb:5.1f} MiB" + (f" (bound {limit_mb:.0f} MiB): {'ok' if ok else 'OVER'}" if limit_mb != float("inf") else "")
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=220, help="profile size to generate, MB (default 220)")
    parser.add_argument("--limit-mb", type=float, default=64.0, help="allowed peak RSS growth, MiB (default 64)")
    parser.add_argument("--side", type=int, default=_SIDE, help=f"image width and height (default {_SIDE})")
    parser.add_argument("--import", dest="import_too", action="store_true",
                        help="also report the peak RSS growth of importing the exported zip")
    parser.add_argument("--s3", action="store_true", help="also export from S3 (a moto server in this process)")
    args = parser.parse_args()

    import backends
    from poolstore import new_id
    from poolstore.archive import export_profile
    from poolstore.transfer import copy_profile

    ok = True
    with tempfile.TemporaryDirectory(prefix="export-memory-") as work:
        local = backends.open_store(os.path.join(work, "store"))
        started = time.perf_counter()
        pid, count, total = make_profile(local, args.mb, args.side)
        print(f"profile: {count} noise PNGs, {total / 1e6:.1f} MB (made in {time.perf_counter() - started:.0f} s)")
        ok &= _report("local export", run_child(local.root, {}, pid), args.limit_mb)
        if args.import_too:
            archive = os.path.join(work, "profile.zip")
            with open(archive, "wb") as f:
                export_profile(local, pid, f)
            _report("local import", run_child(local.root, {}, pid, import_from=archive), float("inf"))
        if args.s3:
            sys.path.insert(0, str(ROOT / "tests"))
            from support import S3TestServer

            server = S3TestServer()
            server.start()
            try:
                url, options = f"s3://{server.new_bucket()}/pools", server.storage_options()
                remote = backends.open_store(url, options)
                copied = copy_profile(local, pid, remote, new_id=new_id())
                ok &= _report("s3 export", run_child(url, options, copied["id"]), args.limit_mb)
                target = os.path.join(work, "copy")
                ok &= _report("s3->local copy", run_child(url, options, copied["id"], target), args.limit_mb)
            finally:
                server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
    else:
        raise SystemExit(main())
