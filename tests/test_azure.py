"""What is particular to Azure Blob Storage (on Azurite): URL forms, options,
credentials kept out of sight. The store contract itself runs on Azure in
test_store_contract.py, processes racing on one container in
test_concurrency.py, copies to and from the other backends in test_transfer.py."""

from __future__ import annotations

import logging

import pytest

from azurite_support import ACCOUNT_KEY
from support import Raw

from backends import KeyNotFoundError, StoreConfigError, StorePermissionError, open_store

# A well-formed key that is not the emulator's: every request it signs is refused.
WRONG_KEY = "V3JvbmdLZXlGb3JUZXN0aW5nT25seTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMw=="
FAKE_SIGNATURE = "FakeSignatureValue0123456789"


def test_az_abfs_and_abfss_name_the_same_container(azure_server):
    container = azure_server.new_container()
    by_az = open_store(f"az://{container}/team/pools", azure_server.storage_options())
    by_abfs = open_store(f"abfs://{container}/team/pools", azure_server.storage_options())
    by_abfss = open_store(f"ABFSS://{container}/team/pools/", azure_server.storage_options())
    by_az.write("p1/a.txt", b"x")
    assert by_abfs.read("p1/a.txt") == b"x" and by_abfss.exists("p1/a.txt")
    assert by_az.kind == by_abfs.kind == "azure"
    assert (by_az.url, by_abfs.url) == (f"az://{container}/team/pools", f"abfs://{container}/team/pools")
    blob = azure_server.client().get_blob_client(container, "team/pools/p1/a.txt")
    assert blob.download_blob().readall() == b"x"


def test_the_account_in_the_url_is_refused_with_a_clear_message():
    with pytest.raises(StoreConfigError) as info:
        open_store("abfs://pools@myaccount.dfs.core.windows.net/team", {"account_name": "myaccount"})
    assert "storage options" in str(info.value) and "myaccount" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["az://", "az://ab/x", "az://Upper/x", "az://bad_name/x", "az://a--b/x", "az://cont/../x", "az://cont//x",
     "az://cont/x?sig=1", "az://myaccount.blob.core.windows.net/cont"],
)
def test_bad_azure_urls_are_config_errors(url):
    with pytest.raises(StoreConfigError):
        open_store(url, {"account_name": "devstoreaccount1", "account_key": ACCOUNT_KEY})


@pytest.mark.parametrize("bad", [{"acount_name": "x"}, {"key": "k"}, {"endpoint_url": "http://x"}])
def test_unknown_azure_options_are_an_error(azure_server, bad):
    with pytest.raises(StoreConfigError, match="unknown Azure storage option") as info:
        open_store("az://pools/p", {**azure_server.storage_options(), **bad})
    assert next(iter(bad)) in str(info.value)


@pytest.mark.parametrize("forced", [{"use_listings_cache": True}, {"skip_instance_cache": False}])
def test_azure_caches_cannot_be_turned_back_on(azure_server, forced):
    with pytest.raises(StoreConfigError, match="cannot be changed"):
        open_store("az://pools/p", {**azure_server.storage_options(), **forced})


def test_a_wrong_key_is_a_permission_error_that_never_shows_the_key(azure_server, caplog):
    container = azure_server.new_container()
    options = {"connection_string": azure_server.connection_string.replace(ACCOUNT_KEY, WRONG_KEY)}
    store = open_store(f"az://{container}/p", options)
    with caplog.at_level(logging.DEBUG, logger="poolstore"):
        for op in (lambda: store.write("a.txt", b"x"), lambda: store.read("a.txt"), store.list):
            with pytest.raises(StorePermissionError) as info:
                op()
            assert WRONG_KEY not in str(info.value) and ACCOUNT_KEY not in str(info.value)
            assert "\n" not in str(info.value)
    assert WRONG_KEY not in store.url + repr(store) + caplog.text
    assert Raw(store, azure_server).keys() == set()


def test_a_sas_token_never_shows(azure_server):
    container = azure_server.new_container()
    sas = f"sv=2023-01-03&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig={FAKE_SIGNATURE}"
    store = open_store(f"az://{container}/p", {"connection_string": f"BlobEndpoint={azure_server.endpoint};"
                                                                     f"SharedAccessSignature={sas}"})
    for op in (lambda: store.write("a.txt", b"x"), lambda: store.read("a.txt"), lambda: store.open_read("a.txt")):
        with pytest.raises(StorePermissionError) as info:
            op()
        assert FAKE_SIGNATURE not in str(info.value)
    assert FAKE_SIGNATURE not in store.url + repr(store)


def test_copies_between_containers_of_one_account_stay_server_side(azure_server):
    one = open_store(f"az://{azure_server.new_container()}/p", azure_server.storage_options())
    two = open_store(f"az://{azure_server.new_container()}/q", azure_server.storage_options())
    one.write("src/a.png", b"image bytes")
    one.stats.clear()
    two.copy_from(one, "src/a.png", "dst/a.png")
    assert one.same_backend(two) and two.stats["copy"] == 1
    assert one.stats["open"] == 0 and one.stats["read"] == 0
    blob = azure_server.client().get_blob_client(two.root.split("/")[0], "q/dst/a.png")
    assert blob.get_blob_properties().copy.status == "success"
    assert blob.download_blob().readall() == b"image bytes"


def test_a_missing_container_is_not_found_on_every_operation(azure_server):
    store = open_store("az://no-such-container/p", azure_server.storage_options())

    def streamed():
        with store.open_write("b.bin") as f:  # adlfs reports this one wrapped in a RuntimeError
            f.write(b"x")

    for op in (lambda: store.write("a.bin", b"1"), lambda: store.read("a.bin"), store.list, store.list_dirs, streamed):
        with pytest.raises(KeyNotFoundError, match="ContainerNotFound"):
            op()
    assert store.exists("a.bin") is False
