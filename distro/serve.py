"""Start the web app with Reflex in production mode and print where to open it.

`make run` calls `python -m distro.serve`. Reflex 0.10 builds the frontend on every start in
production mode, then serves pages, events and `/api/v1` on one port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from distro.settings import REPO_ROOT

DEMO_SIGN_INS = REPO_ROOT / "data" / "demo-sign-ins.txt"
START_TIMEOUT_S = 900
"""Seconds to wait for the first build and response; a first build installs npm packages."""


def reflex_environment(
    database_url: str | None = None, origin: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Return the environment for `reflex run`: the venv's Node first, no internet probes.

    Args:
        database_url: Sets DISTRO_DATABASE_URL when given.
        origin: The browser's origin, which the backend must accept for events and the API.
        extra: Further variables to set.
    """
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "REFLEX_USE_NPM": "1",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_TELEMETRY_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url:
        env["DISTRO_DATABASE_URL"] = database_url
    if origin:
        env["DISTRO_CORS_ORIGINS"] = origin
    env.update(extra or {})

    if not env.get("NPM_CONFIG_REGISTRY"):
        # Without it Reflex measures the latency of two public registries before installing,
        # and waits on the one this machine may not reach. npm's own setting is the right one.
        npm = shutil.which("npm", path=env["PATH"])
        if npm is not None:
            registry = subprocess.run(
                [npm, "config", "get", "registry"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            ).stdout.strip()
            if registry:
                env["NPM_CONFIG_REGISTRY"] = registry
    return env


def reflex_command(port: int) -> list[str]:
    """Return the command line that serves the app in production mode on `port`."""
    reflex = str(Path(sys.executable).parent / "reflex")
    return [
        reflex, "run", "--env", "prod", "--single-port",
        "--frontend-port", str(port), "--backend-host", "127.0.0.1",
    ]


def wait_for(url: str, process: subprocess.Popen, timeout_s: float) -> bool:
    """Poll `url` until it returns 200; return False if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (loopback URL we built)
                if response.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(1)
    return False


def main() -> int:
    """Build and serve the app, print the board's URL and the demo sign-ins, wait for Ctrl-C."""
    port = int(os.environ.get("DISTRO_PORT", "3000"))
    base = f"http://127.0.0.1:{port}"
    origins = os.environ.get("DISTRO_CORS_ORIGINS", f"http://localhost:{port},{base}")
    env = reflex_environment(origin=origins)

    print("Building the web frontend and starting the server (a first build takes minutes)...")
    process = subprocess.Popen(reflex_command(port), cwd=REPO_ROOT, env=env)
    try:
        if not wait_for(f"{base}/api/v1/health", process, START_TIMEOUT_S):
            print("The app did not start; see the messages above.", file=sys.stderr)
            process.terminate()
            return process.wait() or 1

        print()
        print(f"Distro is running. Dispatch board: {base}/dispatch")
        print(f"Sign in at {base}/login")
        if DEMO_SIGN_INS.exists():
            print("Demo sign-ins (role, user, password):")
            print(DEMO_SIGN_INS.read_text(encoding="utf-8").rstrip())
        print("Press Ctrl-C to stop.")
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return 1


if __name__ == "__main__":
    sys.exit(main())
