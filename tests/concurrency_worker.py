"""One writer process of the concurrency test.

Runs mixed registry and manifest updates on a shared store and prints, as one
JSON line, what it did: the profiles it left (id -> name), the ids it deleted,
the images it added to the shared pool with the label it set last, the value
it last gave the shared "hot" label, retries and errors.

Usage: ``python concurrency_worker.py SPEC_JSON`` where the spec holds
``url``, ``options``, ``worker``, ``rounds`` and ``barrier`` (a folder: the
worker creates ``ready-<n>`` there and starts when ``go`` appears).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from support import png_bytes

import backends
from poolstore import Pool, Registry

SHARED = "shared"
HOT = "img_0001.png"


def wait_for_go(barrier: str, worker: int) -> None:
    open(os.path.join(barrier, f"ready-{worker}"), "w").close()
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(barrier, "go")):
        if time.time() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.01)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    store = backends.open_store(spec["url"], spec["options"])
    registry, shared, w = Registry(store), Pool(store, SHARED), spec["worker"]
    out: dict[str, Any] = {"worker": w, "profiles": {}, "deleted": [], "labels": {}, "hot": None, "errors": [], "ops": 0}

    def op(fn: Any, *args: Any) -> tuple[bool, Any]:
        out["ops"] += 1
        try:
            return True, fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which judges
            out["errors"].append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
            return False, None

    wait_for_go(spec["barrier"], w)
    for k in range(spec["rounds"]):
        pid, name = f"w{w}p{k}", f"Worker {w} profile {k}"
        if op(registry.create, pid, name)[0]:
            out["profiles"][pid] = name
        ok, added = op(shared.add, [png_bytes(color=(40 * w % 256, k % 256, 7))], [f"w{w}-{k}-new"])
        if ok:
            label = f"w{w}-{k}-final"
            out["labels"][added[0]] = f"w{w}-{k}-new"
            if op(shared.set_label, added[0], label)[0]:
                out["labels"][added[0]] = label
        if op(shared.set_label, HOT, f"w{w}-{k}")[0]:
            out["hot"] = f"w{w}-{k}"
        op(Pool(store, pid).add, [png_bytes(size=(4, 4))])
        if k % 3 == 1 and pid in out["profiles"]:
            new_name = f"Worker {w} renamed {k}"
            if op(registry.rename, pid, new_name)[0]:
                out["profiles"][pid] = new_name
        if k % 4 == 3:
            victim = f"w{w}p{k - 2}"
            if victim in out["profiles"] and op(registry.delete, victim)[0]:
                out["profiles"].pop(victim)
                out["deleted"].append(victim)
    out["cas_retries"] = store.stats["cas_retries"]
    out["requests"] = sum(v for k, v in store.stats.items() if k != "cas_retries")
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
