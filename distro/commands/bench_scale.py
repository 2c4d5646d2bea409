"""``distro bench routing --scale``: planning time and peak memory on synthetic days.

Each size is one ``synthetic_day`` (3 depots, one vehicle per 33 stops) planned by
``solve``. Above 1,000 stops the planner cuts the day into zones. Memory is the
resident set size of this process plus every process it started, sampled from
``/proc`` every 0.1 s, so the peak can miss spikes shorter than that.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import click

from distro.routing.solve import recheck_plan, solve
from distro.routing.synthetic import synthetic_day

#: Smallest budget of one run in seconds, so small days still get a real search.
MIN_SECONDS = 10.0

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class MemorySampler:
    """Sample the summed RSS of this process and its descendants in a thread.

    Linux only: it reads ``/proc``. Elsewhere ``peak_mb`` stays 0.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        """Largest summed RSS seen, in MiB."""
        return self.peak_bytes / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, _tree_rss(os.getpid()))
            self._stop.wait(self.interval)


def _tree_rss(pid: int) -> int:
    """Return the RSS in bytes of a process and all its descendants; 0 off Linux."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            pages = int(Path(f"/proc/{current}/statm").read_text().split()[1])
            total += pages * _PAGE_BYTES
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, ValueError, IndexError):
            # The process ended between listing and reading.
            continue
    return total


def run_scale(sizes: list[int], largest_seconds: float, engine: str, seed: int) -> None:
    """Plan one synthetic day per size and print a Markdown table of time and memory."""
    largest = max(sizes)
    click.echo(
        f"# routing scale benchmark: sizes {', '.join(map(str, sizes))}, {largest_seconds:g} s "
        f"for {largest} stops (matrices included), engine {engine}, seed {seed}, "
        f"{os.cpu_count()} CPUs"
    )
    header = [
        "stops", "depots", "vehicles", "budget s", "matrix s", "solve s", "total s", "routes",
        "unassigned", "km", "peak RSS MiB", "load avg",
    ]
    click.echo("| " + " | ".join(header) + " |")
    click.echo("|" + "---|" * len(header))
    for n_stops in sizes:
        budget = max(MIN_SECONDS, largest_seconds * n_stops / largest)
        with MemorySampler() as memory:
            started = time.monotonic()
            problem = synthetic_day(n_stops, n_depots=3, seed=seed)
            matrix_seconds = time.monotonic() - started
            plan = solve(
                problem, time_limit=max(1.0, budget - matrix_seconds), seed=seed, engine=engine
            )
            total = time.monotonic() - started
        violations = recheck_plan(problem, plan)
        if violations:
            click.echo(
                f"{n_stops} stops: {len(violations)} rule violations, first: {violations[0]}"
            )
        load_1, _, _ = os.getloadavg()
        row = [
            str(n_stops), "3", str(len(problem.vehicles)), f"{budget:.0f}",
            f"{matrix_seconds:.1f}", f"{plan.solve_seconds:.1f}", f"{total:.1f}",
            str(len(plan.routes)), str(len(plan.unassigned)), f"{plan.total_distance / 1000:.0f}",
            f"{memory.peak_mb:.0f}", f"{load_1:.1f}",
        ]
        click.echo("| " + " | ".join(row) + " |")
        del problem, plan
