"""The processes a benchmark run talks to: the S3 stand-in and the HTTP server.

Each runs in a process of its own, so its peak memory can be read from
``/proc`` and it does not share an interpreter lock with the client.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import IO, Any

from .harness import ProcMemory

__all__ = ["ServerProcess", "S3Service", "AppServer", "ROOT", "traffic"]

ROOT = Path(__file__).resolve().parent.parent
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class ServerProcess:
    """``python -m <module> <args>`` that prints one JSON line once it serves.

    The child serves until its standard input closes; its standard error goes
    to ``log_path`` and is shown when it fails to start.
    """

    def __init__(
        self, module: str, args: list[str], log_path: Path, env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, **S3_ENV, **(env or {}), "PYTHONPATH": path}
        env.pop("AWS_PROFILE", None)
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env=env,
        )
        self.info = self._first_line(timeout)
        self.memory = ProcMemory(self.proc.pid)

    def _first_line(self, timeout: float) -> dict[str, Any]:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server {self.proc.args[2]} did not start:\n{tail}")
        return json.loads(line)

    def stop(self) -> None:
        """Close its input (it exits), then make sure it is gone."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._log.close()


class S3Service(ServerProcess):
    """The moto S3 server with its request counter."""

    def __init__(self, log_path: Path) -> None:
        super().__init__("benchmarks._s3_process", [], log_path)
        self.endpoint: str = self.info["endpoint"]

    def storage_options(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing"}

    def client(self) -> Any:
        """A boto3 client, for the baselines and for setting up data."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.endpoint}/__bench__/stats", timeout=30) as r:
            return json.loads(r.read())

    def reset_counts(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/__bench__/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()


def traffic(counts: dict[str, int]) -> dict[str, int]:
    """Totals of a counter snapshot: requests, bytes up and down, image object bytes."""
    per_kind = {k: v for k, v in counts.items() if not k.startswith("image.")}
    requests = sum(v for k, v in per_kind.items() if k.endswith(".requests"))
    up = sum(v for k, v in per_kind.items() if k.endswith(".bytes_in"))
    down = sum(v for k, v in per_kind.items() if k.endswith(".bytes_out"))
    images = counts.get("image.bytes_in", 0) + counts.get("image.bytes_out", 0)
    return {"requests": requests, "bytes_up": up, "bytes_down": down, "image_bytes": images}


class AppServer(ServerProcess):
    """poolstore's HTTP routes on 127.0.0.1 (see ``benchmarks._app_process``)."""

    def __init__(self, stores: dict[str, dict[str, Any]], log_path: Path, env_extra: dict[str, str] | None = None) -> None:
        super().__init__("benchmarks._app_process", [json.dumps(stores)], log_path, env_extra)
        self.base = f"http://127.0.0.1:{self.info['port']}"
