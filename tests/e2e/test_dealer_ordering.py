"""The dealer order desk in a real browser: reorder a 5-line order, then follow it live.

The test process plans and publishes the routes and moves the delivery as its rider,
against the app's database, while the page (never reloaded) shows each step.
"""

from __future__ import annotations

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
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    Order,
    OrderStatus,
    PriceTier,
    Product,
    Rider,
    Role,
    Route,
    Shift,
    Stock,
    TierPrice,
    Vehicle,
    Warehouse,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
PHONE_SCREENSHOT = SCREENSHOTS / "distro-dealer-phone.png"
DESK_SCREENSHOT = SCREENSHOTS / "distro-dealer-desk.png"
PASSWORD = "order-desk-2026"
DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
STEP_TIMEOUT_MS = 15_000

PRODUCTS = [
    ("SKU-101", "Cement CP-II 50kg bag", 50.0, 3450, 1, 1),
    ("SKU-102", "Sand washed 20kg sack", 20.0, 890, 1, 1),
    ("SKU-103", "Steel nails 17x27 1kg box", 1.0, 1590, 1, 1),
    ("SKU-104", "Wall paint white 18L", 20.0, 28900, 1, 1),
    ("SKU-105", "PVC pipe 100mm 6m", 6.0, 5400, 1, 1),
    ("SKU-106", "Ceramic tile 60x60 box", 25.0, 7200, 4, 8),
]
PAST_ORDER = [("SKU-101", 20), ("SKU-102", 10), ("SKU-103", 5), ("SKU-104", 2), ("SKU-105", 3)]


def tomorrow():
    """The default delivery day of the page: tomorrow in the app's time zone (UTC here)."""
    return datetime.now(UTC).date() + timedelta(days=1)


def load_network(engine: Engine) -> None:
    """A depot, six products, one dealer with a user and a past 5-line order, one rider on shift."""
    from distro.backbone.accounts import create_user
    from distro.backbone.orders import LineRequest, place_order

    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(code="WH-1", name="Campinas plant", latitude=-22.9056, longitude=-47.0608)
        tier = PriceTier(code="gold", name="Gold")
        session.add_all([depot, tier])
        session.flush()
        for sku, name, weight, price, pack, minimum in PRODUCTS:
            product = Product(
                sku=sku, name=name, weight_kg=weight, pack_size=pack, min_order_qty=minimum
            )
            session.add(product)
            session.flush()
            session.add(TierPrice(tier_id=tier.id, product_id=product.id, unit_price_cents=price))
            session.add(Stock(warehouse_id=depot.id, product_id=product.id, on_hand=500))
        dealer = Dealer(
            code="D-001",
            name="Casa Campinas",
            tier_id=tier.id,
            credit_limit_cents=5_000_000,
            latitude=-22.88,
            longitude=-47.05,
            warehouse_id=depot.id,
            address="Rua A 100",
        )
        vehicle = Vehicle(code="V-1", name="Van 1", capacity_kg=3000, capacity_units=500)
        rider = Rider(code="R-1", name="Rider One")
        session.add_all([dealer, vehicle, rider])
        session.flush()
        session.add(
            Shift(rider_id=rider.id, vehicle_id=vehicle.id, depot_id=depot.id, day=tomorrow())
        )
        create_user(session, "casa-desk", PASSWORD, Role.DEALER, dealer_id=dealer.id)
        place_order(
            session,
            Actor(username="casa-desk", role=Role.DEALER, dealer_id=dealer.id),
            dealer_id=dealer.id,
            delivery_day=datetime.now(UTC).date() - timedelta(days=7),
            lines=[LineRequest(sku, quantity) for sku, quantity in PAST_ORDER],
        )
        session.commit()


@pytest.fixture(scope="module")
def dealer_app(start_app):
    return start_app(load_network)


@pytest.fixture(scope="module")
def private_dir(tmp_path_factory):
    """Proof files written by the test process go to a temporary folder."""
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


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login?next=/dealer")
    page.fill("#login-username", "casa-desk")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/dealer$"))


def signature_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


def move_as_rider(engine: Engine, delivery_id: int, rider: Actor, target: DeliveryStatus) -> None:
    from distro.backbone.delivery import apply_transition

    with Session(engine) as session:
        apply_transition(session, rider, delivery_id, target)
        session.commit()


def wait_for_step(page, key: str, state: str = "done") -> None:
    page.locator(f'#timeline [data-step="{key}"][data-state="{state}"]').first.wait_for(
        timeout=STEP_TIMEOUT_MS
    )


