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
loaded = sorted({{m.split('.')[0] for m in sys.modules}})
print(json.dumps(loaded))
"""


def loaded_top_level_modules(package) -> set[str]:
    """Import every module of `package` in a fresh interpreter; return the top-level modules loaded."""
    modules = [package.__name__] + [
        f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
    ]
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return set(json.loads(output.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("forbidden", ["reflex", "fastapi", "starlette"])
def test_backbone_imports_no_web_framework(forbidden):
    """Loading every backbone module pulls in no web framework."""
    assert forbidden not in loaded_top_level_modules(distro.backbone)


@pytest.mark.parametrize("forbidden", ["sqlmodel", "sqlalchemy", "reflex", "fastapi", "psycopg"])
def test_routing_imports_no_database_or_ui(forbidden):
    """Loading every routing module pulls in neither the database layer nor the UI."""
    assert forbidden not in loaded_top_level_modules(distro.routing)
