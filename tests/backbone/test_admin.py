"""Admin master data: products, price tiers and prices, vehicles, riders and dealers' terms.

Each rejected input is checked for its message and for writing nothing: the test commits
the session after the error, as a careless caller might, and counts rows and events.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from distro.backbone import admin
from distro.backbone.actors import Actor
from distro.backbone.errors import NotFoundError, PermissionDeniedError, ValidationError
from distro.backbone.models import Dealer, Event, PriceTier, Product, Rider, Role, Vehicle
from tests.factories import Network, build_network

ADMIN = Actor(username="root-admin", role=Role.ADMIN)
MANAGER = Actor(username="boss", role=Role.MANAGER)

CASE = admin.ProductSpec(
    sku="sku-200", name="Cola 2 L, case of 6", unit="case", weight_kg=12.5, pack_size=2
)
VAN = admin.VehicleSpec(
    code="VAN-9",
    name="Van 3.5 t",
    capacity_kg=900,
    capacity_units=80,
    cost_per_km_cents=45,
    cost_per_day_cents=12_000,
)


@pytest.fixture
def network(engine: Engine) -> Network:
    """Three products (SKU-1 to SKU-3), a gold tier, three dealers, two vehicles, two riders."""
    return build_network(engine)


def count(engine: Engine, model) -> int:
    """Return the number of rows of `model`."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def events_of(engine: Engine, event_type: str) -> list[Event]:
    """Return the events of one type, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(select(Event).where(Event.event_type == event_type).order_by(Event.id))
        )


def rejected(engine: Engine, call) -> ValidationError:
    """Run `call(session)`, expect a ValidationError, then commit whatever the session holds."""
    with Session(engine) as session:
        with pytest.raises(ValidationError) as caught:
            call(session)
        session.commit()
    return caught.value


def test_create_product_stores_and_records_event(engine, network):
    with Session(engine) as session:
        product = admin.create_product(session, ADMIN, CASE)
        session.commit()
        product_id = product.id

    with Session(engine) as session:
        stored = session.get(Product, product_id)
    events = events_of(engine, "product_created")
    assert stored.sku == "SKU-200"
    assert stored.pack_size == 2
    assert stored.weight_kg == 12.5
    assert stored.active is True
    assert len(events) == 1
    assert events[0].actor == "root-admin"
    assert events[0].payload["sku"] == "SKU-200"


def test_create_product_rejects_duplicate_sku(engine, network):
    before = count(engine, Product)
    duplicate = admin.ProductSpec(sku=" sku-1 ", name="Another name", weight_kg=1)

    error = rejected(engine, lambda s: admin.create_product(s, ADMIN, duplicate))

    assert "SKU-1 is already used" in error.message
    assert "choose another SKU" in error.message
    assert error.details["field"] == "sku"
    assert count(engine, Product) == before
    assert events_of(engine, "product_created") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pack_size": 0}, "Pack size 0 is below 1"),
        ({"min_order_qty": 0}, "Minimum order quantity 0 is below 1"),
        ({"weight_kg": -0.5}, "Weight (kg) -0.5 is below 0"),
        ({"weight_kg": float("nan")}, "Weight (kg) nan is not a number"),
        ({"name": "  "}, "Product name is missing"),
        ({"sku": ""}, "SKU is missing"),
        ({"sku": "X" * 41}, "shorten it to 40"),
    ],
)
def test_create_product_rejects_bad_field(engine, network, changes, expected):
    before = count(engine, Product)
    spec = admin.ProductSpec(**{**CASE.__dict__, **changes})

    error = rejected(engine, lambda s: admin.create_product(s, ADMIN, spec))

    assert expected in error.message
    assert count(engine, Product) == before
    assert events_of(engine, "product_created") == []


def test_create_product_requires_admin(engine, network):
    with Session(engine) as session, pytest.raises(PermissionDeniedError):
        admin.create_product(session, MANAGER, CASE)


def test_update_product_records_before_and_after(engine, network):
    product_id = network.product_ids["SKU-1"]
    spec = admin.ProductSpec(sku="SKU-1", name="Product SKU-1", weight_kg=2.5, pack_size=4)
    with Session(engine) as session:
        admin.update_product(session, ADMIN, product_id, spec)
        session.commit()

    with Session(engine) as session:
        stored = session.get(Product, product_id)
    event = events_of(engine, "product_changed")[0]
    assert stored.weight_kg == 2.5
    assert stored.pack_size == 4
    assert event.payload["before"] == {"weight_kg": 2.0, "pack_size": 1}
    assert event.payload["after"] == {"weight_kg": 2.5, "pack_size": 4}


def test_update_product_unchanged_records_nothing(engine, network):
    spec = admin.ProductSpec(sku="SKU-1", name="Product SKU-1", weight_kg=2.0)
    with Session(engine) as session:
        admin.update_product(session, ADMIN, network.product_ids["SKU-1"], spec)
        session.commit()

    assert events_of(engine, "product_changed") == []


def test_update_product_rejects_new_sku(engine, network):
    spec = admin.ProductSpec(sku="SKU-9", name="Product SKU-1", weight_kg=2.0)

    error = rejected(
        engine, lambda s: admin.update_product(s, ADMIN, network.product_ids["SKU-1"], spec)
    )

    assert "SKU SKU-1 cannot change to 'SKU-9'" in error.message
    with Session(engine) as session:
        assert session.get(Product, network.product_ids["SKU-1"]).sku == "SKU-1"


def test_update_product_rejects_pack_size_zero(engine, network):
    product_id = network.product_ids["SKU-2"]
    spec = admin.ProductSpec(sku="SKU-2", name="Product SKU-2", weight_kg=5.0, pack_size=0)

    error = rejected(engine, lambda s: admin.update_product(s, ADMIN, product_id, spec))

    assert "Pack size 0 is below 1" in error.message
    with Session(engine) as session:
        assert session.get(Product, product_id).pack_size == 6
    assert events_of(engine, "product_changed") == []


def test_set_product_active_records_event_once(engine, network):
    product_id = network.product_ids["SKU-3"]
    with Session(engine) as session:
        admin.set_product_active(session, ADMIN, product_id, False)
        admin.set_product_active(session, ADMIN, product_id, False)
        session.commit()

    with Session(engine) as session:
        assert session.get(Product, product_id).active is False
    events = events_of(engine, "product_deactivated")
    assert len(events) == 1
    assert events[0].to_state == "inactive"


def test_set_product_active_unknown_id(engine, network):
    with Session(engine) as session, pytest.raises(NotFoundError):
        admin.set_product_active(session, ADMIN, 999_999, False)


def test_list_products_searches_sku_and_name(engine, network):
    with Session(engine) as session:
        page = admin.list_products(session, ADMIN, search="sku-2")
        everything = admin.list_products(session, ADMIN, limit=2)

    assert [p.sku for p in page.items] == ["SKU-2"]
    assert page.total == 1
    assert [p.sku for p in everything.items] == ["SKU-1", "SKU-2"]
    assert everything.total == 3


def test_create_vehicle_stores_and_records_event(engine, network):
    with Session(engine) as session:
        vehicle_id = admin.create_vehicle(session, ADMIN, VAN).id
        session.commit()

    with Session(engine) as session:
        stored = session.get(Vehicle, vehicle_id)
    assert stored.capacity_kg == 900
    assert stored.cost_per_day_cents == 12_000
    assert events_of(engine, "vehicle_created")[0].payload["code"] == "VAN-9"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"capacity_kg": -1}, "Capacity (kg) -1 is below 0"),
        ({"capacity_units": -5}, "Capacity (units) -5 is below 0"),
        ({"cost_per_km_cents": -10}, "Cost per km -0.10 is negative"),
        ({"cost_per_day_cents": -100}, "Cost per day -1.00 is negative"),
        ({"code": " "}, "Vehicle code is missing"),
        ({"name": ""}, "Vehicle name is missing"),
    ],
)
def test_create_vehicle_rejects_bad_field(engine, network, changes, expected):
    before = count(engine, Vehicle)
    spec = admin.VehicleSpec(**{**VAN.__dict__, **changes})

    error = rejected(engine, lambda s: admin.create_vehicle(s, ADMIN, spec))

    assert expected in error.message
    assert count(engine, Vehicle) == before
    assert events_of(engine, "vehicle_created") == []


def test_create_vehicle_rejects_duplicate_code(engine, network):
    with Session(engine) as session:
        admin.create_vehicle(session, ADMIN, VAN)
        session.commit()

    error = rejected(engine, lambda s: admin.create_vehicle(s, ADMIN, VAN))

    assert "Vehicle code VAN-9 is already used" in error.message
    assert len(events_of(engine, "vehicle_created")) == 1


def test_update_vehicle_rejects_negative_capacity(engine, network):
    vehicle_id = network.vehicle_ids[0]
    with Session(engine) as session:
        code = session.get(Vehicle, vehicle_id).code
    spec = admin.VehicleSpec(code=code, name="Truck", capacity_kg=-200, capacity_units=10)

    error = rejected(engine, lambda s: admin.update_vehicle(s, ADMIN, vehicle_id, spec))

    assert "Capacity (kg) -200 is below 0" in error.message
    with Session(engine) as session:
        assert session.get(Vehicle, vehicle_id).capacity_kg == 500


def test_update_vehicle_records_before_and_after(engine, network):
    vehicle_id = network.vehicle_ids[0]
    with Session(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        spec = admin.VehicleSpec(
            code=vehicle.code, name=vehicle.name, capacity_kg=750, capacity_units=50
        )
        admin.update_vehicle(session, ADMIN, vehicle_id, spec)
        session.commit()

    event = events_of(engine, "vehicle_changed")[0]
    assert event.payload["before"] == {"capacity_kg": 500}
    assert event.payload["after"] == {"capacity_kg": 750}


def test_create_rider_with_default_vehicle(engine, network):
    spec = admin.RiderSpec(
        code="R-77", name="Ana Souza", phone="+55 19 5555", vehicle_id=network.vehicle_ids[1]
    )
    with Session(engine) as session:
        rider_id = admin.create_rider(session, ADMIN, spec).id
        session.commit()

    with Session(engine) as session:
        stored = session.get(Rider, rider_id)
    assert stored.vehicle_id == network.vehicle_ids[1]
    assert stored.phone == "+55 19 5555"
    assert len(events_of(engine, "rider_created")) == 1


def test_create_rider_rejects_unknown_vehicle(engine, network):
    before = count(engine, Rider)
    spec = admin.RiderSpec(code="R-78", name="Bruno", vehicle_id=999_999)

    error = rejected(engine, lambda s: admin.create_rider(s, ADMIN, spec))

    assert "Vehicle 999999 not found" in error.message
    assert count(engine, Rider) == before


def test_create_rider_rejects_inactive_vehicle(engine, network):
    with Session(engine) as session:
        admin.set_vehicle_active(session, ADMIN, network.vehicle_ids[0], False)
        session.commit()
    spec = admin.RiderSpec(code="R-79", name="Carla", vehicle_id=network.vehicle_ids[0])

    error = rejected(engine, lambda s: admin.create_rider(s, ADMIN, spec))

    assert "is inactive; pick an active vehicle" in error.message
    assert events_of(engine, "rider_created") == []


def test_update_rider_sets_then_clears_vehicle(engine, network):
    rider_id = network.rider_ids[0]
    vehicle_id = network.vehicle_ids[1]
    with Session(engine) as session:
        code = session.get(Rider, rider_id).code
        with_van = admin.RiderSpec(code=code, name="Renamed rider", vehicle_id=vehicle_id)
        admin.update_rider(session, ADMIN, rider_id, with_van)
        session.commit()
        admin.update_rider(
            session, ADMIN, rider_id, admin.RiderSpec(code=code, name="Renamed rider")
        )
        session.commit()

    with Session(engine) as session:
        stored = session.get(Rider, rider_id)
    changes = events_of(engine, "rider_changed")
    assert stored.name == "Renamed rider"
    assert stored.vehicle_id is None
    assert changes[0].payload["after"] == {"name": "Renamed rider", "vehicle_id": vehicle_id}
    assert changes[1].payload["before"] == {"vehicle_id": vehicle_id}
    assert changes[1].payload["after"] == {"vehicle_id": None}


def test_set_rider_active_requires_admin(engine, network):
    with Session(engine) as session, pytest.raises(PermissionDeniedError):
        admin.set_rider_active(session, MANAGER, network.rider_ids[0], False)


def test_create_price_tier_rejects_duplicate_code(engine, network):
    before = count(engine, PriceTier)

    error = rejected(engine, lambda s: admin.create_price_tier(s, ADMIN, " GOLD ", "Gold again"))

    assert "Tier code 'gold' is already used" in error.message
    assert count(engine, PriceTier) == before


def test_set_tier_price_for_new_tier(engine, network):
    product_id = network.product_ids["SKU-2"]
    with Session(engine) as session:
        tier = admin.create_price_tier(session, ADMIN, "silver", "Silver")
        admin.set_tier_price(session, ADMIN, tier.id, product_id, 2_399)
        prices = admin.tier_prices(session, ADMIN, tier.id, list(network.product_ids.values()))
        session.commit()

    assert prices == {product_id: 2_399}
    assert events_of(engine, "tier_price_set")[0].payload["before"] is None


def test_set_tier_price_rejects_negative(engine, network):
    product_id = network.product_ids["SKU-1"]

    error = rejected(
        engine, lambda s: admin.set_tier_price(s, ADMIN, network.tier_id, product_id, -100)
    )

    assert "Price -1.00 is negative" in error.message
    assert events_of(engine, "tier_price_set") == []


def test_set_tier_price_unchanged_records_nothing(engine, network):
    product_id = network.product_ids["SKU-1"]
    with Session(engine) as session:
        admin.set_tier_price(session, ADMIN, network.tier_id, product_id, 1_000)
        session.commit()

    assert events_of(engine, "tier_price_set") == []


def test_list_dealers_pages_in_code_order(engine):
    build_network(engine, dealers=7)
    with Session(engine) as session:
        first = admin.list_dealers(session, ADMIN, limit=3)
        last = admin.list_dealers(session, ADMIN, offset=6, limit=3)
        codes = [d.code for d in session.exec(select(Dealer).order_by(Dealer.code))]

    assert [d.code for d in first.items] == codes[:3]
    assert [d.code for d in last.items] == codes[6:]
    assert first.total == 7


def test_list_dealers_search_matches_literal_percent(engine, network):
    with Session(engine) as session:
        dealer = session.get(Dealer, network.dealer_ids[1])
        dealer.name = "Drinks 100% Market"
        session.add(dealer)
        session.commit()
        by_percent = admin.list_dealers(session, ADMIN, search="100%")
        by_wildcard = admin.list_dealers(session, ADMIN, search="%")

    assert [d.id for d in by_percent.items] == [network.dealer_ids[1]]
    assert [d.id for d in by_wildcard.items] == [network.dealer_ids[1]]


def test_list_dealers_caps_page_size(engine, network):
    with Session(engine) as session:
        page = admin.list_dealers(session, ADMIN, limit=10_000)

    assert page.limit == admin.MAX_PAGE_SIZE


def test_update_dealer_terms_rejects_unknown_tier(engine, network):
    with Session(engine) as session, pytest.raises(NotFoundError):
        admin.update_dealer_terms(session, ADMIN, network.dealer_ids[0], tier_id=999_999)


def test_set_dealer_active_records_event(engine, network):
    with Session(engine) as session:
        admin.set_dealer_active(session, ADMIN, network.dealer_ids[0], False)
        session.commit()

    with Session(engine) as session:
        assert session.get(Dealer, network.dealer_ids[0]).active is False
    assert len(events_of(engine, "dealer_deactivated")) == 1
