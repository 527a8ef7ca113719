"""The ``poolstore`` command line: every subcommand, on every backend, with
``--json`` output parsed and results checked on the raw store."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import zipfile

import pytest
from archive_support import make_profile, profile_state, raw_of, registry_ids
from support import deleted_cleanly, png_bytes

import backends
from poolstore import Pool, Registry
from poolstore.cli import main, parse_storage_options


def store_args(store) -> list[str]:
    """``--store`` and ``--storage-option`` arguments that open ``store``."""
    server = getattr(store, "_test_server", None)
    return ["--store", store.url, *option_args("--storage-option", server.storage_options() if server else {})]


def option_args(flag: str, options: dict) -> list[str]:
    return [arg for key, value in options.items() for arg in (flag, f"{key}={value}")]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def run_json(capsys, *argv: str) -> dict:
    rc, out, err = run(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def python_m(*argv: str, cwd=None, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poolstore", *argv], capture_output=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=120, **kw)


def registry_on_disk(store) -> list[dict]:
    return json.loads(raw_of(store).read("profiles.json"))["profiles"]


def test_profiles_create_list_rename_duplicate_delete(store, capsys):
    at = store_args(store)
    made = run_json(capsys, "profiles", "create", "characters_A", *at)["profile"]
    assert registry_on_disk(store) == [made]

    rc, _, err = run(capsys, "profiles", "create", "Characters_a", *at)
    assert rc == 1 and err.count("\n") == 1 and "exists already" in err

    listed = run_json(capsys, "profiles", "list", *at)["profiles"]
    assert listed == [made]

    renamed = run_json(capsys, "profiles", "rename", "characters_A", "heroes", *at)["profile"]
    assert renamed["id"] == made["id"] and renamed["name"] == "heroes"
    assert json.loads(raw_of(store).read(f"{made['id']}/profile.json"))["name"] == "heroes"

    copy = run_json(capsys, "profiles", "duplicate", made["id"], *at)["profile"]
    assert copy["name"] == "heroes (2)" and copy["id"] != made["id"]

    gone = run_json(capsys, "profiles", "delete", "heroes", "--yes", *at)["deleted"]
    assert gone["id"] == made["id"]
    assert [e["id"] for e in registry_on_disk(store)] == [copy["id"]]
    assert deleted_cleanly(raw_of(store), made["id"])


def test_pool_add_list_label_select_rm(store, capsys, tmp_path):
    at = store_args(store)
    pid = run_json(capsys, "profiles", "create", "pool test", *at)["profile"]["id"]
    files = []
    for i, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        path = tmp_path / f"in{i}.png"
        path.write_bytes(png_bytes(color=color))
        files.append(str(path))

    added = run_json(capsys, "pool", "add", "pool test", *files, "--label", "red", "--label", "green", *at)["added"]
    assert len(added) == 3
    run_json(capsys, "pool", "label", pid, "2", "blue", *at)
    run_json(capsys, "pool", "select", "pool test", added[2], *at)
    doc = run_json(capsys, "pool", "rm", "pool test", "0", *at)
    assert doc["count"] == 2

    manifest = json.loads(raw_of(store).read(f"{pid}/manifest.json"))
    assert [s["image"] for s in manifest["slots"]] == added[1:]
    assert [s["label"] for s in manifest["slots"]] == ["green", "blue"]
    assert manifest["active"] == 1
    assert raw_of(store).read(f"{pid}/{added[2]}") == png_bytes(color=(0, 0, 255))
    assert f"{pid}/{added[0]}" not in raw_of(store).keys()
    listed = run_json(capsys, "pool", "list", "pool test", *at)
    assert listed["slots"] == manifest["slots"] and listed["active"] == 1

    rc, out, _ = run(capsys, "pool", "list", "pool test", *at)
    assert rc == 0 and out.splitlines()[1].startswith("*") and "blue" in out


def test_pool_commands_reach_unregistered_pools_by_id(store, capsys, tmp_path):
    at = store_args(store)
    from poolstore import Pool

    Pool(store, "node-pool-1").add([png_bytes()])
    assert run_json(capsys, "pool", "list", "node-pool-1", *at)["count"] == 1
    rc, _, err = run(capsys, "pool", "list", "no-such-pool", *at)
    assert rc == 1 and "no profile or pool" in err


def test_export_and_import(store, capsys, tmp_path):
    at = store_args(store)
    pid = make_profile(store, "characters_A", count=2)
    out = tmp_path / "out.zip"
    done = run_json(capsys, "profiles", "export", "characters_A", "--output", str(out), *at)
    assert done["bytes"] == out.stat().st_size
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None and "profile_meta.json" in zf.namelist()

    rc, _, err = run(capsys, "profiles", "export", pid, "--output", str(out), *at)
    assert rc == 1 and "--force" in err

    made = run_json(capsys, "profiles", "import", str(out), "--name", "imported", *at)["profile"]
    assert made["name"] == "imported"
    assert profile_state(store, made["id"]) == profile_state(store, pid)
    again = run_json(capsys, "profiles", "import", str(out), *at)["profile"]
    assert again["name"] == "characters_A (2)"


def test_export_default_file_name_and_stdout(tmp_path):
    root = tmp_path / "grid_pool"
    store = backends.open_store(str(root))
    make_profile(store, "my set", count=1)
    done = python_m("profiles", "export", "my set", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert zipfile.ZipFile(tmp_path / "my set.zip").testzip() is None
    streamed = python_m("profiles", "export", "my set", "--output", "-", cwd=tmp_path)
    assert streamed.returncode == 0, streamed.stderr
    with zipfile.ZipFile(io.BytesIO(streamed.stdout)) as zf:
        assert zf.read("pool/manifest.json") == (tmp_path / "grid_pool").joinpath(
            Registry(store).find("my set")["id"], "manifest.json").read_bytes()


def test_import_of_a_bad_zip_is_a_one_line_error(store, capsys, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    before = raw_of(store).keys()
    rc, out, err = run(capsys, "profiles", "import", str(bad), *store_args(store))
    assert rc == 1 and out == "" and err.count("\n") == 1 and "not a zip" in err
    assert raw_of(store).keys() == before


def test_readme_copy_example_local_to_bucket_then_move_back(s3_server, tmp_path, capsys):
    local = backends.open_store(str(tmp_path / "grid_pool"))
    pid = make_profile(local, "characters_A", count=2)
    bucket = s3_server.new_bucket()
    remote = backends.open_store(f"s3://{bucket}/pools", s3_server.storage_options())
    remote._test_server = s3_server
    to_opts = option_args("--to-storage-option", s3_server.storage_options())

    copied = run_json(capsys, "profiles", "copy", "characters_A", "--store", str(tmp_path / "grid_pool"),
                      "--to", f"s3://{bucket}/pools", *to_opts)
    assert copied["to"] == f"s3://{bucket}/pools" and not copied["moved"]
    assert profile_state(remote, copied["profile"]["id"]) == profile_state(local, pid)

    rc, out, _ = run(capsys, "profiles", "copy", "characters_A", "--store", str(tmp_path / "grid_pool"),
                     "--to", f"s3://{bucket}/pools", *to_opts)
    assert rc == 0 and "as 'characters_A (2)'" in out

    moved = run_json(capsys, "profiles", "move", "characters_A (2)", "--store", f"s3://{bucket}/pools",
                     *option_args("--storage-option", s3_server.storage_options()),
                     "--to", str(tmp_path / "back"), "--name", "returned")
    back = backends.open_store(str(tmp_path / "back"))
    assert moved["profile"]["name"] == "returned"
    assert profile_state(back, moved["profile"]["id"]) == profile_state(local, pid)
    assert registry_ids(remote) == [copied["profile"]["id"]]


def test_check_reports_and_fix_removes_what_a_crash_left(store, capsys):
    at = store_args(store)
    kept = make_profile(store, "kept", count=1)
    raw = raw_of(store)
    # A crash after profile.json and one object, and another before any metadata.
    raw.write("crashed1/profile.json", json.dumps({"id": "crashed1", "name": "half", "created": 1}).encode())
    raw.write("crashed1/img_0001.png", png_bytes())
    raw.write("crashed2/img_0001.png", png_bytes())
    state = profile_state(store, kept)

    found = run_json(capsys, "check", "--min-age", "0", *at)
    kinds = {(o["kind"], o["pool_id"]) for o in found["orphans"]}
    assert kinds == {("profile", "crashed1"), ("partial", "crashed2")}
    assert found["fixed"] == []
    assert any(k.startswith("crashed1/") for k in raw.keys())

    fixed = run_json(capsys, "check", "--fix", "--min-age", "0", *at)
    assert {(o["pool_id"], o["action"]) for o in fixed["fixed"]} == {("crashed1", "removed"), ("crashed2", "restored")}
    assert not any(k.startswith("crashed1/") for k in raw.keys())
    # crashed2 may be a pool whose manifest was lost: its image is kept and listed again
    assert [s["image"] for s in Pool(store, "crashed2").read()["slots"]] == ["img_0001.png"]
    assert profile_state(store, kept) == state and registry_ids(store) == [kept]
    assert run_json(capsys, "check", "--min-age", "0", *at)["orphans"] == []


def test_check_adopt_registers_an_orphan_profile(store, capsys):
    kept = make_profile(store, "kept", count=1)
    raw_of(store).write("crashed3/profile.json", json.dumps({"id": "crashed3", "name": "rescued", "created": 1}).encode())
    raw_of(store).write("crashed3/img_0001.png", png_bytes())
    done = run_json(capsys, "check", "--adopt", "--min-age", "0", *store_args(store))
    assert [o["pool_id"] for o in done["fixed"]] == ["crashed3"]
    assert [(e["id"], e["name"]) for e in registry_on_disk(store)] == [(kept, "kept"), ("crashed3", "rescued")]


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    at = ["--store", str(tmp_path / "s")]
    for argv, code in [
        (["profiles", "rename", "nope", "x", *at], 1),
        (["profiles", "create", "bad\x07name", *at], 1),
        (["profiles", "list", "--storage-option", "novalue", *at], 2),
        (["profiles", "list", "--storage-option", "unknown=1", *at], 1),
        (["profiles", "list", "--store", "s3://"], 1),
        (["profiles", "frobnicate", *at], 2),
        (["pool", "add", "x", str(tmp_path / "missing.png"), *at], 1),
    ]:
        done = python_m(*argv)
        err = done.stderr.decode()
        assert done.returncode == code, (argv, err)
        assert err.startswith("poolstore") and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    debug = python_m("profiles", "rename", "nope", "x", "--debug", *at)
    assert debug.returncode != 0 and "Traceback" in debug.stderr.decode()


def test_store_comes_from_the_option_else_the_environment_else_grid_pool(tmp_path):
    assert python_m("profiles", "create", "in default", cwd=tmp_path).returncode == 0
    env = {"POOLSTORE_URL": str(tmp_path / "from_env")}
    assert python_m("profiles", "create", "in env", cwd=tmp_path, env=env).returncode == 0
    assert python_m("--store", str(tmp_path / "given"), "profiles", "create", "given", cwd=tmp_path, env=env).returncode == 0

    def names(folder):
        return [e["name"] for e in json.loads((tmp_path / folder / "profiles.json").read_text())["profiles"]]

    assert names("grid_pool") == ["in default"]
    assert names("from_env") == ["in env"]
    assert names("given") == ["given"]


def test_storage_option_values_are_parsed():
    opts = parse_storage_options([
        "endpoint_url=http://127.0.0.1:9000", "anon=false", "use_ssl=True", "max_concurrency=8",
        "timeout=2.5", "client_kwargs.region_name=eu-west-1", 'config_kwargs={"retries": {"max_attempts": 3}}',
        "key=", "session=null",
    ])
    assert opts == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": False, "use_ssl": True, "max_concurrency": 8,
        "timeout": 2.5, "client_kwargs": {"region_name": "eu-west-1"},
        "config_kwargs": {"retries": {"max_attempts": 3}}, "key": "", "session": None,
    }
    with pytest.raises(ValueError):
        parse_storage_options(["no-equals-sign"])


def test_progress_bar_only_when_stdout_is_a_terminal(tmp_path):
    store = backends.open_store(str(tmp_path / "grid_pool"))
    make_profile(store, "big", count=3)
    primary, secondary = pty.openpty()
    try:
        on_tty = subprocess.run([sys.executable, "-m", "poolstore", "profiles", "export", "big", "--output",
                                 str(tmp_path / "a.zip")], cwd=tmp_path, stdout=secondary, stderr=subprocess.PIPE,
                                timeout=120)
    finally:
        os.close(secondary)
        os.close(primary)
    piped = python_m("profiles", "export", "big", "--output", str(tmp_path / "b.zip"), cwd=tmp_path)
    assert on_tty.returncode == 0 and piped.returncode == 0
    assert b"export [" in on_tty.stderr and b"5/5 files" in on_tty.stderr  # 3 images, 2 masks
    assert piped.stderr == b""


def test_serve_is_registered_and_loaded_lazily(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0 and "--port" in capsys.readouterr().out

    monkeypatch.setitem(sys.modules, "comfy_nodes.serve", None)
    rc, _, err = run(capsys, "serve")
    assert rc == 1 and "not part of this installation" in err


def test_check_warns_when_the_server_ignores_conditional_writes(capsys):
    from support import S3TestServer

    server = S3TestServer(ignore_conditions=True)
    server.start()
    try:
        at = ["--store", f"s3://{server.new_bucket()}/pools", *option_args("--storage-option", server.storage_options())]
        assert run_json(capsys, "check", *at)["concurrent_writes_safe"] is False
        rc, out, _ = run(capsys, "check", *at)
        assert rc == 0 and out.startswith("warning:") and "ignores conditional writes" in out
    finally:
        server.stop()


def test_check_on_a_sound_store_reports_it_safe(store, capsys):
    assert run_json(capsys, "check", *store_args(store))["concurrent_writes_safe"] is True
