"""Run routing engines in this process or in child processes.

A child is started as ``python -m distro.routing.worker``. It reads one pickled task
from standard input and writes the pickled ``EngineResult`` to standard output.

Plain child processes are used instead of ``multiprocessing``. Its ``spawn`` and
``forkserver`` methods re-import the caller's ``__main__`` module, which runs the top
level of any script without a ``__main__`` guard. Its ``fork`` method can deadlock in
a process with threads, such as a web server.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from distro.routing.engine_pyvrp import EngineResult, EngineTask, run_pyvrp

logger = logging.getLogger(__name__)

#: Seconds kept back from the deadline for building data and returning the result.
_BASE_OVERHEAD = 0.15

#: Seconds a child may run past the deadline before it is killed.
_KILL_GRACE = 5.0

TaskSpec = tuple[str, EngineTask, int]


def run_engine(
    name: str, task: EngineTask, deadline: float, seed: int, max_iterations: int | None
) -> EngineResult:
    """Run one engine until ``deadline``, a ``time.monotonic()`` value.

    On Linux the monotonic clock is system-wide, so a deadline can be passed to a
    child process.
    """
    # Measured: at 1,000 stops, returning and checking the plan took about a second.
    overhead = _BASE_OVERHEAD + len(task.stop_indices) / 1500
    limit = max(0.05, deadline - time.monotonic() - overhead)
    if name == "ortools":
        from distro.routing.engine_ortools import run_ortools

        return run_ortools(task, limit, seed, max_iterations)
    return run_pyvrp(task, limit, seed, max_iterations)


def run_in_children(
    tasks: list[TaskSpec],
    deadline: float,
    max_iterations: int | None,
    on_wait: Callable[[], None],
) -> list[EngineResult | None]:
    """Run each task in its own child process, in parallel.

    Args:
        tasks: ``(engine name, task, seed)`` per child.
        deadline: ``time.monotonic()`` value at which the searches must stop.
        max_iterations: Passed to the engines.
        on_wait: Called about twice a second while the children run.

    Returns:
        One result per task, None where the child failed or timed out (logged).

    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p
    )
    results: list[EngineResult | None] = [None] * len(tasks)
    threads = []
    for position, (name, task, seed) in enumerate(tasks):
        payload = pickle.dumps((name, task, deadline, seed, max_iterations))
        thread = threading.Thread(
            target=_run_child,
            args=(payload, env, deadline, results, position),
            name=f"routing-child-{position}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)

    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)
            on_wait()
    return results


def _run_child(
    payload: bytes,
    env: dict[str, str],
    deadline: float,
    results: list[EngineResult | None],
    position: int,
) -> None:
    command = [sys.executable, "-m", "distro.routing.worker"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    timeout = max(1.0, deadline - time.monotonic()) + _KILL_GRACE
    try:
        stdout, stderr = process.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        logger.error("routing child %d (pid %d) timed out and was killed", position, process.pid)
        return
    if process.returncode != 0:
        tail = stderr.decode("utf-8", "replace")[-2000:]
        logger.error(
            "routing child %d (pid %d) failed with exit code %d: %s",
            position, process.pid, process.returncode, tail,
        )
        return
    # The payload comes from the child this function started, not from outside.
    results[position] = pickle.loads(stdout)  # noqa: S301


def main() -> None:
    """Read a pickled task from standard input, solve it, write the pickled result."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The parent starts this process and writes the payload itself.
    name, task, deadline, seed, max_iterations = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    result = run_engine(name, task, deadline, seed, max_iterations)
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()
    # The parent waits for this process to exit, so skip the interpreter's teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
