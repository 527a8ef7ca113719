"""open_store: one entry point from a URL plus storage options to a store."""

from __future__ import annotations

import logging

import pytest

from backends import StoreConfigError, open_store, redact_url


def test_local_path_and_file_url_open_the_same_folder(tmp_path):
    by_path = open_store(str(tmp_path / "pools"))
    by_url = open_store(f"file://{tmp_path / 'pools'}")
    assert by_path.kind == by_url.kind == "local"
    by_path.write("p1/a.txt", b"x")
    assert by_url.read("p1/a.txt") == b"x"
    assert (tmp_path / "pools" / "p1" / "a.txt").read_bytes() == b"x"


def test_memory_stores_are_separate_by_name():
    a, b = open_store("memory://open-a"), open_store("memory://open-b")
    a.write("k", b"1")
    assert a.kind == "memory"
    assert not b.exists("k")
    assert open_store("memory://open-a").read("k") == b"1"


def test_memory_name_that_prefixes_another_does_not_see_it():
    short, longer = open_store("memory://pre"), open_store("memory://prefix")
    longer.write("p1/a", b"1")
    assert short.list() == []
    assert short.list_dirs() == []


def test_s3_with_endpoint_url(s3_server):
    s3_server.reset()
    bucket = s3_server.new_bucket()
    store = open_store(f"s3://{bucket}/team/pools", s3_server.storage_options())
    assert store.kind == "s3"
    store.write("p1/a.txt", b"x")
    obj = s3_server.client().get_object(Bucket=bucket, Key="team/pools/p1/a.txt")
    assert obj["Body"].read() == b"x"
    assert store.url == f"s3://{bucket}/team/pools"


def test_s3_endpoint_in_client_kwargs(s3_server):
    s3_server.reset()
    bucket = s3_server.new_bucket()
    opts = {"client_kwargs": {"endpoint_url": s3_server.endpoint}, "key": "testing", "secret": "testing"}
    store = open_store(f"s3://{bucket}", opts)
    store.write("a.txt", b"x")
    assert store.read("a.txt") == b"x"


@pytest.mark.parametrize("bad", [{"endpoint": "http://x"}, {"no_such_option": 1}, {"Key": "k"}])
def test_unknown_s3_options_are_an_error(s3_server, bad):
    with pytest.raises(StoreConfigError) as info:
        open_store("s3://bucket/p", {**s3_server.storage_options(), **bad})
    assert next(iter(bad)) in str(info.value)


@pytest.mark.parametrize("forced", [{"use_listings_cache": True}, {"skip_instance_cache": False}])
def test_s3_caches_cannot_be_turned_back_on(s3_server, forced):
    with pytest.raises(StoreConfigError):
        open_store("s3://bucket/p", {**s3_server.storage_options(), **forced})


@pytest.mark.parametrize("url", ["LOCAL", "memory://opts"])
def test_local_and_memory_take_no_options(tmp_path, url):
    url = str(tmp_path / "x") if url == "LOCAL" else url
    with pytest.raises(StoreConfigError):
        open_store(url, {"anon": True})


@pytest.mark.parametrize("url", ["", "   ", "memory://", "memory://a/../b", "s3://", "s3://bucket/../x", "s3://b//x",
                                 "s3://bucket/p?x=1", "nosuchproto://x"])
def test_bad_urls_are_config_errors(url):
    with pytest.raises(StoreConfigError):
        open_store(url)


def test_not_a_string_is_a_config_error():
    with pytest.raises(StoreConfigError):
        open_store(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAEXAMPLE:SuperSecret@bucket/prefix",
        "https://user:SuperSecret@minio.example:9000/bucket?X-Amz-Signature=SuperSecret#frag",
    ],
)
def test_redacted_urls_never_carry_credentials(url):
    shown = redact_url(url)
    assert "SuperSecret" not in shown and "AKIAEXAMPLE" not in shown
    assert shown.startswith(url.split("://")[0] + "://")


def test_store_url_and_repr_hide_credentials(s3_server, caplog):
    s3_server.reset()
    bucket = s3_server.new_bucket()
    opts = {"endpoint_url": s3_server.endpoint, "key": "testing", "secret": "S3cretValue"}
    store = open_store(f"s3://{bucket}/p", opts)
    assert "S3cretValue" not in store.url and "S3cretValue" not in repr(store)
    with caplog.at_level(logging.DEBUG, logger="poolstore"):
        store.write("x", b"1")
    assert "S3cretValue" not in caplog.text


def test_store_set_resolves_qualified_ids(tmp_path):
    from poolstore import InvalidIdError, InvalidNameError, StoreSet, UnknownStoreError

    default, team = open_store(str(tmp_path / "d")), open_store("memory://storeset-team")
    stores = StoreSet(default, {"team": team})
    assert stores.names() == ["default", "team"]
    assert stores.resolve("a1") == ("default", default, "a1")
    assert stores.resolve("team:a1") == ("team", team, "a1")
    assert stores.get(None) is default and stores.get("default") is default
    assert stores.qualify("team", "a1") == "team:a1" and stores.qualify("default", "a1") == "a1"
    with pytest.raises(UnknownStoreError):
        stores.resolve("other:a1")
    with pytest.raises(InvalidIdError):
        stores.resolve("team:../x")
    with pytest.raises(InvalidNameError):
        stores.resolve("Team/..:a1")
    with pytest.raises(InvalidNameError):
        StoreSet(default, {"../x": team})


@pytest.mark.parametrize("forced", [{"use_listings_cache": True}, {"skip_instance_cache": False}])
def test_changing_a_forced_s3_option_says_why(s3_server, forced):
    """The forced caches are known options: refused as unchangeable, not as unknown."""
    with pytest.raises(StoreConfigError, match="cannot be changed") as info:
        open_store("s3://bucket/p", {**s3_server.storage_options(), **forced})
    assert "unknown" not in str(info.value)


def test_forced_s3_options_given_as_forced_are_accepted(s3_server):
    s3_server.reset()
    bucket = s3_server.new_bucket()
    options = {**s3_server.storage_options(), "use_listings_cache": False, "skip_instance_cache": True}
    store = open_store(f"s3://{bucket}/p", options)
    store.write("a.txt", b"x")
    assert store.read("a.txt") == b"x"
