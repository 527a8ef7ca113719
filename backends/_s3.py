"""S3 store (AWS, MinIO, R2, any S3-compatible endpoint) on s3fs.

Commit points
-------------
* ``write``: the single ``PutObject`` (or ``CompleteMultipartUpload`` when
  streamed through ``open_write``); S3 never shows a partial object.
* ``write_if``: ``PutObject`` with ``If-Match: <etag>`` or ``If-None-Match: *``.
  A 412 ``PreconditionFailed`` or 409 ``ConditionalRequestConflict`` becomes
  :class:`PreconditionFailedError`.

The filesystem is made with ``use_listings_cache=False`` and
``skip_instance_cache=True``: another machine's writes must be visible to the
next decision, and no other code shares this instance. Listings are made
here with ``ListObjectsV2`` directly (one request a page, never a cache).
"""

from __future__ import annotations

import builtins
import contextlib
import io
from typing import IO, Any

from fsspec.asyn import sync

from ._errors import KeyNotFoundError, PreconditionFailedError, translate_errors
from ._fsspec import FsspecStore
from ._keys import check_prefix, is_hidden, is_listed
from ._store import Capabilities, ObjectInfo, Store

__all__ = ["S3Store"]


class S3Store(FsspecStore):
    """Objects under ``s3://bucket/prefix``."""

    kind = "s3"
    capabilities = Capabilities(conditional_write=True, server_side_copy=True, atomic_replace=True)

    def __init__(self, fs: Any, root: str, url: str, options: dict[str, Any]) -> None:
        super().__init__(fs, root, url)
        self._identity = _identity(options)

    def _bucket_key(self, key: str) -> tuple[str, str]:
        bucket, _, rest = self.path(key).partition("/")
        return bucket, rest

    def _call(self, method: str, **kwargs: Any) -> Any:
        return sync(self.fs.loop, self.fs._call_s3, method, **kwargs)

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        self._count("read")
        bucket, name = self._bucket_key(key)

        async def fetch() -> tuple[bytes, str]:
            resp = await self.fs._call_s3("get_object", Bucket=bucket, Key=name)
            async with resp["Body"] as body:
                data = await body.read()
            return data, resp["ETag"].strip('"')

        with translate_errors(key):
            data, etag = sync(self.fs.loop, fetch)
        return bytes(data), str(etag)

    def _listing_prefix(self, prefix: str) -> tuple[str, str]:
        """Bucket and the object-name prefix (ending in ``/``) of a folder key."""
        bucket, _, root = self.root.partition("/")
        folder = check_prefix(prefix)
        parts = [p for p in (root, folder) if p]
        return bucket, "".join(f"{p}/" for p in parts)

    def _list_pages(self, prefix: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every page of ``ListObjectsV2`` under a folder key (one request a page)."""
        bucket, start = self._listing_prefix(prefix)

        async def pages() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            token = None
            while True:
                more: dict[str, Any] = {"ContinuationToken": token} if token else {}
                page = await self.fs._call_s3("list_objects_v2", Bucket=bucket, Prefix=start, **kwargs, **more)
                out.append(page)
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    return out

        with translate_errors(prefix):
            found: list[dict[str, Any]] = sync(self.fs.loop, pages)
        return found

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        self._count("list")
        cut = len(self._listing_prefix("")[1])
        out = []
        for page in self._list_pages(prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][cut:]
                if key and not key.endswith("/") and is_listed(key):
                    out.append(ObjectInfo(key, int(obj.get("Size") or 0), obj["LastModified"].timestamp()))
        return sorted(out, key=lambda o: o.key)

    def list_dirs(self, prefix: str = "") -> builtins.list[str]:
        self._count("list")
        start = len(self._listing_prefix(prefix)[1])
        names = {
            common["Prefix"][start:].rstrip("/")
            for page in self._list_pages(prefix, Delimiter="/")
            for common in page.get("CommonPrefixes", [])
        }
        return sorted(n for n in names if n and not is_hidden(n))

    def _reader(self, key: str) -> IO[bytes]:
        """A reader over one streamed ``GetObject``: one request per object, and
        memory bounded by the read size, whatever the object's size."""
        bucket, name = self._bucket_key(key)
        with translate_errors(key):
            resp = self._call("get_object", Bucket=bucket, Key=name)
        return io.BufferedReader(_BodyReader(self.fs.loop, resp["Body"], key), buffer_size=1 << 20)

    def write(self, key: str, data: bytes) -> str:
        self._count("write")
        bucket, name = self._bucket_key(key)
        with translate_errors(key):
            resp = self._call("put_object", Bucket=bucket, Key=name, Body=data)
        return str(resp.get("ETag", "")).strip('"')

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._count("write")
        bucket, name = self._bucket_key(key)
        cond = {"IfNoneMatch": "*"} if version is None else {"IfMatch": f'"{version}"'}
        try:
            with translate_errors(key):
                resp = self._call("put_object", Bucket=bucket, Key=name, Body=data, **cond)
        except KeyNotFoundError as exc:
            # If-Match on a key deleted meanwhile answers 404: the version is gone.
            raise PreconditionFailedError(f"{key} was deleted meanwhile") from exc
        return str(resp.get("ETag", "")).strip('"')

    def _make_parent(self, path: str) -> None:
        """Folders are implicit on S3: nothing to make, no request to send."""

    def copy(self, src: str, dst: str) -> None:
        self._count("copy")
        with translate_errors(src):
            self._copy_object(self.path(src), self.path(dst))

    def _copy_object(self, src_path: str, dst_path: str) -> None:
        """One ``CopyObject`` request; objects too large for it (over 5 GB)
        go through s3fs's managed copy."""
        try:
            sync(self.fs.loop, self.fs._copy_basic, src_path, dst_path)
        except (FileNotFoundError, PermissionError):
            raise
        except (OSError, ValueError):
            self.fs.copy(src_path, dst_path)

    def delete_many(self, keys: builtins.list[str]) -> None:
        if not keys:
            return
        self._count("delete")
        with translate_errors(keys[0]):
            self.fs.rm([self.path(k) for k in keys])

    def same_backend(self, other: Store) -> bool:
        return isinstance(other, S3Store) and other._identity == self._identity

    def copy_from(self, other: Store, src: str, dst: str) -> None:
        if not isinstance(other, S3Store) or not self.same_backend(other):
            return super().copy_from(other, src, dst)
        self._count("copy")
        with translate_errors(src):
            self._copy_object(other.path(src), self.path(dst))


class _BodyReader(io.RawIOBase):
    """The streaming body of a ``GetObject`` answer as a blocking raw reader."""

    def __init__(self, loop: Any, body: Any, key: str) -> None:
        self._loop = loop
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with translate_errors(self._key):
            data = sync(self._loop, self._body.read, len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


def _identity(options: dict[str, Any]) -> tuple[Any, ...]:
    client = options.get("client_kwargs") or {}
    return (
        options.get("endpoint_url") or client.get("endpoint_url"),
        options.get("key"),
        options.get("secret"),
        options.get("profile"),
        options.get("anon", False),
    )
