"""Azure Blob Storage for the tests: Azurite, the official emulator, in a
process of its own on 127.0.0.1 and a free port.

scripts/test installs it (``npm ci`` in tests/azurite). Its data lives in
memory only; its telemetry is switched off. The account is the emulator's
published development account (``devstoreaccount1`` and its well-known key),
which opens nothing anywhere else.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from support import stop_process

HERE = Path(__file__).resolve().parent
AZURITE = HERE / "azurite" / "node_modules" / ".bin" / ("azurite-blob.cmd" if os.name == "nt" else "azurite-blob")
ACCOUNT = "devstoreaccount1"
# The emulator's fixed, documented development key (not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"successfully listens on http://127\.0\.0\.1:(\d+)")


def azurite_missing() -> str | None:
    """Why Azurite cannot run here (``None`` when it can)."""
    try:
        import adlfs  # noqa: F401
        import azure.storage.blob  # noqa: F401
    except ImportError as exc:
        return f"the azure extra is not installed ({exc}); run scripts/test"
    if not AZURITE.exists():
        return f"Azurite is not installed ({AZURITE} is missing); run scripts/test"
    return None


class AzuriteServer:
    """Azurite's blob service on 127.0.0.1, in memory; stop it with :meth:`stop`."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="azurite-")
        self.port = 0
        self._client: Any = None

    def start(self, timeout: float = 60.0) -> None:
        log = Path(self._dir.name) / "azurite.log"
        args = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
                "--extentMemoryLimit", "1024", "--loose", "--skipApiVersionCheck", "--disableTelemetry"]
        with open(log, "wb") as out:
            self._proc = subprocess.Popen(args, cwd=self._dir.name, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self.port:
            found = _LISTENING.search(log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
            elif self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not start: {log.read_text(errors='replace')[-2000:]}")
            else:
                time.sleep(0.05)

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        self._dir.cleanup()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.endpoint};")

    def storage_options(self) -> dict[str, Any]:
        """Plain options (JSON-serialisable, for child processes)."""
        return {"connection_string": self.connection_string}

    def client(self) -> Any:
        """A (synchronous) ``BlobServiceClient`` of the emulator, made once."""
        if self._client is None:
            from azure.storage.blob import BlobServiceClient

            self._client = BlobServiceClient.from_connection_string(self.connection_string)
        return self._client

    def new_container(self) -> str:
        name = f"c-{uuid.uuid4().hex[:16]}"
        self.client().create_container(name)
        return name
