"""The manager's KPI page in a real browser, on a day simulated through the rider flow.

The test process places five orders, publishes one route with their stops, and moves the
stops as the route's rider: two delivered, two failed with different reasons, one left for
later. The page must show the headline figures, charts, the territory map and a CSV, and
must pick up the last delivery, applied from the test process, without a reload.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from distro.backbone.actors import Actor
from distro.backbone.models import Dealer, Delivery, DeliveryStatus, Plan, Role, Route, Shift
from tests.rider_world import build_rider_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
PASSWORD = "kpi-page-password-1"
TERRITORIES = ("North", "North", "South")
"""Territory of each of the world's three dealers; stops go to the dealers in turn."""
LIVE_TIMEOUT_MS = 20_000
"""How long the page may take to show a new delivery (it polls every 5 s)."""

WORLD: dict[str, object] = {}


def load(engine: Engine) -> None:
    """Publish one route of five stops for today, and add a manager and a dealer user."""
    from distro.backbone import accounts

    world = build_rider_world(engine, riders=1, stops_per_route=5)
    today = datetime.now(UTC).date()
    with Session(engine) as session:
        for model in (Delivery, Route, Shift, Plan):
            for row in session.exec(select(model)):
                row.day = today
                session.add(row)
        for dealer_id, territory in zip(world.network.dealer_ids, TERRITORIES, strict=True):
            dealer = session.get(Dealer, dealer_id)
            dealer.territory = territory
            session.add(dealer)
        accounts.create_user(session, "manager.one", PASSWORD, Role.MANAGER)
        accounts.create_user(
            session, "dealer.one", PASSWORD, Role.DEALER, dealer_id=world.network.dealer_ids[0]
        )
        session.commit()
    WORLD["stops"] = world.stops[0]
    WORLD["rider"] = world.riders[0]


@pytest.fixture(scope="module")
def private_dir(tmp_path_factory):
    """Signatures stored by the test process go to a temporary folder."""
    from distro.settings import reset_settings

    folder = tmp_path_factory.mktemp("private")
    previous = os.environ.get("DISTRO_PRIVATE_DIR")
    os.environ["DISTRO_PRIVATE_DIR"] = str(folder)
    reset_settings()
    yield folder
    if previous is None:
        os.environ.pop("DISTRO_PRIVATE_DIR", None)
    else:
        os.environ["DISTRO_PRIVATE_DIR"] = previous
    reset_settings()


@pytest.fixture(scope="module")
def kpi_app(start_app, private_dir):
    del private_dir
    return start_app(load)


def signature_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


def move(engine: Engine, rider: Actor, delivery_id: int, target: DeliveryStatus, **payload) -> None:
    from distro.backbone.delivery import apply_transition

    with Session(engine) as session:
        apply_transition(session, rider, delivery_id, target, payload=payload or None)
        session.commit()


def deliver(engine: Engine, rider: Actor, delivery_id: int) -> None:
    """Drive to the stop, arrive, store the signature and hand over."""
    from distro.backbone import pod

    move(engine, rider, delivery_id, DeliveryStatus.OUT_FOR_DELIVERY)
    move(engine, rider, delivery_id, DeliveryStatus.ARRIVED)
    with Session(engine) as session:
        pod.store_proof_file(session, rider, delivery_id, signature_png(), "signature")
        session.commit()
    move(engine, rider, delivery_id, DeliveryStatus.DELIVERED)


def fail(engine: Engine, rider: Actor, delivery_id: int, reason_code: str) -> None:
    move(engine, rider, delivery_id, DeliveryStatus.OUT_FOR_DELIVERY)
    move(engine, rider, delivery_id, DeliveryStatus.ARRIVED)
    move(engine, rider, delivery_id, DeliveryStatus.FAILED, reason_code=reason_code)


def sign_in(page, base_url: str, username: str, target: str) -> None:
    page.goto(f"{base_url}/login?next={target}")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")


def expected_figures(engine: Engine) -> dict[str, tuple[str, str]]:
    """Compute (value, detail) of each headline figure for the page's default 30 days."""
    from distro.backbone.kpis import KpiFilter
    from distro.state.kpis import DEFAULT_RANGE_DAYS, headline_figures, today_local

    today = today_local()
    flt = KpiFilter(start=today - timedelta(days=DEFAULT_RANGE_DAYS - 1), end=today)
    with Session(engine) as session:
        return {f.key: (f.value, f.detail) for f in headline_figures(session, flt)}


