"""Browser test support: Debian's Chromium through Playwright, a real
``poolstore serve`` process, screenshots as test artifacts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from support import stop_process

CHROMIUM = os.environ.get("POOLSTORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("POOLSTORE_TEST_ARTIFACTS", REPO / "test-artifacts"))
README_IMAGES = REPO / "docs" / "img"


def launch_browser(playwright: Any, extra_args: list[str] | None = None) -> Any:
    """Chromium from the system (never a downloaded build)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args or []))


def open_page(browser: Any, url: str, width: int = 1280, height: int = 900) -> Any:
    """A new page at ``url``; page errors are collected in ``page.errors``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    return page


class Server:
    """``python -m poolstore serve`` on a free port, as a subprocess; ``url``
    is its address over 127.0.0.1 (also when it listens on 0.0.0.0)."""

    def __init__(
        self,
        store_url: str,
        options: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        args: list[str] | None = None,
        preexec_fn: Any = None,
    ) -> None:
        cmd = [sys.executable, "-m", "poolstore", "serve", "--host", host, "--port", "0", "--store", store_url]
        for key, value in (options or {}).items():
            cmd += ["--storage-option", f"{key}={value}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(cmd + list(args or []), cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)
        self.url = self._wait_for_url(host)
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self.output: list[str] = []
        # keep reading what it prints, so a full pipe never blocks the server
        threading.Thread(target=lambda: self.output.extend(self.proc.stdout), daemon=True).start()

    def _wait_for_url(self, host: str) -> str:
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            found = re.search(r"http://" + re.escape(host) + r":(\d+)/", line)
            if found:
                return f"http://127.0.0.1:{found.group(1)}/"
        self.stop()
        raise RuntimeError("poolstore serve did not start:\n" + "".join(seen))

    def stop(self) -> None:
        stop_process(self.proc)


def save_screenshot(page: Any, name: str, readme_name: str | None = None) -> Path:
    """Save a screenshot under the artifacts folder; with POOLSTORE_SCREENSHOTS=1
    also copy it to docs/img/<readme_name> (the README's pictures)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    if readme_name and os.environ.get("POOLSTORE_SCREENSHOTS") == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_IMAGES / readme_name)
    return path


def make_pngs(folder: Path, count: int) -> list[Path]:
    """``count`` distinct real PNG files (a coloured field with a disc)."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    palette = [(220, 80, 60), (60, 160, 220), (90, 200, 120), (230, 190, 60), (160, 90, 220), (240, 140, 180)]
    out = []
    for i in range(count):
        color = palette[i % len(palette)]
        img = Image.new("RGB", (160, 120), color)
        ImageDraw.Draw(img).ellipse((50, 30, 110, 90), fill=tuple(255 - c for c in color))
        path = folder / f"picture_{i}.png"
        img.save(path)
        out.append(path)
    return out
