"""One storage-option parser and one set of common options for every command,
``serve`` included, before or after the command (docs/CLI.md): typed values and
dotted keys reach the store, options on both sides of the command add up, and
a malformed ``KEY=VALUE`` is a one-line usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import backends
from poolstore import Pool
from pack_support import serve_url
from support import png_bytes, stop_process

PACK_DIR = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POOLSTORE_URL", "POOLSTORE_CONFIG")}
    env["POOLSTORE_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(PACK_DIR)
    return env


def _options(options: dict) -> list[str]:
    return [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]


@pytest.fixture
def bucket_pool(s3_server):
    """A bucket holding pool ``p1`` with one image, and its plain options."""
    s3_server.reset()
    url = f"s3://{s3_server.new_bucket()}/pools"
    Pool(backends.open_store(url, s3_server.storage_options()), "p1").add([png_bytes()], ["hello"])
    return url, s3_server.storage_options()


SERVE_CASES = {
    # typed values: "false" must reach s3fs as False (the text "false" is true: unsigned
    # requests, refused), "2" as 2 (s3fs compares it with a number)
    "typed-values": (["serve"], ["-o", "anon=false", "-o", "max_concurrency=2"]),
    # dotted key: a nested option
    "dotted-key": (["serve"], ["-o", "client_kwargs.region_name=us-east-1"]),
    # a common option after serve
    "debug-after": (["serve"], ["--debug"]),
    # store and options before the command, more options after it
    "before-and-after": ([], ["serve", "-o", "config_kwargs.connect_timeout=5"]),
}


@pytest.mark.parametrize("case", SERVE_CASES)
def test_serve_takes_the_common_options_and_parser(tmp_path, bucket_pool, case):
    url, options = bucket_pool
    head, tail = SERVE_CASES[case]
    store = ["--store", url, *_options(options)]
    argv = [*head, *store, "--port", "0", *tail] if head else [*store, *tail, "--port", "0"]
    proc = subprocess.Popen([sys.executable, "-m", "poolstore", *argv], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = serve_url(proc)
        with urllib.request.urlopen(f"{base}/grid_pool/list?pool_id=p1", timeout=30) as resp:
            doc = json.loads(resp.read())
    finally:
        stop_process(proc)
    assert doc["count"] == 1 and doc["slots"][0]["label"] == "hello"


def _poolstore(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poolstore", *argv], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)


def test_storage_options_before_and_after_a_command_add_up(tmp_path, bucket_pool):
    url, options = bucket_pool
    endpoint, credentials = dict(list(options.items())[:1]), dict(list(options.items())[1:])
    done = _poolstore(tmp_path, *_options(endpoint), "pool", "list", "p1", "--store", url, *_options(credentials),
                      "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["slots"][0]["label"] == "hello"


@pytest.mark.parametrize("argv", [
    ["-o", "novalue", "profiles", "list"],
    ["profiles", "list", "-o", "=value"],
    ["serve", "-o", "novalue"],
    ["-o", "novalue", "serve"],
    ["-o", "a=1", "profiles", "list", "-o", "a.b=2"],
    ["profiles", "copy", "x", "--to", "memory://elsewhere", "--to-storage-option", "novalue"],
], ids=["before", "after", "serve-after", "serve-before", "conflicting-keys", "to-storage-option"])
def test_a_malformed_storage_option_is_a_one_line_usage_error(tmp_path, argv):
    done = _poolstore(tmp_path, "--store", str(tmp_path / "store"), *argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("poolstore") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "storage option" in done.stderr
    assert not (tmp_path / "store").exists()
