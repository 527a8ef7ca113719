"""The ``[http]`` settings: read from the config file, the environment wins,
and a bad value is a clear error naming the setting (``serve`` exits 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from attack_support import REPO_ROOT
from backends import StoreConfigError
from comfy_nodes.http_settings import HttpSettings, load_http_settings


@pytest.fixture
def config(tmp_path, monkeypatch):
    for name in ("POOLSTORE_TOKEN", "POOLSTORE_ALLOWED_ORIGINS", "POOLSTORE_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "poolstore.toml"
    monkeypatch.setenv("POOLSTORE_CONFIG", str(path))

    def write(text: str):
        path.write_text(text)
        return path

    return write


def test_settings_come_from_the_http_table(config):
    config('[http]\nallowed_origins = ["HTTPS://Pools.Example.com:443/", "http://box:8080"]\n'
           'hosts = ["Pools.Example.com", "box.local:8190"]\ntoken = "0123456789abcdef"\n'
           "header_timeout = 5\nwrite_timeout = 2.5\nmax_connections = 64\nmax_streams = 2\n")
    got = load_http_settings()
    assert got.allowed_origins == {"https://pools.example.com", "http://box:8080"}
    assert got.hosts == {"pools.example.com", "box.local:8190"}
    assert got.token == "0123456789abcdef" and "0123456789abcdef" not in repr(got)
    assert (got.header_timeout, got.write_timeout, got.max_connections, got.max_streams) == (5, 2.5, 64, 2)
    assert got.idle_timeout == HttpSettings().idle_timeout


def test_environment_wins(config, monkeypatch):
    config('[http]\nallowed_origins = ["https://a.example"]\ntoken = "from-the-file-0123"\n')
    monkeypatch.setenv("POOLSTORE_ALLOWED_ORIGINS", "https://b.example, http://c.example:81")
    monkeypatch.setenv("POOLSTORE_HOSTS", "box.local")
    monkeypatch.setenv("POOLSTORE_TOKEN", "from-the-environment")
    got = load_http_settings()
    assert got.allowed_origins == {"https://b.example", "http://c.example:81"}
    assert got.hosts == {"box.local"} and got.token == "from-the-environment"


@pytest.mark.parametrize("table,words", [
    ('allowed_origins = ["null"]', "allowed_origins"),
    ('allowed_origins = ["https://a.example/path"]', "allowed_origins"),
    ('allowed_origins = "*"', "allowed_origins"),
    ("hosts = [3]", "hosts"),
    ('token = "short"', "16 characters"),
    ("header_timeout = 0", "header_timeout"),
    ("max_streams = 1.5", "max_streams"),
    ('write_timeout = "10"', "write_timeout"),
])
def test_bad_settings_are_clear_errors(config, table, words):
    config(f"[http]\n{table}\n")
    with pytest.raises(StoreConfigError, match=words):
        load_http_settings()


def test_serve_exits_with_a_message_for_bad_settings(config, tmp_path):
    path = config('[http]\nmax_connections = -1\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POOLSTORE_")}, "POOLSTORE_CONFIG": str(path)}
    out = subprocess.run([sys.executable, "-m", "poolstore", "serve", "--port", "0", "--store", str(tmp_path / "s")],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("poolstore serve: ") and "max_connections" in out.stderr
    assert "Traceback" not in out.stderr
