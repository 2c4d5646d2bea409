"""The dispatch board in a real browser: plan the loggibud rj-0 day, move, lock, publish, insert."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import vrp_instances_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY = date(2025, 3, 3)
INSTANCE = "lastmile/loggibud-cvrp-0-rj-0.json"
STOPS = 221
VEHICLE_UNITS = 180
PLAN_TIMEOUT_MS = 180_000
DISPATCHER = "dispatcher"
PASSWORD = "board-test-password"
SCREENSHOT = (
    Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
    / "distro-dispatch-board.png"
)

READ_ROUTES_JS = """
() => Array.from(document.querySelectorAll('tr.route-row')).map((row) => {
  const cells = row.querySelectorAll('td');
  return {
    id: row.dataset.routeId,
    rider: cells[1].innerText.trim(),
    vehicle: cells[2].innerText.trim(),
    stops: Number(cells[3].innerText.trim()),
    units: cells[5].innerText.trim(),
    status: cells[9].innerText.trim(),
  };
})
"""

READ_STOPS_JS = """
() => Array.from(document.querySelectorAll('#route-stops-table tbody tr')).map((row) => {
  const cells = row.querySelectorAll('td');
  return { id: cells[1].innerText.trim(), demand: cells[5].innerText.trim() };
})
"""


@pytest.fixture(scope="module")
def instance_path() -> Path:
    path = vrp_instances_dir() / INSTANCE
    if not path.exists():
        pytest.skip(f"loggibud instance not found at {path}; set DISTRO_VRP_INSTANCES")
    return path


@pytest.fixture(scope="module")
def board_app(start_app, instance_path: Path):
    from distro.backbone.accounts import create_user
    from distro.backbone.imports import import_loggibud
    from distro.backbone.models import Role

    def load(engine: Engine) -> None:
        with Session(engine) as session:
            import_loggibud(session, instance_path, DAY)
            create_user(session, DISPATCHER, PASSWORD, Role.DISPATCHER, full_name="Dana Dispatcher")
            session.commit()

    return start_app(load)


@pytest.fixture
def page(browser, board_app):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    outside_requests: list[str] = []
    context.on(
        "request",
        lambda request: (
            outside_requests.append(request.url)
            if urlparse(request.url).hostname not in ("127.0.0.1", "localhost", None)
            and not request.url.startswith(("data:", "blob:", "about:"))
            else None
        ),
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.outside_requests = outside_requests
    yield page
    context.close()


def parse_load(text: str) -> tuple[int, int]:
    """Parse "170 / 180 u" into (170, 180)."""
    match = re.match(r"\s*(\d+)\s*/\s*(\d+)", text)
    assert match, f"unexpected load text {text!r}"
    return int(match.group(1)), int(match.group(2))


def parse_units(demand: str) -> int:
    """Parse "0 kg · 7 u" into 7."""
    match = re.search(r"(\d+)\s*u", demand)
    assert match, f"unexpected demand text {demand!r}"
    return int(match.group(1))


def read_routes(page) -> list[dict]:
    routes = page.evaluate(READ_ROUTES_JS)
    for route in routes:
        route["load"], route["capacity"] = parse_load(route["units"])
    return routes


def open_route(page, route: dict) -> list[dict]:
    """Click a route row and return its stops as the stop table lists them."""
    from playwright.sync_api import expect

    table = page.locator(f'#route-stops-table[data-route-id="{route["id"]}"]')
    if table.count() == 0:
        page.locator(f'tr.route-row[data-route-id="{route["id"]}"]').click()
    expect(table.locator("tbody tr")).to_have_count(route["stops"])
    return page.evaluate(READ_STOPS_JS)


def move(page, delivery_id: str, target: dict) -> str:
    """Move a stop with the form and return the notice text."""
    from playwright.sync_api import expect

    page.locator(f'button.pick-stop[data-delivery-id="{delivery_id}"]').first.click()
    expect(page.locator("#move-stop-input")).to_have_value(delivery_id)
    page.locator("#move-route-select").click()
    page.get_by_role("option").filter(has_text=f" · {target['vehicle']} · ").click()
    notice_before = page.locator("#notice-text").all_inner_texts()
    page.locator("#move-button").click()
    expect(page.locator("#notice-text")).not_to_have_text(
        notice_before[0] if notice_before else "\u0000"
    )
    return page.locator("#notice-text").inner_text()


def add_urgent_stop(engine: Engine) -> int:
    """Add a small pending stop next to the depot, as an order confirmed late would."""
    from sqlmodel import select

    from distro.backbone.actors import Actor
    from distro.backbone.fulfillment import create_stop
    from distro.backbone.models import Role, Warehouse

    with Session(engine) as session:
        depot = session.exec(select(Warehouse)).first()
        stop = create_stop(
            session, Actor(username="e2e", role=Role.DISPATCHER), depot_id=depot.id, day=DAY,
            latitude=depot.latitude + 0.001, longitude=depot.longitude, demand_units=1,
            label="Urgent e2e stop",
        )
        session.commit()
        return stop.id


def test_dispatch_board_plan_move_publish(page, board_app) -> None:
    from playwright.sync_api import expect

    # The board sends a visitor with no session to the sign-in page and back after it.
    page.goto(board_app.base_url + "/dispatch")
    expect(page).to_have_url(re.compile(r"/login"))
    page.locator("#login-username").fill(DISPATCHER)
    page.locator("#login-password").fill(PASSWORD)
    page.locator("#login-submit").click()
    expect(page).to_have_url(re.compile(r"/dispatch"))
    expect(page.locator("#board-select")).to_contain_text("LOGGIBUD")
    expect(page.locator("#stat-routed")).to_have_text(f"0 / {STOPS}")
    expect(page.locator("#plan-status")).to_have_text("Not planned yet")

    # Plan: the progress shows while the solver runs, then the draft plan's routes.
    page.locator("#plan-button").click()
    expect(page.locator("#plan-progress")).to_be_visible(timeout=15_000)
    expect(page.locator("#plan-status")).to_contain_text("draft", timeout=PLAN_TIMEOUT_MS)
    expect(page.locator("#stat-routed")).to_have_text(f"{STOPS} / {STOPS}")
    expect(page.locator("#stat-unassigned")).to_have_text("0")

    routes = read_routes(page)
    assert len(routes) >= 2
    assert sum(route["stops"] for route in routes) == STOPS
    for route in routes:
        assert route["capacity"] == VEHICLE_UNITS
        assert route["load"] <= VEHICLE_UNITS, route
        assert route["status"] == "draft"

    # The first draft has nothing to compare with but its own totals.
    comparison = page.locator("#comparison-table tbody tr")
    expect(comparison).to_have_count(1)
    expect(comparison.first).to_contain_text("Draft")

    # Move a stop that fits onto the route with the most room.
    target = max(routes, key=lambda route: route["capacity"] - route["load"])
    room = target["capacity"] - target["load"]
    source = next(route for route in routes if route["id"] != target["id"] and route["stops"] > 0)
    stops = open_route(page, source)
    fitting = [stop for stop in stops if parse_units(stop["demand"]) <= room]
    assert fitting, (
        f"no stop of route {source['id']} fits the {room} free units of route {target['id']}"
    )
    moved = fitting[0]
    notice = move(page, moved["id"], target)
    assert f"Moved delivery {moved['id']}" in notice

    after = {route["id"]: route for route in read_routes(page)}
    assert after[target["id"]]["stops"] == target["stops"] + 1
    assert after[source["id"]]["stops"] == source["stops"] - 1
    assert after[target["id"]]["load"] == target["load"] + parse_units(moved["demand"])

    # A stop that does not fit is rejected with the capacity message, and nothing moves.
    routes = read_routes(page)
    tightest = min(routes, key=lambda route: route["capacity"] - route["load"])
    free = tightest["capacity"] - tightest["load"]
    too_big = None
    for route in routes:
        if route["id"] == tightest["id"] or route["stops"] == 0:
            continue
        candidates = [
            stop for stop in open_route(page, route) if parse_units(stop["demand"]) > free
        ]
        if candidates:
            too_big = candidates[0]
            break
    if too_big is None:
        pytest.fail(
            f"every stop fits the {free} free units of the fullest route, "
            "so the capacity check was not exercised"
        )
    notice = move(page, too_big["id"], tightest)
    assert "does not fit" in notice
    expect(page.locator("#notice")).to_have_attribute("role", "alert")
    page.screenshot(path=str(SCREENSHOT.with_name("distro-dispatch-capacity.png")))
    assert {route["id"]: route["stops"] for route in read_routes(page)} == {
        route["id"]: route["stops"] for route in routes
    }

    # Lock a route and unlock it again. The notice after each click names the new state.
    lock = page.locator(f'button.lock-route[data-route-id="{routes[0]["id"]}"]')
    lock.click()
    expect(page.locator("#notice-text")).to_contain_text("Locked route")
    expect(lock).to_have_attribute("data-locked", "true")
    lock.click()
    expect(page.locator("#notice-text")).to_contain_text("Unlocked route")
    expect(lock).to_have_attribute("data-locked", "false")

    # Publish after confirming; every route is then published.
    page.locator("#publish-button").click()
    page.locator("#publish-confirm").click()
    expect(page.locator("#plan-status")).to_contain_text("published")
    statuses = {route["status"] for route in read_routes(page)}
    assert statuses == {"published"}

    # An urgent stop added after publishing goes into a published route from the board.
    urgent_id = add_urgent_stop(board_app.engine)
    page.locator("#refresh-button").click()
    insert = page.locator(f'button.insert-urgent[data-delivery-id="{urgent_id}"]')
    insert.click()
    expect(page.locator("#notice-text")).to_contain_text(f"Inserted delivery {urgent_id}")
    expect(page.locator("#stat-routed")).to_have_text(f"{STOPS + 1} / {STOPS + 1}")
    routes = read_routes(page)

    # The map shows every stop and the depot as circle markers without any tile server.
    page.locator("#close-route-stops").click()
    expect(page.locator("#route-stops-table")).to_have_count(0)
    expect(page.locator("#dispatch-map")).not_to_have_attribute("src", re.compile("route_id="))
    frame = page.frame_locator("#dispatch-map")
    # Published routes are solid lines and, with no route selected, no stop is faded.
    expect(frame.locator("path.distro-route")).to_have_count(len(routes), timeout=30_000)
    expect(frame.locator("path.distro-route[stroke-dasharray]")).to_have_count(0)
    expect(frame.locator('path.distro-stop[fill-opacity="0.25"]')).to_have_count(0)
    expect(frame.locator("path.distro-stop")).to_have_count(STOPS + 1)
    expect(frame.locator("path.distro-depot")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOT))

    assert page.outside_requests == []
