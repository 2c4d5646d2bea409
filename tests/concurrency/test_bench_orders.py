"""`distro bench orders` runs end to end on PostgreSQL, in closed and open load."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from distro.commands.bench_orders import orders

pytestmark = pytest.mark.postgres


def run_bench(admin_url: str, *extra: str) -> str:
    result = CliRunner().invoke(
        orders,
        ["--admin-url", admin_url, "--dealers", "4", "--seconds", "1.5", "--runs", "1", *extra],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def medians(output: str) -> dict[str, tuple[float, float, float]]:
    found = re.findall(
        r"(\w+) median run: ([\d.]+) orders/s, p50 ([\d.]+) ms, p95 ([\d.]+) ms", output
    )
    return {mode: (float(rate), float(p50), float(p95)) for mode, rate, p50, p95 in found}


def test_closed_load_through_backbone_and_api(postgres_server):
    """Both modes accept orders with no errors, and p50 never exceeds p95."""
    output = run_bench(postgres_server, "--mode", "both", "--processes", "2")

    assert "4 concurrent dealers in 2 processes" in output
    rows = re.findall(r"^(backbone|api)\s+\d+\s+(\d+)\s+(\d+)\s", output, flags=re.MULTILINE)
    assert [mode for mode, _, _ in rows] == ["backbone", "api"]
    assert all(int(accepted) > 0 and int(errors) == 0 for _, accepted, errors in rows)
    for rate, p50, p95 in medians(output).values():
        assert rate > 0
        assert 0 < p50 <= p95


def test_open_load_offers_the_asked_rate(postgres_server):
    """At 20 orders/s offered for 1.5 s the bench completes about that many, never far more."""
    output = run_bench(postgres_server, "--rate", "20", "--processes", "1")

    assert "open load of 20 orders/s" in output
    rate, p50, p95 = medians(output)["backbone"]
    # Poisson arrivals: 30 expected in 1.5 s; the bounds leave room for chance and a slow box.
    assert 5 < rate < 40
    assert 0 < p50 <= p95