def test_reorder_and_follow_delivery(browser, dealer_app, private_dir):
    """Sign in, reorder the past 5-line order in two clicks, then watch it get delivered."""
    from playwright.sync_api import expect

    from distro.backbone import fulfillment as ff
    from distro.backbone import pod

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, dealer_app.base_url)
    expect(page.locator("#recent-orders")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    # Click 1: reorder the past order; its five lines fill the cart, priced by the server.
    page.locator(".reorder-button").first.click()
    expect(page.locator("#cart-lines .cart-line")).to_have_count(5)
    expect(page.locator('#cart-lines .cart-line[data-ok="true"]')).to_have_count(5)
    expect(page.locator("#place-order")).to_be_enabled()

    # Click 2: place it; the confirmation names the new order.
    page.click("#place-order")
    expect(page.locator("#order-notice")).to_contain_text(re.compile(r"Order SO-\d{7} confirmed"))
    number = page.locator("#tracked-number").inner_text()
    with Session(dealer_app.engine) as session:
        order = session.exec(select(Order).where(Order.number == number)).one()
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
    assert order.status == OrderStatus.CONFIRMED
    assert order.units == sum(quantity for _, quantity in PAST_ORDER)
    assert delivery.day == tomorrow()
    wait_for_step(page, "confirmed")
    wait_for_step(page, "planned", "todo")

    # Dispatch plans and publishes; the page shows the planned step with an ETA.
    plan_id = ff.plan_routes(
        tomorrow(), order.warehouse_id, DISPATCHER, time_limit=2, engine=dealer_app.engine
    )
    with Session(dealer_app.engine) as session:
        ff.publish_plan(session, DISPATCHER, plan_id)
        session.commit()
    wait_for_step(page, "planned")
    expect(page.locator('#timeline [data-step="planned"]')).to_contain_text("ETA")

    with Session(dealer_app.engine) as session:
        route = session.get(Route, session.get(Delivery, delivery.id).route_id)
    rider = Actor(username="rider-one", role=Role.RIDER, rider_id=route.rider_id)

    move_as_rider(dealer_app.engine, delivery.id, rider, DeliveryStatus.OUT_FOR_DELIVERY)
    wait_for_step(page, "out_for_delivery")
    expect(page.locator("#order-detail")).to_have_attribute("data-status", "out_for_delivery")

    move_as_rider(dealer_app.engine, delivery.id, rider, DeliveryStatus.ARRIVED)
    wait_for_step(page, "arrived")

    with Session(dealer_app.engine) as session:
        pod.store_proof_file(session, rider, delivery.id, signature_png(), "signature")
        session.commit()
    move_as_rider(dealer_app.engine, delivery.id, rider, DeliveryStatus.DELIVERED)
    wait_for_step(page, "delivered")
    expect(page.locator('#timeline [data-step="delivered"]')).to_contain_text("Proof: signature")
    expect(page.locator("#order-detail")).to_have_attribute("data-status", "delivered")

    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    page.screenshot(path=str(DESK_SCREENSHOT), full_page=True)

    # The delivery raised an invoice, shown on the account tab.
    page.click("#tab-account")
    expect(page.get_by_text(f"INV-{order.id:07d}")).to_be_visible()
    context.close()


def test_dealer_page_fits_a_phone(browser, dealer_app):
    """At 390 px the order desk needs no sideways scrolling; the screenshot is kept for review."""
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, dealer_app.base_url)
    page.fill("#quick-item", "SKU-106")
    page.fill("#quick-qty", "10")
    page.click("#quick-add")
    expect(page.locator("#cart-lines .cart-line")).to_have_count(1)
    expect(page.locator(".line-problem")).to_contain_text("sold in packs of 4, 10 requested")

    # A list pasted from a chat: known names go to the cart, an unknown one waits for the dealer.
    page.fill(
        "#paste-lines",
        "[04/12/2026, 09:11] Ana: Good morning\n"
        "[04/12/2026, 09:12] Ana: 20 x cement 50kg\nsand washed - 10 sacks\ngarden hose 3",
    )
    page.click("#paste-submit")
    expect(page.locator("#cart-lines .cart-line")).to_have_count(3)
    expect(page.locator('#cart-lines .cart-line[data-sku="SKU-101"]')).to_be_visible()
    expect(page.locator("#matches-panel")).to_contain_text("garden hose 3")
    expect(page.locator("#matches-panel")).to_contain_text("No product matches this line.")
    expect(page.locator("#matches-panel")).not_to_contain_text("Good morning")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)

    # The browser keeps the cart's SKUs and quantities, so a reload restores the lines.
    page.reload()
    expect(page.locator("#cart-lines .cart-line")).to_have_count(3)
    expect(page.locator('#cart-lines .cart-line[data-sku="SKU-101"]')).to_be_visible()
    context.close()
    assert overflow <= 1


def test_operations_take_order_for_dealer(browser, dealer_app):
    """A dispatcher picks the dealer on /orders/desk and places an order recorded as theirs."""
    from playwright.sync_api import expect

    from distro.backbone.accounts import create_user

    with Session(dealer_app.engine) as session:
        create_user(session, "phone-desk", PASSWORD, Role.DISPATCHER)
        session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{dealer_app.base_url}/login?next=/orders/desk")
    page.fill("#login-username", "phone-desk")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/dispatch"))
    page.goto(f"{dealer_app.base_url}/orders/desk")
    expect(page.get_by_text("Choose the dealer whose order you are taking.")).to_be_visible()
    page.locator("#desk-dealer").click()
    page.get_by_role("option", name=re.compile("D-001")).click()
    expect(page.locator("#catalog-panel")).to_be_visible()
    page.fill("#quick-item", "SKU-103")
    page.fill("#quick-qty", "7")
    page.click("#quick-add")
    expect(page.locator('#cart-lines .cart-line[data-ok="true"]')).to_have_count(1)
    page.click("#place-order")
    expect(page.locator("#order-notice")).to_contain_text("confirmed")
    number = page.locator("#tracked-number").inner_text()
    context.close()

    with Session(dealer_app.engine) as session:
        order = session.exec(select(Order).where(Order.number == number)).one()
    assert order.entered_by == "phone-desk"
    assert order.units == 7
