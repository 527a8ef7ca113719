"""Local store locations: paths and ``file://`` URLs of every platform are
normalised by one function, tested here with Windows (``ntpath``) and POSIX
(``posixpath``) semantics on any machine. A drive letter is never a protocol."""

from __future__ import annotations

import ntpath
import posixpath

import pytest

from backends import StoreConfigError, open_store
from backends._paths import local_path

WINDOWS = [
    (r"C:\ComfyUI\input\grid_pool", r"C:\ComfyUI\input\grid_pool"),
    ("C:/ComfyUI/input/grid_pool", r"C:\ComfyUI\input\grid_pool"),
    ("C:/ComfyUI/input/grid_pool/", r"C:\ComfyUI\input\grid_pool"),
    (r"c:\ComfyUI\input\..\input\grid_pool", r"c:\ComfyUI\input\grid_pool"),
    ("C://ComfyUI//input", r"C:\ComfyUI\input"),
    ("file:///C:/ComfyUI/input/grid_pool", r"C:\ComfyUI\input\grid_pool"),
    ("FILE:///c:/My%20Pools/grid_pool", r"c:\My Pools\grid_pool"),
    ("file://C:/ComfyUI/input", r"C:\ComfyUI\input"),
    ("file://localhost/C:/ComfyUI/input", r"C:\ComfyUI\input"),
    (r"\\server\share\pools", r"\\server\share\pools"),
    ("//server/share/pools", r"\\server\share\pools"),
    ("file://server/share/pools", r"\\server\share\pools"),
    ("file:////server/share/pools", r"\\server\share\pools"),
    ("local://C:/ComfyUI/input", r"C:\ComfyUI\input"),
]

POSIX = [
    ("/home/u/ComfyUI/input/grid_pool", "/home/u/ComfyUI/input/grid_pool"),
    ("/home/u/pools/", "/home/u/pools"),
    ("/home/u/a/../pools", "/home/u/pools"),
    ("file:///home/u/pools", "/home/u/pools"),
    ("file:///home/u/My%20Pools", "/home/u/My Pools"),
    ("file://localhost/home/u/pools", "/home/u/pools"),
    ("local:///home/u/pools", "/home/u/pools"),
]


@pytest.mark.parametrize(("location", "expected"), WINDOWS)
def test_windows_paths_and_urls(location, expected):
    assert local_path(location, ntpath) == expected


@pytest.mark.parametrize(("location", "expected"), POSIX)
def test_posix_paths_and_urls(location, expected):
    assert local_path(location, posixpath) == expected


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert local_path("pools", posixpath) == str(tmp_path / "pools")


@pytest.mark.parametrize("location", ["file://server/share/pools", "s3://bucket/x", "memory://x", "", "file://"])
def test_what_is_not_a_local_folder_is_a_config_error(location):
    with pytest.raises(StoreConfigError):
        local_path(location, posixpath)


@pytest.mark.parametrize("location", [r"C:\pools", "C:/pools", "C://pools", "c://pools"])
def test_a_drive_letter_is_never_a_protocol(location, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # on POSIX these name a folder below the working directory
    store = open_store(location)
    assert store.kind == "local"
    assert local_path(location, ntpath).lower() == r"c:\pools"
