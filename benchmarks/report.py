"""The report: what the machine was, and per case the measured tables and the
targets with PASS/MISS, written as Markdown."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Target", "Table", "CaseResult", "environment", "write_report", "fmt_s", "fmt_mb", "fmt_x", "fmt_bytes"]

PACKAGES = ["poolstore", "aiohttp", "fsspec", "s3fs", "boto3", "moto", "Pillow", "numpy", "torch"]


@dataclass
class Target:
    """One target of the issue beside its measured value."""

    goal: str
    measured: str
    passed: bool | None
    why: str = ""

    @property
    def result(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.passed]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class CaseResult:
    """What one case measured; ``error`` when it could not run."""

    number: int
    title: str
    method: str = ""
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_mb(mb: float | None) -> str:
    return "-" if mb is None else f"{mb:.1f} MiB"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "absent"
    lines = [x.strip() for x in out.splitlines() if x.strip()]
    return lines[1] if argv[0] == "zip" and len(lines) > 1 else (lines[0] if lines else "unknown")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def environment() -> dict[str, str]:
    """The machine and software the figures come from (no paths, no host names)."""
    env = {
        "date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "CPU cores": str(os.cpu_count()),
        "CPU": _cpu_model(),
        "memory": _memory_total(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "load average at start (1/5/15 min)": "/".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for name in PACKAGES:
        try:
            env[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            env[name] = "not installed"
    env["zip"] = _tool_version(["zip", "-v"])
    env["unzip"] = _tool_version(["unzip", "-v"])
    return env


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def _case(case: CaseResult) -> list[str]:
    out = [f"## {case.number}. {case.title}", ""]
    if case.method:
        out += [case.method, ""]
    if case.error:
        out += [f"**Not measured:** {case.error}", ""]
    for table in case.tables:
        if table.caption:
            out += [f"*{table.caption}*", ""]
        out += _table(table.headers, table.rows) + [""]
    if case.targets:
        rows = [[t.goal, t.measured, f"**{t.result}**", t.why] for t in case.targets]
        out += _table(["target", "measured", "result", "why / notes"], rows) + [""]
    out += [f"- {n}" for n in case.notes]
    return out + ([""] if case.notes else [])


def write_report(path: Path, header: list[str], env: dict[str, str], cases: list[CaseResult]) -> None:
    """Write the Markdown report to ``path``."""
    lines = ["# Benchmarks", "", *header, "", "## Machine and software", ""]
    lines += _table(["", ""], [[k, v] for k, v in env.items()]) + [""]
    lines += ["## Targets at a glance", ""]
    rows = [[str(c.number), t.goal, t.measured, f"**{t.result}**"] for c in cases for t in c.targets]
    rows += [[str(c.number), c.title, "not measured", "**n/a**"] for c in cases if c.error and not c.targets]
    lines += _table(["case", "target", "measured", "result"], rows) + [""]
    for case in cases:
        lines += _case(case)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
