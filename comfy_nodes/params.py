"""Reading request input: JSON bodies, query fields, multipart forms.

Every reader raises a :mod:`poolstore.errors` exception for bad input, so the
error middleware answers 400 (or 413 past a size limit); nothing here
touches a store.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ._layers import InvalidInputError, TooLargeError, load_json

__all__ = ["read_json", "text", "optional_text", "integer", "slot", "Form", "read_form", "MAX_JSON", "MAX_FIELD"]

MAX_JSON = 1024 * 1024
MAX_FIELD = 64 * 1024
_CHUNK = 256 * 1024


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body."""
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise TooLargeError(f"a JSON body is at most {MAX_JSON} bytes")
    buf = bytearray()
    while chunk := await request.content.read(_CHUNK):
        buf += chunk
        if len(buf) > MAX_JSON:
            raise TooLargeError(f"a JSON body is at most {MAX_JSON} bytes")
    try:
        doc = load_json(bytes(buf))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"malformed JSON body: {exc}"[:200]) from exc
    if not isinstance(doc, dict):
        raise InvalidInputError("the JSON body must be an object")
    return doc


def optional_text(doc: Mapping[str, Any], name: str) -> str | None:
    """Field ``name`` as text, or ``None`` when absent or null."""
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"'{name}' must be text")
    return value


def text(doc: Mapping[str, Any], name: str) -> str:
    """Required text field ``name``."""
    value = optional_text(doc, name)
    if value is None or value == "":
        raise InvalidInputError(f"'{name}' is required")
    return value


_DECIMAL = re.compile(r"-?[0-9]{1,11}")


def integer(value: Any, name: str) -> int:
    """``value`` as an int: a JSON integer, or ASCII decimal digits (an
    optional ``-`` and at most 11 digits) in a form/query field."""
    if isinstance(value, bool):
        raise InvalidInputError(f"'{name}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return int(value)
    raise InvalidInputError(f"'{name}' must be an integer")


def slot(doc: Mapping[str, Any]) -> int | str:
    """The slot a request names: ``image`` (a file name) or else ``index``."""
    image = doc.get("image")
    if image not in (None, ""):
        if not isinstance(image, str):
            raise InvalidInputError("'image' must be an image file name")
        return image
    if doc.get("index") is None:
        raise InvalidInputError("'image' or 'index' is required")
    return integer(doc["index"], "index")


@dataclass
class Form:
    """A parsed multipart form: text fields and uploaded files, each in order.

    Files are binary files (spooled to disk by :func:`read_form`, at position
    0); closing the form closes them, which deletes the spooled ones.
    """

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[IO[bytes]]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def close(self) -> None:
        for files in self.files.values():
            for f in files:
                f.close()

    def __enter__(self) -> Form:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def read_form(
    request: web.Request,
    *,
    max_file: int,
    max_total: int,
    max_files: int | None = None,
    sink: Callable[[str], IO[bytes]] | None = None,
    spool_dir: str | None = None,
) -> Form:
    """Parse a ``multipart/form-data`` body.

    Parameters
    ----------
    max_file, max_total
        Limits in bytes for one file and for the whole form (413 past them).
    max_files
        How many file parts the form may hold (413 past it); ``None``: any.
    sink
        ``sink(field_name)`` gives the writable file a file part is copied
        into; the caller owns it. By default each file part is spooled to a
        temporary file on disk (in ``spool_dir``, else the system's temporary
        folder), never held in memory; close the form to delete them.
    """
    if request.content_type == "application/x-www-form-urlencoded":
        return await _read_urlencoded(request)
    if not request.content_type.startswith("multipart/"):
        raise InvalidInputError("expected a multipart/form-data body")
    form = Form()
    try:
        await _read_parts(request, form, max_file, max_total, max_files, sink or _spooler(spool_dir))
    except BaseException:
        form.close()
        raise
    return form


def _spooler(spool_dir: str | None) -> Callable[[str], IO[bytes]]:
    return lambda _field: tempfile.TemporaryFile(dir=spool_dir)


async def _read_parts(
    request: web.Request,
    form: Form,
    max_file: int,
    max_total: int,
    max_files: int | None,
    sink: Callable[[str], IO[bytes]],
) -> None:
    total = count = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                raise InvalidInputError("malformed multipart body")
            if part.filename is None:
                value = await _read_part(part, MAX_FIELD)
                total += len(value)
                form.fields.setdefault(part.name, []).append(value.decode("utf-8"))
            else:
                count += 1
                if max_files is not None and count > max_files:
                    raise TooLargeError(f"at most {max_files} files per request")
                out = sink(part.name)
                form.files.setdefault(part.name, []).append(out)
                total += await _copy_part(part, out, min(max_file, max_total - total))
                out.seek(0)
            if total > max_total:
                raise TooLargeError(f"the upload is over {max_total} bytes")
    except (InvalidInputError, TooLargeError):
        raise
    except (ValueError, AssertionError, UnicodeDecodeError, HttpProcessingError) as exc:
        # aiohttp's multipart parser reports bad input with these
        raise InvalidInputError("malformed multipart body") from exc


async def _read_urlencoded(request: web.Request) -> Form:
    """A form without files (what a client sends when no file is attached)."""
    if (request.content_length or 0) > MAX_FIELD:
        raise TooLargeError(f"a form without files is at most {MAX_FIELD} bytes")
    try:
        data = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        raise TooLargeError("the form is too large") from exc
    except ValueError as exc:
        raise InvalidInputError("malformed form body") from exc
    form = Form()
    for name, value in data.items():
        if not isinstance(value, str):
            raise InvalidInputError("malformed form body")
        form.fields.setdefault(name, []).append(value)
    return form


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    buf = io.BytesIO()
    await _copy_part(part, buf, limit)
    return buf.getvalue()


async def _copy_part(part: BodyPartReader, out: IO[bytes], limit: int) -> int:
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"upload field '{part.name}' is over the size limit")
        out.write(chunk)
    return size
