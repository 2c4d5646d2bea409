"""The board's "All depots" choice in a real browser: plan two depots, see both, publish."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY = date(2026, 12, 7)
DISPATCHER = "dispatcher"
PASSWORD = "all-depots-test-password"
PLAN_TIMEOUT_MS = 120_000
# Campinas and Sorocaba, about 80 km apart, four stops around each.
DEPOTS = (
    ("WH-C", "Campinas depot", -22.9056, -47.0608),
    ("WH-S", "Sorocaba depot", -23.5015, -47.4526),
)
STOPS_PER_DEPOT = 4

READ_ROUTES_JS = """
() => Array.from(document.querySelectorAll('tr.route-row')).map((row) => {
  const cells = row.querySelectorAll('td');
  return {
    depot: cells[2].innerText.trim(),
    stops: Number(cells[4].innerText.trim()),
    status: cells[10].innerText.trim(),
  };
})
"""


@pytest.fixture(scope="module")
def two_depot_app(start_app):
    from distro.backbone.accounts import create_user
    from distro.backbone.actors import Actor
    from distro.backbone.fulfillment import create_stop
    from distro.backbone.models import Rider, Role, Shift, Vehicle, Warehouse

    actor = Actor(username="e2e", role=Role.DISPATCHER)

    def load(engine: Engine) -> None:
        with Session(engine) as session:
            for index, (code, name, lat, lon) in enumerate(DEPOTS):
                depot = Warehouse(code=code, name=name, latitude=lat, longitude=lon)
                vehicle = Vehicle(
                    code=f"{code}-V1",
                    name="Van",
                    capacity_kg=500,
                    capacity_units=50,
                    cost_per_km_cents=40 + 10 * index,
                    cost_per_day_cents=9000,
                )
                rider = Rider(code=f"{code}-R1", name=f"{name} rider")
                session.add_all([depot, vehicle, rider])
                session.flush()
                session.add(
                    Shift(rider_id=rider.id, vehicle_id=vehicle.id, depot_id=depot.id, day=DAY)
                )
                for stop in range(STOPS_PER_DEPOT):
                    create_stop(
                        session,
                        actor,
                        depot_id=depot.id,
                        day=DAY,
                        latitude=lat + 0.01 * (stop + 1),
                        longitude=lon + 0.01 * (stop % 2),
                        demand_kg=10,
                        demand_units=2,
                        label=f"{code} stop {stop + 1}",
                    )
            create_user(session, DISPATCHER, PASSWORD, Role.DISPATCHER, full_name="Dana Dispatcher")
            session.commit()

    return start_app(load)


@pytest.fixture
def page(browser, two_depot_app):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_all_depots_plan_and_publish(page, two_depot_app) -> None:
    from playwright.sync_api import expect

    page.goto(two_depot_app.base_url + "/login")
    page.locator("#login-username").fill(DISPATCHER)
    page.locator("#login-password").fill(PASSWORD)
    page.locator("#login-submit").click()
    expect(page).to_have_url(re.compile(r"/dispatch"))

    # The day offers "All depots" first, and it opens with both depots' stops.
    expect(page.locator("#board-select")).to_contain_text("All depots (2)")
    total = 2 * STOPS_PER_DEPOT
    expect(page.locator("#stat-routed")).to_have_text(f"0 / {total}")
    frame = page.frame_locator("#dispatch-map")
    expect(frame.locator("path.distro-depot")).to_have_count(2, timeout=30_000)
    expect(frame.locator("path.distro-stop")).to_have_count(total)

    # One planning run plans both depots.
    page.locator("#plan-button").click()
    expect(page.locator("#plan-status")).to_contain_text("draft", timeout=PLAN_TIMEOUT_MS)
    expect(page.locator("#stat-routed")).to_have_text(f"{total} / {total}")
    expect(page.locator("#notice-text")).to_contain_text(
        re.compile(r"Plans \d+ and \d+ are ready as drafts, one per depot")
    )
    routes = page.evaluate(READ_ROUTES_JS)
    assert sorted(route["depot"] for route in routes) == ["WH-C", "WH-S"]
    assert all(route["stops"] == STOPS_PER_DEPOT for route in routes)
    expect(page.locator("#stat-cost")).not_to_have_text("0.00")
    comparison = page.locator("#comparison-table tbody tr")
    expect(comparison).to_have_count(1)
    expect(comparison.first).to_contain_text("Drafts (2 depots)")
    expect(frame.locator("path.distro-route")).to_have_count(2, timeout=30_000)

    # One Publish publishes both depots' plans.
    page.locator("#publish-button").click()
    page.locator("#publish-confirm").click()
    expect(page.locator("#notice-text")).to_contain_text("Published 2 routes")
    expect(page.locator("#plan-status")).to_contain_text("published")
    routes = page.evaluate(READ_ROUTES_JS)
    assert [route["status"] for route in routes] == ["published", "published"]
    expect(frame.locator("path.distro-route:not([stroke-dasharray])")).to_have_count(
        2, timeout=30_000
    )
