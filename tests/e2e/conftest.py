"""Fixtures for browser tests: the app served by `reflex run --env prod` and Debian's Chromium.

The server builds the production frontend into the repository's `.web` folder first. That
took about 15 s on a 2-core machine with the npm cache warm, and longer on a first install.
It then serves the pages, the Reflex events and the `/api/v1` routes on one loopback port,
against a SQLite database in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from distro import serve
from distro.db import make_engine, upgrade_database

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = float(os.environ.get("DISTRO_E2E_START_TIMEOUT", "420"))
"""Seconds to wait for the build and the first response; the build takes most of it."""


@dataclass(frozen=True)
class RunningApp:
    """A Distro server started for a test module."""

    base_url: str
    database_url: str
    engine: Engine
    log_path: Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reflex_environment(database_url: str, origin: str) -> dict[str, str]:
    """Return the environment for `reflex run` against a test database, with no tile server."""
    return serve.reflex_environment(
        database_url=database_url,
        origin=origin,
        extra={
            # No tile server in tests: the map must draw stops and routes without tiles.
            "DISTRO_TILE_URL": "",
            "DISTRO_PLAN_TIME_LIMIT": os.environ.get("DISTRO_E2E_PLAN_TIME_LIMIT", "5"),
        },
    )


def wait_until_serving(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Poll the health route and the board page until both return 200; fail with the log's end."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"reflex run exited with {process.returncode}:\n{tail(log_path)}")
        try:
            for path in ("/api/v1/health", "/dispatch"):
                with urllib.request.urlopen(base_url + path, timeout=5) as response:
                    if response.status != 200:
                        raise OSError(f"{path} returned HTTP {response.status}")
            return
        except (OSError, urllib.error.URLError) as error:
            last_error = str(error)
        time.sleep(1)
    pytest.fail(
        f"App did not serve {base_url} within {SERVER_START_TIMEOUT_S:.0f} s ({last_error}):\n"
        f"{tail(log_path)}"
    )


def tail(path: Path, lines: int = 60) -> str:
    """Return the last lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop the server and the workers it started, which share its process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; skips the test when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium not found at /usr/bin/chromium; install it with apt-get install chromium"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    """A headless Chromium driven by Playwright, shared by the tests of a module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def start_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[Callable[[Engine], None]], RunningApp]]:
    """Return a function that fills a fresh SQLite database and serves the app on it.

    The function takes a callable that receives the migrated database's engine and loads the
    test's data, then starts `reflex run --env prod` on a free loopback port.
    """
    if shutil.which("reflex", path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"reflex is not installed next to {sys.executable}")
    started: list[tuple[subprocess.Popen, Engine]] = []

    def start(load_data: Callable[[Engine], None]) -> RunningApp:
        folder = tmp_path_factory.mktemp("app")
        database_url = f"sqlite:///{folder / 'distro.db'}"
        upgrade_database(database_url)
        engine = make_engine(database_url)
        load_data(engine)

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = folder / "reflex.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [*serve.reflex_command(port), "--loglevel", "info"],
                cwd=REPO_ROOT,
                env=reflex_environment(database_url, base_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started.append((process, engine))
        wait_until_serving(base_url, process, log_path)
        return RunningApp(
            base_url=base_url, database_url=database_url, engine=engine, log_path=log_path
        )

    yield start

    for process, engine in started:
        stop_process_group(process)
        engine.dispose()
