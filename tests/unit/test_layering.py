"""The dependency direction: pages -> state -> backbone -> routing, and api -> backbone."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import distro.backbone
import distro.routing

PROBE = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_top_level_modules(package) -> set[str]:
    """Import every module of `package` in a fresh interpreter; return what it loaded.

    The result holds top-level package names and, for Distro, its subpackages ("distro.api").
    """
    modules = [package.__name__] + [
        f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
    ]
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    loaded = json.loads(output.stdout.strip().splitlines()[-1])
    return {name.split(".")[0] for name in loaded} | {
        ".".join(name.split(".")[:2]) for name in loaded if name.startswith("distro.")
    }


@pytest.mark.parametrize(
    "forbidden",
    ["reflex", "fastapi", "starlette", "distro.api", "distro.state", "distro.pages", "distro.components"],
)
def test_backbone_imports_no_web_framework(forbidden):
    """Loading every backbone module pulls in no web framework and no layer above it."""
    assert forbidden not in loaded_top_level_modules(distro.backbone)


@pytest.mark.parametrize("forbidden", ["sqlmodel", "sqlalchemy", "reflex", "fastapi", "psycopg"])
def test_routing_imports_no_database_or_ui(forbidden):
    """Loading every routing module pulls in neither the database layer nor the UI."""
    assert forbidden not in loaded_top_level_modules(distro.routing)
