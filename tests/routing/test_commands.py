"""The `route` and `bench routing` commands, run through click's test runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from distro.commands.bench_routing import routing
from distro.commands.route import route


def test_route_json_output(instances_dir):
    """--json prints file stop ids, the cost in the file's convention and the loads."""
    result = CliRunner().invoke(
        route, [str(instances_dir / "vrptw" / "C101.txt"), "--time-limit", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["instance"] == "C101"
    assert sorted(s for r in data["routes"] for s in r) == sorted(str(i) for i in range(1, 101))
    assert data["cost"] == pytest.approx(827.3, rel=0.02)
    assert len(data["loads"]) == len(data["routes"])
    assert data["unassigned"] == []
    assert data["seed"] == 0


def test_route_bad_file_exit_code_two(tmp_path):
    """An unreadable instance file exits with code 2 and names the file."""
    bad = tmp_path / "bad.vrp"
    bad.write_text("nonsense\n")
    result = CliRunner().invoke(route, [str(bad)])
    assert result.exit_code == 2
    assert "bad.vrp: unknown instance format" in result.output


def test_bench_routing_prints_gap(instances_dir, monkeypatch):
    """The benchmark prints a row with the gap to the best-known cost and a summary."""
    monkeypatch.setenv("DISTRO_VRP_INSTANCES", str(instances_dir))
    result = CliRunner().invoke(
        routing, ["--time-limit", "1", "--instances", "X-n101-k25", "--no-baseline"]
    )
    assert result.exit_code == 0, result.output
    assert "| X-n101-k25 | 100 | 27591 |" in result.output
    assert "auto: mean gap" in result.output


def test_bench_routing_unknown_instance(instances_dir, monkeypatch):
    """An unknown instance name is a usage error that lists the known names."""
    monkeypatch.setenv("DISTRO_VRP_INSTANCES", str(instances_dir))
    result = CliRunner().invoke(routing, ["--instances", "X-n9-k1"])
    assert result.exit_code == 2
    assert "X-n101-k25" in result.output
