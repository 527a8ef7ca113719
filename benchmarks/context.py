"""One benchmark run's world: settings, data, the S3 service, the stores and
the HTTP server, plus the profiles every case starts from."""

from __future__ import annotations

import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends import Store, open_store
from poolstore import qualify

from .data import DataSet, Item, build_profile, generate, photo_png
from .servers import AppServer, S3Service

__all__ = ["Settings", "Bench", "BOUND_MB"]

BOUND_MB = 64
"""The memory bound of the export and import targets (peak RSS growth)."""

BUCKETS = {"team": "bench-team", "team2": "bench-team2"}
PREFIX = "pools"


@dataclass(frozen=True)
class Settings:
    """What to generate and how often to repeat each measurement."""

    quick: bool
    images: int
    size: int
    runs: int
    heavy_runs: int
    grid_slots: int = 200
    connections: int = 6
    memory_multiple: int = 4

    @classmethod
    def make(cls, quick: bool, images: int | None, size: int | None) -> "Settings":
        if quick:
            return cls(True, images or 24, size or 512, runs=3, heavy_runs=3, memory_multiple=2)
        return cls(False, images or 200, size or 1024, runs=5, heavy_runs=3)


class Bench:
    """Owns the temporary folder, the processes and the stores of one run."""

    MAIN = "benchmain"
    TINY = "benchtiny"

    def __init__(self, settings: Settings, work: Path) -> None:
        self.settings = settings
        self.work = work
        self.local_root = work / "store"
        self.cache_dir = work / "cache"
        self.s3 = S3Service(work / "s3.log")
        self.client = self.s3.client()
        for bucket in BUCKETS.values():
            self.client.create_bucket(Bucket=bucket)
        self.config: dict[str, dict[str, Any]] = {"default": {"url": str(self.local_root)}}
        for name, bucket in BUCKETS.items():
            self.config[name] = {"url": f"s3://{bucket}/{PREFIX}", "storage_options": self.s3.storage_options()}
        self.stores: dict[str, Store] = {n: open_store(c["url"], c.get("storage_options")) for n, c in self.config.items()}
        self._app: AppServer | None = None
        self.data: DataSet | None = None
        self.main_bytes = 0
        self._big: dict[str, tuple[str, int]] = {}
        self.last_etags: dict[str, str] = {}
        self.moto: dict[str, Any] | None = None

    # -- set-up ------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Generate the images and put the main profile into the local store and ``team``."""
        s = self.settings
        self.data = generate(self.work / "data", s.images, s.size)
        for name in ("default", "team"):
            self.main_bytes = build_profile(self.stores[name], self.MAIN, "benchmark", self.data.items)
            build_profile(self.stores[name], self.TINY, "tiny", self.data.items[:1])

    def memory_profiles(self, store_name: str) -> list[tuple[str, str, int]]:
        """(label, id, bytes) of the profiles several times the memory bound:
        the main one when it is that large, and one of large (2048² px) images."""
        out = []
        bound = BOUND_MB * 2**20
        if self.main_bytes >= self.settings.memory_multiple * bound:
            out.append((f"{self.settings.size}² px images", self.MAIN, self.main_bytes))
        if store_name not in self._big:
            path = self.work / "big.png"
            if not path.exists():
                path.write_bytes(photo_png(10_000, 2048))
            count = int(self.settings.memory_multiple * bound / path.stat().st_size) + 1
            total = build_profile(self.stores[store_name], "benchbig", "large", [Item(path, None, "")] * count)
            self._big[store_name] = ("benchbig", total)
        return out + [("2048² px images", *self._big[store_name])]

    @property
    def app(self) -> AppServer:
        """The HTTP server (started on first use)."""
        if self._app is None:
            env = {"POOLSTORE_CACHE_DIR": str(self.cache_dir)}
            self._app = AppServer(self.config, self.work / "app.log", env)
        return self._app

    def fresh_app(self) -> AppServer:
        """Another HTTP server on the same stores, with a cache of its own
        (for memory figures untouched by earlier requests); the caller stops it."""
        env = {"POOLSTORE_CACHE_DIR": str(self.work / "fresh-cache")}
        return AppServer(self.config, self.work / "fresh-app.log", env)

    def clear_server_cache(self) -> None:
        """Empty the server's disk cache (thumbnails, copies of S3 images)."""
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    # -- addressing ----------------------------------------------------------------
    def url(self, path: str, app: AppServer | None = None, **query: str) -> str:
        """``path`` with ``query`` on the shared server (or on ``app``)."""
        q = urllib.parse.urlencode(query)
        return f"{(app or self.app).base}{path}" + (f"?{q}" if q else "")

    @staticmethod
    def qid(store_name: str, profile_id: str) -> str:
        return qualify(store_name, profile_id)

    @staticmethod
    def s3_location(store_name: str, profile_id: str) -> tuple[str, str]:
        """(bucket, key prefix) of a profile in a named S3 store."""
        return BUCKETS[store_name], f"{PREFIX}/{profile_id}/"

    def close(self) -> None:
        if self._app is not None:
            self._app.stop()
        for store in self.stores.values():
            store.close()
        self.s3.stop()
