"""Several OS processes update one store at once: registry and manifest
updates must all survive, and the JSON documents must be valid at every read.

The figures (processes x operations, lost updates, compare-and-swap retries)
are printed in the terminal summary (see ``conftest.py``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from support import LOCAL_KINDS, Raw, S3TestServer, force_portable, png_bytes

import backends
from poolstore import Pool, Registry

HERE = Path(__file__).resolve().parent
WORKER = HERE / "concurrency_worker.py"
PROCESSES = 4
# Rounds per process (each round is 5-7 operations); moto serialises every
# request, so the S3 runs are kept shorter.
ROUNDS = {"local": 12, "local-portable": 12, "s3": 6, "azure": 6, "lax": 5}


class JsonWatcher(threading.Thread):
    """Reads the shared documents around the store while the workers run and
    counts reads that are not valid JSON."""

    def __init__(self, raw: Raw, keys: list[str]) -> None:
        super().__init__(daemon=True)
        self.raw, self.keys = raw, keys
        self.reads = self.invalid = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for key in self.keys:
                try:
                    data = self.raw.read(key)
                except Exception:  # noqa: BLE001 - not there yet
                    continue
                self.reads += 1
                try:
                    json.loads(data)
                except ValueError:
                    self.invalid += 1
            time.sleep(0.005)


def run_workers(raw: Raw, url: str, options: dict, barrier: Path, rounds: int) -> dict[str, Any]:
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    procs = []
    for w in range(PROCESSES):
        spec = {"url": url, "options": options, "worker": w, "rounds": rounds, "barrier": str(barrier)}
        procs.append(subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)], env=env, cwd=HERE.parent,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.time() + 120
    while len(list(barrier.glob("ready-*"))) < PROCESSES and time.time() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.02)
    watcher = JsonWatcher(raw, ["profiles.json", "shared/manifest.json"])
    watcher.start()
    started = time.time()
    (barrier / "go").touch()
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=240)
        assert p.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    elapsed = time.time() - started
    watcher.stop.set()
    watcher.join()
    return {"results": results, "rounds": rounds, "elapsed": elapsed, "json_reads": watcher.reads, "json_invalid": watcher.invalid}


def lost_updates(store: backends.Store, results: list[dict[str, Any]]) -> dict[str, int]:
    """Compare the final state with what every worker committed."""
    expected = {pid: name for r in results for pid, name in r["profiles"].items()}
    entries = {e["id"]: e["name"] for e in Registry(store).list()}
    registry_lost = sum(entries.get(pid) != name for pid, name in expected.items())
    resurrected = sum(1 for pid in entries if pid not in expected)
    manifest = Pool(store, "shared").read()
    labels = {s["image"]: s["label"] for s in manifest["slots"]}
    wanted = {img: label for r in results for img, label in r["labels"].items()}
    manifest_lost = sum(labels.get(img) != label for img, label in wanted.items())
    hot_values = {r["hot"] for r in results}
    hot_lost = int(labels.get("img_0001.png") not in hot_values)
    pools_lost = sum(len(Pool(store, pid).read()["slots"]) != 1 for pid in expected)
    deleted_data = sum(_left_after_delete(store, pid) for r in results for pid in r["deleted"])
    return {
        "registry": registry_lost + resurrected,
        "shared manifest": manifest_lost + hot_lost,
        "profile manifests": pools_lost,
        "deleted data left": deleted_data,
    }


def _left_after_delete(store: backends.Store, pid: str) -> int:
    """Objects a deleted profile still has besides its tombstone (or 1 if its
    manifest is no tombstone: the pool came back)."""
    left = [o for o in store.list(pid) if o.key != f"{pid}/manifest.json"]
    return len(left) + (not Pool(store, pid).is_deleted())


def figures(kind: str, run: dict[str, Any], lost: dict[str, int]) -> dict[str, Any]:
    results = run["results"]
    return {
        "store": kind,
        "processes": PROCESSES,
        "rounds": run["rounds"],
        "operations": sum(r["ops"] for r in results),
        "lost updates": sum(lost.values()),
        "lost by kind": lost,
        "cas retries": sum(r["cas_retries"] for r in results),
        "errors": sum(len(r["errors"]) for r in results),
        "json reads checked": run["json_reads"],
        "invalid json reads": run["json_invalid"],
        "seconds": round(run["elapsed"], 1),
    }


def prepare(store: backends.Store) -> None:
    Pool(store, "shared").add([png_bytes()], labels=["start"])


def check_safe_run(store, raw, url, options, tmp_path, kind, record_figures):
    assert store.concurrent_writes_safe
    prepare(store)
    run = run_workers(raw, url, options, tmp_path / "barrier", ROUNDS[kind])
    lost = lost_updates(store, run["results"])
    record_figures(figures(kind, run, lost))
    assert [e for r in run["results"] for e in r["errors"]] == []
    assert lost == {"registry": 0, "shared manifest": 0, "profile manifests": 0, "deleted data left": 0}
    assert run["json_invalid"] == 0 and run["json_reads"] > 0
    for key in ["profiles.json", "shared/manifest.json"]:
        json.loads(raw.read(key))
    assert len(Pool(store, "shared").read()["slots"]) == 1 + PROCESSES * ROUNDS[kind]


@pytest.mark.parametrize("kind", LOCAL_KINDS)
def test_processes_on_local_disk_lose_no_update(tmp_path, record_figures, monkeypatch, kind):
    force_portable(kind, monkeypatch)  # the worker processes inherit the switch
    url = str(tmp_path / "store")
    store = backends.open_store(url)
    assert store.folder.portable == (kind == "local-portable")
    check_safe_run(store, Raw(store), url, {}, tmp_path, kind, record_figures)


def test_processes_on_s3_lose_no_update(s3_server, tmp_path, record_figures):
    s3_server.reset()
    url, options = f"s3://{s3_server.new_bucket()}/pools", s3_server.storage_options()
    store = backends.open_store(url, options)
    check_safe_run(store, Raw(store, s3_server), url, options, tmp_path, "s3", record_figures)


def test_processes_on_azure_lose_no_update(azure_server, tmp_path, record_figures):
    url, options = f"az://{azure_server.new_container()}/pools", azure_server.storage_options()
    store = backends.open_store(url, options)
    check_safe_run(store, Raw(store, azure_server), url, options, tmp_path, "azure", record_figures)


@pytest.fixture(scope="module")
def lax_server():
    server = S3TestServer(ignore_conditions=True)
    server.start()
    yield server
    server.stop()


def test_server_ignoring_conditions_is_detected_and_reported(lax_server, tmp_path, caplog, record_figures):
    url, options = f"s3://{lax_server.new_bucket()}/pools", lax_server.storage_options()
    store = backends.open_store(url, options)
    with caplog.at_level(logging.WARNING, logger="poolstore.store"):
        assert store.concurrent_writes_safe is False
    assert "ignores conditional writes" in caplog.text
    assert store.url in caplog.text and "testing" not in caplog.text
    assert Raw(store, lax_server).keys() == set()  # the probe cleaned up
    prepare(store)
    run = run_workers(Raw(store, lax_server), url, options, tmp_path / "barrier", ROUNDS["lax"])
    assert len(run["results"]) == PROCESSES
    lost = lost_updates(store, run["results"])
    record_figures(figures("s3, server ignoring conditions", run, lost))
    errors = [e for r in run["results"] for e in r["errors"]]
    print(f"{sum(lost.values())} lost updates, {len(errors)} errors: {errors[:5]}")
