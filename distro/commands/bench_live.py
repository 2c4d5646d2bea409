"""`distro bench live`: time from a rider's status change to its appearance on the dispatch board.

Builds a SQLite database in a temporary folder with one published route for a rider user,
a dispatcher user and `--riders` simulated riders with API tokens; serves the app with
`reflex run --env prod` on a free loopback port; opens the rider page (375x812) in one
Chromium and the dispatch board in another. While the simulated riders post positions to
/api/v1/rider/positions every `--interval` seconds, the rider works through the route
(on my way, arrived, delivered at each stop) and each change is timed from the click to the
moment the board lists it. Needs Debian's Chromium at /usr/bin/chromium and Playwright.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import closing
from datetime import date
from pathlib import Path

import click
from sqlmodel import Session

from distro.backbone import accounts
from distro.backbone import fulfillment as ff
from distro.backbone.actors import SYSTEM, Actor
from distro.backbone.models import (
    Plan,
    PlanStatus,
    Rider,
    Role,
    Route,
    RouteStatus,
    Shift,
    Vehicle,
    Warehouse,
)
from distro.db import make_engine, upgrade_database
from distro.settings import REPO_ROOT

PASSWORD = "bench-live-password-1"  # noqa: S105  (a throwaway benchmark database)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEPOT = (-22.9056, -47.0608)


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_network(url: str, stops: int, riders: int) -> list[str]:
    """Create the depot, the benchmarked rider's published route, the users and the rider tokens.

    Returns:
        One API token per simulated rider.
    """
    upgrade_database(url)
    engine = make_engine(url)
    today = date.today()
    admin = Actor(username="bench", role=Role.ADMIN)
    tokens = []
    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(code="WH-B", name="Bench depot", latitude=DEPOT[0], longitude=DEPOT[1])
        session.add(depot)
        session.flush()
        rider_ids = []
        for index in range(riders + 1):
            vehicle = Vehicle(
                code=f"BV-{index}", name=f"Van {index}", capacity_kg=10_000, capacity_units=10_000
            )
            rider = Rider(code=f"BR-{index}", name=f"Bench rider {index}")
            session.add_all([vehicle, rider])
            session.flush()
            session.add(
                Shift(rider_id=rider.id, vehicle_id=vehicle.id, depot_id=depot.id, day=today)
            )
            rider_ids.append((rider.id, vehicle.id))
        plan = Plan(day=today, depot_id=depot.id, status=PlanStatus.DRAFT, engine="bench")
        session.add(plan)
        session.flush()
        route = Route(
            plan_id=plan.id,
            day=today,
            depot_id=depot.id,
            vehicle_id=rider_ids[0][1],
            rider_id=rider_ids[0][0],
            status=RouteStatus.DRAFT,
            start_min=8 * 60,
        )
        session.add(route)
        session.flush()
        for index in range(stops):
            stop = ff.create_stop(
                session,
                SYSTEM,
                depot_id=depot.id,
                day=today,
                latitude=DEPOT[0] + 0.01 * (index % 5),
                longitude=DEPOT[1] + 0.01 * (index // 5),
                demand_kg=5,
                demand_units=1,
                label=f"Bench stop {index + 1}",
                source="bench",
            )
            stop.route_id = route.id
            stop.sequence = index + 1
            session.add(stop)
        session.flush()
        ff.publish_plan(session, admin, plan.id)
        accounts.create_user(session, "bench.rider", PASSWORD, "rider", rider_id=rider_ids[0][0])
        accounts.create_user(session, "bench.dispatch", PASSWORD, "dispatcher")
        for rider_id, _ in rider_ids[1:]:
            _, token = accounts.create_api_token(
                session, admin, f"bench rider {rider_id}", "rider", rider_id=rider_id
            )
            tokens.append(token)
        session.commit()
    engine.dispose()
    return tokens


def start_server(url: str, port: int, log_path: Path) -> subprocess.Popen:
    """Start `reflex run --env prod` on `port` and wait until the board page answers."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "REFLEX_USE_NPM": "1",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_TELEMETRY_ENABLED": "0",
            "DISTRO_DATABASE_URL": url,
            "DISTRO_TILE_URL": "",
            "DISTRO_PROOF_REQUIRED": "",
            # The browsers load the app from this origin; Reflex rejects websockets from others.
            "DISTRO_CORS_ORIGINS": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "reflex"),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--frontend-port",
            str(port),
            "--backend-host",
            "127.0.0.1",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(
                f"reflex run exited with {process.returncode}; see {log_path}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/dispatch", timeout=5):
                return process
        except OSError:
            time.sleep(1)
    raise click.ClickException(f"The app did not start within 600 s; see {log_path}")


