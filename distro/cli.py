"""The `distro` command: database set-up, demo data, imports, routing and benchmarks."""

from __future__ import annotations

import logging

import click

from distro.commands.bench_kpis import kpis_command as bench_kpis
from distro.commands.bench_live import live as bench_live
from distro.commands.bench_orders import orders as bench_orders
from distro.commands.bench_routing import routing as bench_routing
from distro.commands.db import db
from distro.commands.demo import demo
from distro.commands.imports import import_group
from distro.commands.plan import plan
from distro.commands.route import route


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level to standard error.")
def main(verbose: bool) -> None:
    """Distro: orders, stock, dispatch and delivery for a dealer network."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def bench() -> None:
    """Measure speed and quality; results belong in docs/benchmarks.md."""


bench.add_command(bench_kpis)
bench.add_command(bench_live)
bench.add_command(bench_orders)
bench.add_command(bench_routing)
main.add_command(db)
main.add_command(demo)
main.add_command(import_group)
main.add_command(plan)
main.add_command(route)


if __name__ == "__main__":
    main()
