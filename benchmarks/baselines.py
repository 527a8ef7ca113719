"""The baselines poolstore is measured against: what a user or a naive
implementation would do instead.

* the standard tools on local disk: ``zip -0 -r``, ``unzip``, ``cp -r``;
* a naive export: deflate every object into a temporary zip, then send it;
* naive S3 transfers with boto3: download each object through this process
  and upload it again, one after the other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from backends import Store

__all__ = [
    "zip_stored",
    "unzip",
    "copy_tree",
    "naive_export_to_temp",
    "download_reupload",
    "read_all",
    "upload_folder",
    "delete_prefix",
]


def _run(argv: list[str], cwd: Path | None = None) -> None:
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def zip_stored(parent: Path, folder: str, out: Path) -> None:
    """``zip -0 -r -q out folder`` run in ``parent`` (no compression)."""
    out.unlink(missing_ok=True)
    _run(["zip", "-0", "-r", "-q", str(out), folder], cwd=parent)


def unzip(archive: Path, dest: Path) -> None:
    """``unzip -q -o archive -d dest``."""
    _run(["unzip", "-q", "-o", str(archive), "-d", str(dest)])


def copy_tree(src: Path, dst: Path) -> None:
    """``cp -r src dst``."""
    _run(["cp", "-r", str(src), str(dst)])


def naive_export_to_temp(store: Store, profile_id: str, out: Path) -> int:
    """Deflate every object of the profile into ``out`` (a temporary file the
    caller then sends); returns the zip's size."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for obj in store.list(profile_id):
            zf.writestr(f"pool/{obj.key.split('/', 1)[1]}", store.read(obj.key))
    return out.stat().st_size


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def download_reupload(client: Any, src: tuple[str, str], dst: tuple[str, str]) -> int:
    """Copy every object below ``src`` (bucket, prefix) to ``dst`` by
    downloading it into this process and uploading it again; returns bytes moved."""
    moved = 0
    for key in _keys(client, *src):
        data = client.get_object(Bucket=src[0], Key=key)["Body"].read()
        client.put_object(Bucket=dst[0], Key=dst[1] + key[len(src[1]) :], Body=data)
        moved += len(data)
    return moved


def read_all(client: Any, bucket: str, prefix: str) -> int:
    """GET every object below ``prefix`` and drop the bytes: the floor for
    anything that must read the whole profile from S3."""
    total = 0
    for key in _keys(client, bucket, prefix):
        total += len(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return total


def upload_folder(client: Any, folder: Path, dst: tuple[str, str]) -> int:
    """Upload every file below ``folder`` to ``dst`` (bucket, prefix), one by one."""
    moved = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in sorted(files):
            path = Path(dirpath) / name
            key = dst[1] + path.relative_to(folder).as_posix()
            with open(path, "rb") as f:
                client.put_object(Bucket=dst[0], Key=key, Body=f)
            moved += path.stat().st_size
    return moved


def delete_prefix(client: Any, bucket: str, prefix: str) -> None:
    """Remove every object below ``prefix`` (untimed clean-up between runs)."""
    keys = _keys(client, bucket, prefix)
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def remove_tree(path: Path) -> None:
    """Untimed clean-up of a local folder."""
    shutil.rmtree(path, ignore_errors=True)
