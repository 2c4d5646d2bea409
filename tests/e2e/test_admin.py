"""The admin page in a real browser: sign in, create a vehicle and a product, see them listed."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from distro.backbone.models import Product, Vehicle
from tests.auth.conftest import PASSWORD, build_people

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
ADMIN_SCREENSHOT = SCREENSHOTS / "distro-admin-products.png"


@pytest.fixture(scope="module")
def admin_app(start_app):
    """The app on a network with two tenants and one user per role; the admin is "admin"."""

    def load(engine: Engine) -> None:
        build_people(engine)

    return start_app(load)


def sign_in_as_admin(page, base_url: str) -> None:
    page.goto(f"{base_url}/login?next=/admin")
    page.fill("#login-username", "admin")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/admin$"))


def test_admin_creates_vehicle_and_product(browser, admin_app):
    """An admin adds a vehicle and a product with the forms and finds each in its table."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in_as_admin(page, admin_app.base_url)
    expect(page.locator("#signed-in-user")).to_have_text("admin")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()

    page.get_by_role("tab", name="Vehicles").click()
    page.fill("#vehicle-code", "VAN-E2E")
    page.fill("#vehicle-name", "Van 3.5 t")
    page.fill("#vehicle-capacity_kg", "900")
    page.fill("#vehicle-capacity_units", "80")
    page.fill("#vehicle-cost_per_km", "0.45")
    page.fill("#vehicle-cost_per_day", "120")
    page.click("#save-vehicle")
    expect(page.locator("#notice")).to_contain_text("Created vehicle VAN-E2E")
    expect(page.locator("#vehicles-table")).to_contain_text("VAN-E2E")

    page.get_by_role("tab", name="Products").click()
    page.fill("#product-sku", "sku-e2e")
    page.fill("#product-name", "Cola 2 L, case of 6")
    page.fill("#product-unit", "case")
    page.fill("#product-weight_kg", "12.5")
    page.fill("#product-pack_size", "2")
    page.click("#save-product")
    expect(page.locator("#notice")).to_contain_text("Created product SKU-E2E")
    expect(page.locator("#products-table")).to_contain_text("SKU-E2E")
    expect(page.locator("#products-table")).to_contain_text("Cola 2 L, case of 6")
    page.screenshot(path=str(ADMIN_SCREENSHOT), full_page=True)

    with Session(admin_app.engine) as session:
        vehicle = session.exec(select(Vehicle).where(Vehicle.code == "VAN-E2E")).one()
        product = session.exec(select(Product).where(Product.sku == "SKU-E2E")).one()
    assert vehicle.capacity_kg == 900
    assert vehicle.cost_per_km_cents == 45
    assert vehicle.cost_per_day_cents == 12_000
    assert product.pack_size == 2
    assert product.weight_kg == 12.5
    context.close()


def test_admin_sees_rejected_pack_size(browser, admin_app):
    """A pack size of 0 shows the backbone's message and creates nothing."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in_as_admin(page, admin_app.base_url)

    page.get_by_role("tab", name="Products").click()
    page.fill("#product-sku", "SKU-ZERO")
    page.fill("#product-name", "Empty pack")
    page.fill("#product-weight_kg", "1")
    page.fill("#product-pack_size", "0")
    page.click("#save-product")
    expect(page.get_by_text(re.compile(r"Pack size 0 is below 1"))).to_be_visible()

    with Session(admin_app.engine) as session:
        assert session.exec(select(Product).where(Product.sku == "SKU-ZERO")).first() is None

    page.click("#sign-out")
    page.wait_for_url(re.compile(r".*/login$"))
    context.close()
