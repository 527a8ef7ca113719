"""Packaging metadata: the Comfy Registry's pyproject.toml fields as its
specification (docs.comfy.org, Registry > pyproject.toml > Specifications)
describes them, and requirements.txt in step with the runtime dependencies.
``comfy node validate`` itself runs in scripts/test."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from packaging.requirements import Requirement
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# The node id: under 100 characters; letters, digits, "-", "_" and "."; no two
# special characters in a row; starting with a letter.
NODE_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
ICON_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".gif"}
ICON_MAX = 400  # pixels, square


def test_project_fields_the_registry_requires():
    project = PYPROJECT["project"]
    assert len(project["name"]) < 100 and NODE_ID.fullmatch(project["name"])
    assert "comfyui" not in project["name"].lower()
    assert SEMVER.fullmatch(project["version"])
    assert project["description"].strip()
    license = project["license"]
    assert isinstance(license, dict) and set(license) in ({"text"}, {"file"})
    if "file" in license:
        assert (ROOT / license["file"]).is_file()


def test_tool_comfy_section():
    comfy = PYPROJECT["tool"]["comfy"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", comfy["PublisherId"])
    assert comfy["DisplayName"].strip()
    assert "web" not in comfy  # WEB_DIRECTORY registers the folder once; see pyproject.toml
    assert set(comfy) <= {"PublisherId", "DisplayName", "Icon", "Banner", "Models", "includes", "requires-comfyui"}


def _svg_size(path: Path) -> tuple[float, float]:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _x, _y, width, height = (float(v) for v in root.get("viewBox").split())
    return float(root.get("width", width)), float(root.get("height", height))


def test_icon_is_a_square_image_of_at_most_400px_in_the_repo():
    icon = PYPROJECT["tool"]["comfy"]["Icon"]
    path = ROOT / icon
    assert path.is_file() and path.suffix.lower() in ICON_TYPES
    if path.suffix.lower() == ".svg":
        width, height = _svg_size(path)
    else:
        with Image.open(path) as image:
            width, height = image.size
    assert width == height <= ICON_MAX


def _requirements(lines: list[str]) -> set[str]:
    """Requirements in a comparable form (name normalised, specifiers sorted)."""
    out = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            out.add(f"{name}{','.join(sorted(str(s) for s in req.specifier))};{req.marker or ''}")
    return out


def test_requirements_txt_matches_the_runtime_dependencies():
    listed = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert _requirements(listed) == _requirements(PYPROJECT["project"]["dependencies"])


def test_readme_set_up_is_two_commands_and_links_the_install_recipes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    set_up = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```\w*\n(.*?)\n```", set_up, re.S) == ["pip install . && poolstore serve", "bash scripts/test"]
    assert "docs/INSTALL.md" in set_up and (ROOT / "docs" / "INSTALL.md").is_file()