def post_positions(
    base_url: str, tokens: list[str], interval: float, stop: threading.Event, counts: dict[str, int]
) -> None:
    """Post a position for every simulated rider every `interval` seconds until `stop` is set."""
    step = 0
    while not stop.is_set():
        started = time.monotonic()
        for index, token in enumerate(tokens):
            body = json.dumps(
                {
                    "lat": DEPOT[0] + 0.001 * (index + step % 10),
                    "lon": DEPOT[1] + 0.001 * index,
                    "accuracy_m": 10,
                }
            ).encode()
            request = urllib.request.Request(  # noqa: S310
                f"{base_url}/api/v1/rider/positions",
                data=body,
                method="POST",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            try:
                # The URL is the loopback server this command started.
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    counts["ok" if response.status == 200 else "error"] += 1
            except OSError:
                counts["error"] += 1
        step += 1
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def _sign_in(page, base_url: str, username: str, target: str) -> None:
    page.goto(f"{base_url}/login?next={target}")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"**{target}*", timeout=60_000)


def measure(base_url: str, stops: int) -> list[float]:
    """Work through the route in the rider page; return seconds from each click to the board."""
    from playwright.sync_api import sync_playwright

    samples = []
    with sync_playwright() as playwright:
        rider_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        board_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        rider = rider_browser.new_context(viewport={"width": 375, "height": 812}).new_page()
        board = board_browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
        _sign_in(board, base_url, "bench.dispatch", "/dispatch")
        board.wait_for_selector("#live-checked", timeout=60_000)
        _sign_in(rider, base_url, "bench.rider", "/rider")
        rider.wait_for_selector("article[data-delivery-id]", timeout=60_000)
        ids = rider.eval_on_selector_all(
            "article[data-delivery-id]", "n => n.map(e => e.dataset.deliveryId)"
        )

        for delivery_id in ids[:stops]:
            card = f"article[data-delivery-id='{delivery_id}']"
            steps = [
                ("out_for_delivery", [f"{card} [data-action='out_for_delivery']"]),
                ("arrived", [f"{card} [data-action='arrived']"]),
                (
                    "delivered",
                    [
                        f"{card} [data-action='deliver']",
                        f"#deliver-panel-{delivery_id} [data-action='confirm-delivery']",
                    ],
                ),
            ]
            for status, clicks in steps:
                for selector in clicks[:-1]:
                    rider.click(selector)
                started = time.monotonic()
                rider.click(clicks[-1])
                board.wait_for_selector(
                    f".board-update[data-delivery-id='{delivery_id}'][data-status='{status}']",
                    timeout=30_000,
                )
                samples.append(time.monotonic() - started)
                rider.wait_for_selector(f"{card}[data-status='{status}']", timeout=30_000)
        rider_browser.close()
        board_browser.close()
    return samples


@click.command("live")
@click.option("--riders", default=50, show_default=True, help="Simulated riders posting positions.")
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    help="Seconds between each simulated rider's positions.",
)
@click.option(
    "--stops",
    default=20,
    show_default=True,
    help="Stops the browser rider works through (3 updates each).",
)
def live(riders: int, interval: float, stops: int) -> None:
    """Time rider status changes until the dispatch board shows them, under position load."""
    folder = Path(tempfile.mkdtemp(prefix="distro-bench-live-"))
    url = f"sqlite:///{folder / 'distro.db'}"
    click.echo(f"Loading {stops} stops and {riders} simulated riders into {url}")
    tokens = load_network(url, stops, riders)
    port = _free_port()
    click.echo("Building and starting the app (reflex run --env prod); this takes a minute or two")
    process = start_server(url, port, folder / "reflex.log")
    base_url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    counts = {"ok": 0, "error": 0}
    poster = threading.Thread(
        target=post_positions, args=(base_url, tokens, interval, stop, counts), daemon=True
    )
    try:
        poster.start()
        samples = measure(base_url, stops)
    finally:
        stop.set()
        poster.join(timeout=30)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    click.echo(
        f"{len(samples)} status changes: p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms; "
        f"positions posted {counts['ok']}, failed {counts['error']}"
    )