def test_kpi_page_shows_the_day(browser, kpi_app):
    """A manager sees the day's figures, charts, map and CSV, and the last delivery live."""
    from playwright.sync_api import expect

    first, second, third, fourth, fifth = WORLD["stops"]
    rider = WORLD["rider"]
    deliver(kpi_app.engine, rider, first)
    deliver(kpi_app.engine, rider, second)
    fail(kpi_app.engine, rider, third, "address_not_found")
    fail(kpi_app.engine, rider, fourth, "recipient_absent")
    expected = expected_figures(kpi_app.engine)

    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in(page, kpi_app.base_url, "manager.one", "/kpis")
        page.wait_for_url("**/kpis", timeout=30_000)
        expect(page.locator("#kpi-orders")).to_have_text("5")
        page.evaluate("window.__sameDocument = true")

        # Every headline figure matches the backbone, read from the test process.
        shown = {key: page.locator(f"#kpi-{key}").inner_text() for key in expected}
        assert shown == {key: value for key, (value, _) in expected.items()}

        # Figures worked out by hand: 5 orders, first attempts 2 delivered of 4, 2 failed.
        assert shown["orders"] == "5"
        assert shown["first_attempt"] == "50.0 %"
        assert shown["failed"] == "2"
        assert shown["fill_rate"] == "100.0 %"
        assert expected["fill_rate"][1] == "2 of 2 units"
        assert expected["failed"][1] == "1 reattempts, 0 returns"

        # Failed attempts by reason: one each.
        reasons = page.locator("table").filter(has_text="Reason")
        expect(reasons).to_contain_text("Address not found")
        expect(reasons).to_contain_text("Recipient absent")

        # Charts: two trend charts, failures by reason, and the breakdown.
        expect(page.locator(".recharts-wrapper")).to_have_count(4)
        expect(page.locator(".recharts-bar-rectangle").first).to_be_visible()

        # The territory map draws one circle per territory, from local assets.
        frame = page.frame_locator("#kpi-map")
        expect(frame.locator("path.distro-territory")).to_have_count(2)
        src = page.get_attribute("#kpi-map", "src")
        assert "/api/v1/maps/kpis?" in src

        # The same figures as a table, and as CSV.
        with page.expect_download() as download_info:
            page.click("#csv-territories")
        download = download_info.value
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
        by_territory = {row["territory"]: row for row in rows}
        assert download.suggested_filename.startswith("kpis-territories-")
        assert set(by_territory) == {"North", "South"}
        # Stops go to dealers 0, 1, 2, 0, 1: North has four orders, South one.
        assert by_territory["North"]["orders"] == "4"
        assert by_territory["South"]["orders"] == "1"

        page.screenshot(path=str(SCREENSHOTS / "distro-kpis.png"), full_page=True)

        # The last stop is delivered from the test process; the page follows without a reload.
        deliver(kpi_app.engine, rider, fifth)
        expect(page.locator("#kpi-first_attempt")).to_have_text("60.0 %", timeout=LIVE_TIMEOUT_MS)
        expect(page.locator("#kpi-fill_rate")).to_have_text("100.0 %")
        expect(frame.locator("path.distro-territory")).to_have_count(2)
        new_src = page.get_attribute("#kpi-map", "src")
        assert new_src != src
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    finally:
        context.close()


def test_kpi_map_follows_filters(browser, kpi_app):
    """Picking a territory reloads the map with that territory only."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in(page, kpi_app.base_url, "manager.one", "/kpis")
        page.wait_for_url("**/kpis", timeout=30_000)
        frame = page.frame_locator("#kpi-map")
        expect(frame.locator("path.distro-territory")).to_have_count(2)

        page.locator("button[role='combobox']").filter(has_text="All territories").click()
        page.get_by_role("option", name="South").click()
        page.click("#kpi-apply")

        expect(page.locator("#kpi-map")).to_have_attribute("src", re.compile("territory=South"))
        expect(frame.locator("path.distro-territory")).to_have_count(1)
    finally:
        context.close()


def test_dealer_is_sent_away_from_kpis(browser, kpi_app):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in(page, kpi_app.base_url, "dealer.one", "/kpis")
        page.wait_for_url(re.compile(r".*/dealer$"), timeout=30_000)
        page.goto(f"{kpi_app.base_url}/kpis")
        page.wait_for_url(re.compile(r".*/dealer$"), timeout=30_000)
        final_url = page.url
        figures = page.locator("#kpi-orders").count()
    finally:
        context.close()
    assert final_url.endswith("/dealer")
    assert figures == 0
