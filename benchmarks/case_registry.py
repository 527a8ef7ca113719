"""Case 7: profile registry operations with many profiles, and their requests."""

from __future__ import annotations

import itertools
from typing import Any

from backends import open_store
from poolstore import Registry, new_id

from .case_node import Requests
from .context import BUCKETS, Bench
from .data import register_many
from .harness import interleave
from .report import CaseResult, Table, Target, fmt_s

__all__ = ["case_registry"]

SIZES = (10, 1000)


def _store(b: Bench, kind: str, n: int) -> Any:
    if kind == "local":
        return open_store(str(b.work / f"registry{n}"))
    return open_store(f"s3://{BUCKETS['team']}/registry{n}", b.s3.storage_options())


def _ops(b: Bench, store: Any) -> dict[str, Any]:
    registry, counter = Registry(store), Requests(b, store)
    bulk = registry.list()[0]["id"]
    serial = itertools.count()

    def create() -> dict[str, Any]:
        return counter.measure(lambda: registry.create(new_id(), f"new profile {next(serial)}"))

    def rename() -> dict[str, Any]:
        return counter.measure(lambda: registry.rename(bulk, f"renamed {next(serial)}"))

    return {"list": lambda: counter.measure(registry.list), "create": create, "rename": rename}


def case_registry(b: Bench) -> CaseResult:
    """list / create / rename with 10 and 1,000 profiles, local and S3."""
    res = CaseResult(7, "Profile registry with many profiles")
    res.method = (
        "`Registry.list`, `.create` and `.rename` called in the benchmark process on a store whose "
        "`profiles.json` holds 10 or 1,000 profiles, on local disk and on S3. Requests per operation: the "
        "store's own counters (`store.stats`: one per store call) and, on S3, the HTTP requests the S3 "
        "service received."
    )
    rows, worst = [], {}
    for kind, label in (("local", "local disk"), ("s3", "S3 (moto)")):
        for n in SIZES:
            store = _store(b, kind, n)
            register_many(store, n)
            series = interleave(b.settings.runs, _ops(b, store))
            for op, s in series.items():
                ops, http = max(s.values("store_ops")), max(s.values("http"), default=None)
                worst.setdefault((kind, op), set()).add((ops, http))
                shown_http = "-" if http is None else f"{http:.0f}"
                rows.append([label, f"{n:,}", op, fmt_s(s.median()), f"{ops:.0f}", shown_http])
            store.close()
    res.tables.append(Table(["store", "profiles", "operation", "median time", "store calls", "S3 HTTP requests"], rows))
    constant = all(len(v) == 1 for v in worst.values())
    goal = "registry list / create / rename: constant store requests at 10 and 1,000 profiles"
    res.targets.append(Target(goal, "same count at both sizes" if constant else "grows with size", constant))
    return res
