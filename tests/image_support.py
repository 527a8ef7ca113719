"""Hostile image inputs: files that make Pillow run Ghostscript, disguised as
images, a fake ``gs`` that records whether it ran, and decompression-bomb PNGs
built without holding their pixels in memory."""

from __future__ import annotations

import os
import stat
import struct
import sys
import zlib
from pathlib import Path

import pytest

_EPS_BODY = (
    b"%%BoundingBox: 0 0 8 8\n%%EndComments\n"
    b"newpath 0 0 moveto 8 8 lineto stroke showpage\n%%EOF\n"
)


def _dos_eps(body: bytes) -> bytes:
    """A binary (DOS) EPS: the C5D0D3C6 header, then the PostScript."""
    return struct.pack("<IIIIIIIH", 0xC6D3D0C5, 30, len(body), 0, 0, 0, 0, 0xFFFF) + body


GHOSTSCRIPT_FILES = {
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n" + _EPS_BODY,
    "ps": b"%!PS-Adobe-3.0\n" + _EPS_BODY,
    "binary-eps": _dos_eps(b"%!PS-Adobe-3.0 EPSF-3.0\n" + _EPS_BODY),
    "pdf": b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n",
}
"""PostScript and PDF files that a careless image reader hands to Ghostscript."""


class FakeGhostscript:
    """A ``gs`` first on ``PATH`` that only appends its arguments to a marker file."""

    def __init__(self, folder: Path) -> None:
        self.bin = folder / "bin"
        self.marker = folder / "gs-ran.txt"
        self.bin.mkdir(parents=True)
        script = self.bin / "gs"
        script.write_text(f'#!/bin/sh\necho "$@" >> "{self.marker}"\nexit 0\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    @property
    def ran(self) -> bool:
        return self.marker.exists()

    def path_env(self) -> str:
        """``PATH`` with the fake first (for child processes)."""
        return f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def fake_gs(tmp_path, monkeypatch):
    """Install :class:`FakeGhostscript` for this process and its children.

    Pillow looks ``gs`` up once per process (``EpsImagePlugin.gs_binary``, by
    running ``gs --version``); the cached answer is reset so the next lookup
    runs with this ``PATH`` and finds the fake, which then leaves its marker.
    """
    if sys.platform.startswith("win"):
        pytest.skip("the fake gs is a POSIX shell script (Pillow looks for gswin64c.exe on Windows)")
    from PIL import EpsImagePlugin

    fake = FakeGhostscript(tmp_path / "fake-gs")
    monkeypatch.setenv("PATH", fake.path_env())
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)
    return fake


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_BOMBS: dict[tuple[int, int, str], bytes] = {}


def bomb_png(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels: tiny on disk, huge
    decoded. Built row by row (never the whole pixel buffer); cached."""
    key = (width, height, mode)
    if key not in _BOMBS:
        channels, colour = {"RGBA": (4, 6), "RGB": (3, 2), "L": (1, 0)}[mode]
        header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
        packer = zlib.compressobj(9)
        row = b"\0" * (1 + width * channels)
        parts = [packer.compress(row) for _ in range(height)]
        idat = b"".join(parts) + packer.flush()
        _BOMBS[key] = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    return _BOMBS[key]


__all__ = ["GHOSTSCRIPT_FILES", "FakeGhostscript", "fake_gs", "bomb_png"]
