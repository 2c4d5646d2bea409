"""The territory performance map of the KPI page, served by the API to managers and admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from distro.api.kpi_map import NO_DATA_COLOR, circle_radius, on_time_color
from distro.backbone.models import Dealer
from tests.api.conftest import ApiWorld
from tests.api.conftest import world as world  # the fixture
from tests.auth.conftest import place_tenant_orders


def name_territories(world: ApiWorld, names: list[str]) -> None:
    with Session(world.engine) as session:
        for dealer_id, name in zip(world.people.network.dealer_ids, names, strict=True):
            dealer = session.get(Dealer, dealer_id)
            dealer.territory = name
            session.add(dealer)
        session.commit()


def today_range() -> str:
    # The tenant orders are placed now, so their created_at falls on today's UTC day.
    today = datetime.now(UTC).date()
    return f"start={today - timedelta(days=1)}&end={today + timedelta(days=1)}"


def test_kpi_map_draws_one_circle_per_territory(world: ApiWorld):
    name_territories(world, ["North", "South"])
    place_tenant_orders(world.engine, world.people)

    response = world.client.get(
        f"/api/v1/maps/kpis?{today_range()}", headers=world.headers("manager")
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count('"className": "distro-territory"') == 2
    assert "North" in response.text
    assert "Orders placed" in response.text


def test_kpi_map_loads_no_cdn(world: ApiWorld):
    name_territories(world, ["North", "South"])
    response = world.client.get(
        f"/api/v1/maps/kpis?{today_range()}", headers=world.headers("admin")
    )
    scripts = re.findall(r'<script src="([^"]+)"', response.text)
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.text)
    assert scripts == ["static/leaflet/leaflet.js"]
    assert all(href.startswith("static/") for href in stylesheets)


def test_kpi_map_territory_filter_keeps_one(world: ApiWorld):
    name_territories(world, ["North", "South"])
    response = world.client.get(
        f"/api/v1/maps/kpis?{today_range()}&territory=South", headers=world.headers("manager")
    )
    assert response.text.count('"className": "distro-territory"') == 1


def test_kpi_map_rejects_reversed_range(world: ApiWorld):
    response = world.client.get(
        "/api/v1/maps/kpis?start=2026-05-02&end=2026-05-01", headers=world.headers("manager")
    )
    assert response.status_code == 422
    assert "swap the dates" in response.json()["message"]


def test_kpi_map_without_territories_says_so(world: ApiWorld):
    response = world.client.get(
        f"/api/v1/maps/kpis?{today_range()}", headers=world.headers("manager")
    )
    assert response.status_code == 200
    assert "No territory matches these filters." in response.text


def test_on_time_color_bands():
    assert on_time_color(None) == NO_DATA_COLOR
    assert on_time_color(1.0) == "#16a34a"
    assert on_time_color(0.9) == "#f59e0b"
    assert on_time_color(0.5) == "#dc2626"


def test_circle_radius_grows_with_area():
    assert circle_radius(0, 0) == 8
    assert circle_radius(100, 100) == 34
    assert circle_radius(25, 100) == 8 + 26 * 0.5
