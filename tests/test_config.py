"""Server-side store configuration: default store, $POOLSTORE_URL, the TOML
file's named stores, clear errors for bad files, no secrets in the log."""

from __future__ import annotations

import logging

import pytest

from backends import StoreConfigError
from comfy_nodes import config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("POOLSTORE_URL", "POOLSTORE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "PACK_DIR", tmp_path / "pack")  # no pack-folder config file


def _write(tmp_path, text):
    path = tmp_path / "poolstore.toml"
    path.write_text(text)
    return path


def test_default_outside_comfyui_is_grid_pool_in_the_working_folder(tmp_path):
    stores = config.open_stores()
    assert stores.names() == ["default"]
    assert stores.default.kind == "local" and stores.default.url == str(tmp_path / "grid_pool")
    assert not (tmp_path / "grid_pool").exists()  # opening creates nothing


def test_env_url_overrides_the_default(monkeypatch):
    monkeypatch.setenv("POOLSTORE_URL", "memory://from-env")
    assert config.open_stores().default.url == "memory://from-env"


def test_named_stores_and_default_from_the_config_file(monkeypatch, tmp_path, s3_server):
    options = s3_server.storage_options()
    bucket = s3_server.new_bucket()
    path = _write(tmp_path, f"""
[stores.default]
url = "memory://file-default"

[stores.team]
url = "s3://{bucket}/pools"
[stores.team.storage_options]
endpoint_url = "{options['endpoint_url']}"
key = "testing"
secret = "sEcReT-in-file"
""")
    monkeypatch.setenv("POOLSTORE_CONFIG", str(path))
    stores = config.open_stores()
    assert stores.names() == ["default", "team"]
    assert stores.default.url == "memory://file-default"
    team = stores.get("team")
    team.write("x/probe.bin", b"1")
    assert team.read("x/probe.bin") == b"1"
    monkeypatch.setenv("POOLSTORE_URL", "memory://env-wins")
    assert config.open_stores().default.url == "memory://env-wins"


def test_explicit_default_wins_over_env_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("POOLSTORE_URL", "memory://env")
    stores = config.open_stores(config.StoreSpec("default", "memory://explicit"), [])
    assert stores.default.url == "memory://explicit"


@pytest.mark.parametrize(
    "text, words",
    [
        ("[stores.team\nurl = 1", "cannot read"),
        ("stores = 3", "must be a table"),
        ('[stores.Team]\nurl = "memory://x"', "invalid store name"),
        ("[stores.team]\nname = 'x'", "needs url"),
        ('[stores.team]\nurl = "memory://x"\nstorage_options = 3', "must be a table"),
        ('[stores.team]\nurl = "s3://b/p"\n[stores.team.storage_options]\nnot_an_option = 1', "unknown S3 storage option"),
        ('[stores.team]\nurl = "memory://x"\n[stores.team.storage_options]\nkey = "k"', "take no storage options"),
    ],
)
def test_bad_config_files_are_clear_errors(monkeypatch, tmp_path, text, words):
    monkeypatch.setenv("POOLSTORE_CONFIG", str(_write(tmp_path, text)))
    with pytest.raises(StoreConfigError, match=words):
        config.open_stores()


def test_config_env_must_name_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("POOLSTORE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(StoreConfigError, match="names no file"):
        config.open_stores()


def test_pack_folder_config_is_used_last(monkeypatch, tmp_path):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "poolstore.toml").write_text('[stores.pack]\nurl = "memory://pack"\n')
    assert config.open_stores().names() == ["default", "pack"]


def test_credentials_in_a_configured_url_are_refused_and_never_shown(monkeypatch, tmp_path, caplog):
    path = _write(tmp_path, '[stores.web]\nurl = "memory://web"\n')
    monkeypatch.setenv("POOLSTORE_CONFIG", str(path))
    monkeypatch.setenv("POOLSTORE_URL", "s3://user:pa55word@bucket/pools")
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreConfigError) as info:
        config.open_stores()
    assert "storage option" in str(info.value)
    assert "pa55word" not in str(info.value) + caplog.text and "user" not in str(info.value)
    monkeypatch.setenv("POOLSTORE_URL", "memory://plain")
    with caplog.at_level(logging.INFO, logger="poolstore.config"):
        stores = config.open_stores()
    assert "memory://web" in caplog.text and "memory://plain" in caplog.text
    stores.close()


def test_configured_stores_open_once_and_can_be_replaced(monkeypatch):
    monkeypatch.setenv("POOLSTORE_URL", "memory://once")
    config.use_stores(None)
    try:
        first = config.configured_stores()
        assert config.configured_stores() is first
        assert config.use_stores(None) is first
        monkeypatch.setenv("POOLSTORE_URL", "memory://again")
        assert config.configured_stores().default.url == "memory://again"
    finally:
        config.use_stores(None)
