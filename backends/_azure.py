"""Azure Blob Storage store (``az://container/prefix``, ``abfs://``, ``abfss://``) on adlfs.

Requests go through the asynchronous ``azure-storage-blob`` client that the
adlfs filesystem holds (one connection pool, run on fsspec's I/O loop); the
filesystem itself serves streamed reads and writes.

Commit points
-------------
* ``write``: one Put Blob; Azure never shows a partial blob.
* ``write_if``: Put Blob with ``If-Match: <etag>`` or, for a create,
  ``If-None-Match: *``. A 412 ``ConditionNotMet`` (or 409 ``BlobAlreadyExists``)
  becomes :class:`PreconditionFailedError`.
* ``open_write``: Put Block List when the stream closes; a stream that fails
  commits nothing (Azure drops the staged blocks, a week later).
* ``copy`` / ``copy_from`` a store of the same account: Copy Blob, waited for
  until it is no longer pending.

Listings are made here with List Blobs (one request a page, never a cache);
the filesystem is made with ``use_listings_cache=False`` and
``skip_instance_cache=True`` all the same.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fsspec.asyn import sync

from ._errors import KeyNotFoundError, PreconditionFailedError, StoreIOError, translate_errors
from ._fsspec import FsspecStore
from ._keys import check_prefix, is_hidden, is_listed
from ._store import Capabilities, ObjectInfo, Store

__all__ = ["AzureStore"]

T = TypeVar("T")

_BATCH = 256  # blobs per Blob Batch request (the service takes at most 256)
_COPY_WAIT = 600.0  # seconds a pending server-side copy may take
# Blob metadata that marks a folder (hierarchical namespace accounts, adlfs).
_FOLDER_MARKS = ("hdi_isfolder", "is_directory")


class AzureStore(FsspecStore):
    """Objects under ``az://container/prefix`` of one storage account.

    Parameters
    ----------
    fs
        The adlfs ``AzureBlobFileSystem``, made for this store alone.
    root
        ``container`` or ``container/prefix``.
    url
        The URL as shown to people.

    Notes
    -----
    Versions are the blobs' ETags (without quotes). Closing the store closes
    the filesystem's service client.
    """

    kind = "azure"
    capabilities = Capabilities(conditional_write=True, server_side_copy=True, atomic_replace=True)

    def __init__(self, fs: Any, root: str, url: str) -> None:
        super().__init__(fs, root, url)
        self._identity = _identity(fs)

    # -- plumbing --------------------------------------------------------------
    def _run(self, fn: Callable[[], Awaitable[T]]) -> T:
        result: T = sync(self.fs.loop, fn)
        return result

    def _container_blob(self, key: str) -> tuple[str, str]:
        container, _, name = self.path(key).partition("/")
        return container, name

    def _blob(self, key: str) -> Any:
        container, name = self._container_blob(key)
        return self.fs.service_client.get_blob_client(container, name)

    def _container(self) -> Any:
        return self.fs.service_client.get_container_client(self.root.partition("/")[0])

    def _name_prefix(self, prefix: str) -> str:
        """The blob-name prefix (ending in ``/``, or empty) of a folder key."""
        root = self.root.partition("/")[2]
        folder = check_prefix(prefix)
        return "".join(f"{p}/" for p in (root, folder) if p)

    # -- reads -----------------------------------------------------------------
    def read_versioned(self, key: str) -> tuple[bytes, str]:
        self._count("read")
        blob = self._blob(key)

        async def fetch() -> tuple[bytes, str]:
            async with blob:
                download = await blob.download_blob()
                data = await download.readall()
            return bytes(data), str(download.properties.etag).strip('"')

        with translate_errors(key):
            return self._run(fetch)

    def _properties(self, key: str) -> Any:
        blob = self._blob(key)

        async def properties() -> Any:
            async with blob:
                return await blob.get_blob_properties()

        with translate_errors(key):
            return self._run(properties)

    def exists(self, key: str) -> bool:
        self._count("exists")
        try:
            props = self._properties(key)
        except KeyNotFoundError:
            return False
        return not _is_folder(props)

    def size(self, key: str) -> int:
        self._count("info")
        return int(self._properties(key).size)

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        self._count("list")
        cut = len(self._name_prefix(""))
        out = []
        for blob in self._blobs(prefix):
            key = blob.name[cut:]
            if key and not key.endswith("/") and is_listed(key):
                out.append(ObjectInfo(key, int(blob.size or 0), blob.last_modified.timestamp()))
        return sorted(out, key=lambda o: o.key)

    def _blobs(self, prefix: str) -> builtins.list[Any]:
        """Every blob below a folder key (List Blobs, one request a page),
        folder markers left out."""
        start = self._name_prefix(prefix)
        container = self._container()

        async def blobs() -> builtins.list[Any]:
            async with container:
                found = [b async for b in container.list_blobs(name_starts_with=start, include=["metadata"])]
            return [b for b in found if not _is_folder(b)]

        with translate_errors(prefix):
            return self._run(blobs)

    def list_dirs(self, prefix: str = "") -> builtins.list[str]:
        self._count("list")
        start = self._name_prefix(prefix)
        container = self._container()

        async def folders() -> set[str]:
            async with container:
                walk = container.walk_blobs(name_starts_with=start, delimiter="/")
                return {item.name[len(start) :].rstrip("/") async for item in walk if item.name.endswith("/")}

        with translate_errors(prefix):
            names = self._run(folders)
        return sorted(n for n in names if n and not is_hidden(n))

    # -- writes ----------------------------------------------------------------
    def _make_parent(self, path: str) -> None:
        """Folders are implicit in a container: nothing to make."""

    def write(self, key: str, data: bytes) -> str:
        self._count("write")
        return self._upload(key, data, overwrite=True)

    def write_if(self, key: str, data: bytes, version: str | None) -> str:
        self._count("write")
        if version is None:
            return self._upload(key, data, overwrite=False)
        from azure.core import MatchConditions

        try:
            return self._upload(
                key, data, overwrite=True, etag=f'"{version}"', match_condition=MatchConditions.IfNotModified
            )
        except KeyNotFoundError as exc:  # If-Match on a blob deleted meanwhile
            raise PreconditionFailedError(f"{key} was deleted meanwhile") from exc

    def _upload(self, key: str, data: bytes, **conditions: Any) -> str:
        blob = self._blob(key)

        async def upload() -> str:
            async with blob:
                answer = await blob.upload_blob(data, **conditions)
            return str(answer["etag"]).strip('"')

        with translate_errors(key):
            return self._run(upload)

    def delete(self, key: str) -> None:
        self._count("delete")
        blob = self._blob(key)

        async def delete() -> None:
            async with blob:
                await blob.delete_blob()

        try:
            with translate_errors(key):
                self._run(delete)
        except KeyNotFoundError:
            pass

    def delete_many(self, keys: builtins.list[str]) -> None:
        if not keys:
            return
        self._count("delete")
        names = [self._container_blob(k)[1] for k in keys]
        self._delete_names(names, keys[0])

    def delete_prefix(self, prefix: str) -> None:
        self._count("delete")
        check_prefix(prefix, allow_empty=False)
        start = self._name_prefix(prefix)
        container = self._container()

        async def names() -> builtins.list[str]:
            async with container:
                return [b.name async for b in container.list_blobs(name_starts_with=start)]

        with translate_errors(prefix):
            found = self._run(names)
        self._delete_names(found, prefix)

    def _delete_names(self, names: builtins.list[str], where: str) -> None:
        """Delete blobs by name, up to 256 per Blob Batch request; blobs gone
        already are not an error."""
        container = self._container()

        async def delete() -> builtins.list[int]:
            statuses = []
            async with container:
                for at in range(0, len(names), _BATCH):
                    answers = await container.delete_blobs(*names[at : at + _BATCH], raise_on_any_failure=False)
                    statuses += [a.status_code async for a in answers]
            return statuses

        with translate_errors(where):
            failed = [s for s in self._run(delete) if s >= 300 and s != 404]
        if failed:
            raise StoreIOError(f"{len(failed)} of {len(names)} deletes failed (HTTP {failed[0]}) ({where})")

    # -- copies ----------------------------------------------------------------
    def copy(self, src: str, dst: str) -> None:
        self._count("copy")
        self._copy_blob(self, src, dst)

    def same_backend(self, other: Store) -> bool:
        return isinstance(other, AzureStore) and other._identity == self._identity

    def copy_from(self, other: Store, src: str, dst: str) -> None:
        if not isinstance(other, AzureStore) or not self.same_backend(other):
            return super().copy_from(other, src, dst)
        self._count("copy")
        self._copy_blob(other, src, dst)

    def _copy_blob(self, source: AzureStore, src: str, dst: str) -> None:
        """Copy Blob from ``src`` of ``source`` (same account) to ``dst`` here,
        and wait while the service reports the copy pending."""
        source_url = source._blob(src).url
        blob = self._blob(dst)

        async def copy() -> str:
            async with blob:
                answer = await blob.start_copy_from_url(source_url)
                status, deadline = answer["copy_status"], time.monotonic() + _COPY_WAIT
                while status == "pending" and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    status = (await blob.get_blob_properties()).copy.status
                return str(status)

        with translate_errors(src):
            status = self._run(copy)
        if status != "success":
            raise StoreIOError(f"server-side copy ended {status} ({src})")

    def close(self) -> None:
        """Close the service client (its connection pool)."""
        client = getattr(self.fs, "service_client", None)
        if client is not None:
            sync(self.fs.loop, client.close)


def _is_folder(props: Any) -> bool:
    metadata = getattr(props, "metadata", None) or {}
    return any(str(metadata.get(mark, "")).lower() == "true" for mark in _FOLDER_MARKS)


def _identity(fs: Any) -> tuple[Any, ...]:
    """What makes two stores one account with one credential (then a copy
    between them can stay server-side)."""
    client = fs.service_client
    return (
        client.primary_endpoint,
        fs.account_name or client.account_name,
        fs.account_key,
        fs.connection_string,
        fs.sas_token,
        id(fs.credential) if fs.credential is not None else None,
    )
